import { fold } from '../core/decider';
import { evolve, ReleaseState } from './release';
import { DEADLINE_GRACE_SECONDS, ReleaseCommand } from './release.commands';
import { decide } from './release.decide';
import { lastSuccessfulRevision } from './release.history';
import { existing, given, id, install, lastSuccessful, meta, outcome, rollback, story, values2 } from './release.spec-support';

const tested = install({ test: { enable: true, timeoutSeconds: 120 }, autoRollback: true });
const testsPassed = (state: ReleaseState) => ({ ...outcome(state, 'SUCCEEDED', { helmRevision: 1 }), data: { ...outcome(state, 'SUCCEEDED').data, tests: { result: 'PASSED' as const } } });
const testsFailed = (state: ReleaseState, ignored = false) => {
  const base = outcome(state, ignored ? 'SUCCEEDED' : 'FAILED', { helmRevision: 2, error: 'TESTS_FAILED: pod web-test failed' });
  return { ...base, data: { ...base.data, tests: ignored ? { result: 'FAILED' as const, ignored: true as const } : { result: 'FAILED' as const } } };
};
const run = (state: ReleaseState, command: ReleaseCommand): ReleaseState => fold(evolve, state, decide(command, state, meta()));
/** An installed release whose install's tests passed. */
const installedWith = (command: ReleaseCommand): ReleaseState => {
  const pending = story(command);
  return run(pending, testsPassed(pending));
};
const upgradeTo = (chartVersion: string, extra: object = {}): ReleaseCommand => ({ type: 'UpgradeRelease', data: { releaseId: id, chartVersion, values: values2, ...extra } });

describe('verification (helm test after an operation)', () => {
  it('carries the policy to the executor and leaves the tests their time before the deadline', () => {
    const metadata = meta();
    given().when(tested, metadata).then((events) => {
      expect(events[0]).toMatchObject({ type: 'InstallRequested', data: { test: { enable: true, timeoutSeconds: 120 } } });
      const seconds = (Date.parse((events[0].data as { deadline: string }).deadline) - Date.parse(metadata.now)) / 1000;
      expect(seconds).toBe(300 + 120 + DEADLINE_GRACE_SECONDS);
    });
  });

  it('records passing tests on the deployed revision', () => {
    const pending = story(tested);
    given(pending).when(testsPassed(pending)).then((events, after) => {
      expect(events[0]).toMatchObject({ type: 'RevisionDeployed', data: { tests: { result: 'PASSED' } } });
      expect(existing(after).revisions[0]).toMatchObject({ status: 'DEPLOYED', tests: { result: 'PASSED' } });
    });
  });

  it('fails an upgrade whose tests failed, rolls it back under autoRollback, and never targets it as last successful', () => {
    let state = installedWith(tested);
    state = run(state, upgradeTo('1.7.0'));
    // The upgrade inherits the release's policy.
    expect(existing(state).revisions[1]).toMatchObject({ status: 'PENDING_UPGRADE' });
    given(state).when(testsFailed(state)).then((events, after) => {
      expect(events[0]).toMatchObject({ type: 'RevisionFailed', data: { remediate: true, tests: { result: 'FAILED' }, error: expect.stringMatching(/^TESTS_FAILED/) } });
      expect(existing(after).revisions[1]).toMatchObject({ status: 'FAILED', tests: { result: 'FAILED' }, helmRevision: 2 });
      given(after)
        .when(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 2 }))
        .then((rollbackEvents) => expect(rollbackEvents[0]).toMatchObject({ type: 'RollbackRequested', data: { rollbackOf: 1, test: { enable: true } } }));
    });
  });

  it('keeps a revision whose failed tests the policy ignores DEPLOYED, with the output, and skips it as last successful', () => {
    const ignoring = install({ test: { enable: true, ignoreFailures: true } });
    let state = installedWith(ignoring);
    state = run(state, upgradeTo('1.7.0'));
    given(state).when(testsFailed(state, true)).then((events, after) => {
      expect(events[0]).toMatchObject({ type: 'RevisionDeployed', data: { tests: { result: 'FAILED', ignored: true }, error: expect.stringMatching(/TESTS_FAILED/) } });
      const release = existing(after);
      expect(release.status).toBe('DEPLOYED');
      expect(release.revisions[1]).toMatchObject({ status: 'DEPLOYED', tests: { result: 'FAILED', ignored: true } });
      expect(lastSuccessfulRevision(release)?.revision).toBe(1);
      given(after).when(lastSuccessful()).then((rollbackEvents) => expect(rollbackEvents[0]).toMatchObject({ data: { rollbackOf: 1 } }));
    });
  });

  it('an upgrade may change the policy or turn it off, and rollbacks run under the policy of the day', () => {
    let state = installedWith(tested);
    state = run(state, upgradeTo('1.5.0', { test: { enable: false } }));
    expect(existing(state).test).toBeUndefined();
    expect(existing(state).pending).not.toBeNull();
    state = run(state, outcome(state, 'SUCCEEDED', { helmRevision: 2 }));
    given(state).when(rollback(1)).then((events) => expect(events[0].data).not.toHaveProperty('test'));
  });
});

describe('operation options (Helm flags)', () => {
  it('records them on the revision and applies them again on a rollback to it, unless the rollback overrides one', () => {
    let state = story(install({ options: { noHooks: true, waitForJobs: true } }), 'ok');
    expect(existing(state).revisions[0].options).toEqual({ noHooks: true, waitForJobs: true });
    state = run(state, upgradeTo('1.1.0', { options: { force: true } }));
    state = run(state, outcome(state, 'SUCCEEDED', { helmRevision: 2 }));
    given(state).when(rollback(1)).then((events) => expect(events[0].data).toMatchObject({ options: { noHooks: true, waitForJobs: true } }));
    given(state)
      .when({ type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1, options: { noHooks: false, cleanupOnFail: true } } })
      .then((events, after) => {
        expect(events[0].data).toMatchObject({ options: { noHooks: false, waitForJobs: true, cleanupOnFail: true } });
        expect(existing(after).revisions[2].options).toEqual({ noHooks: false, waitForJobs: true, cleanupOnFail: true });
      });
  });

  it('an upgrade does not inherit the flags of the revision before it', () => {
    const state = story(install({ options: { noHooks: true } }), 'ok');
    given(state).when(upgradeTo('1.1.0')).then((events) => expect(events[0].data).not.toHaveProperty('options'));
  });
});
