import { fold } from '../core/decider';
import { evolve, ReleaseState } from './release';
import { ReleaseCommand } from './release.commands';
import { decide } from './release.decide';
import type { ReleaseCommandMetadata } from './release.rules';
import { existing, given, id, install, lastSuccessful, meta, outcome, story, values2 } from './release.spec-support';

const backoff = { initialSeconds: 10, factor: 2, maxSeconds: 300 };
const upgradeTo = (chartVersion: string): ReleaseCommand => ({ type: 'UpgradeRelease', data: { releaseId: id, chartVersion, values: values2 } });
const retry = (revision: number): ReleaseCommand => ({ type: 'RetryOperation', data: { releaseId: id, revision, trigger: 'AUTOMATIC' } });
const run = (state: ReleaseState, command: ReleaseCommand, metadata: ReleaseCommandMetadata = meta()): ReleaseState => fold(evolve, state, decide(command, state, metadata));
const fail = (state: ReleaseState) => run(state, outcome(state, 'FAILED', { error: 'helm upgrade failed: timed out', helmRevision: 2 }));
/** Metadata whose clock is `seconds` after the scheduled retry's time. */
const at = (state: ReleaseState, seconds = 0) => meta({ now: new Date(Date.parse(existing(state).retry!.notBefore) + seconds * 1000).toISOString() });

describe('remediation policy: retries with backoff, then a strategy', () => {
  it('retries a failed upgrade twice, spaced by the backoff, then rolls back: exactly 2 + 1 revisions', () => {
    let state = story(install({ remediation: { retries: 2, strategy: 'rollback', backoff } }), 'ok', upgradeTo('1.3.0'));
    const failedAt = meta();
    given(state).when(outcome(state, 'FAILED', { error: 'timed out' }), failedAt).then((events, after) => {
      expect(events[0]).toMatchObject({ type: 'RevisionFailed', data: { remediate: false, retry: { attempt: 1, notBefore: new Date(Date.parse(failedAt.now) + 10_000).toISOString() } } });
      expect(existing(after).retry).toMatchObject({ revision: 2, attempt: 1 });
    });
    state = fail(state);
    // Not before its time: the watchdog asks again later.
    given(state).when(retry(2), at(state, -1)).thenThrows('RETRY_NOT_DUE');
    given(state).when(retry(2), at(state)).then((events) => {
      expect(events[0]).toMatchObject({ type: 'UpgradeRequested', data: { revision: 3, chartVersion: '1.3.0', values: values2, trigger: 'AUTOMATIC', retryOf: 2, attempt: 1 } });
    });
    state = run(state, retry(2), at(state));
    expect(existing(state).revisions[2]).toMatchObject({ operation: 'UPGRADE', trigger: 'AUTOMATIC', causedByRevision: 2, attempt: 1, warnings: ['Retry 1 of 2 of failed revision 2'] });
    // A second request for the same retry changes nothing more.
    given(state).when(retry(2), meta()).thenThrows('RETRY_NOT_SCHEDULED');
    state = fail(state);
    const second = existing(state).retry!;
    expect(second).toMatchObject({ revision: 3, attempt: 2 });
    state = run(state, retry(3), at(state));
    given(state).when(outcome(state, 'FAILED', { error: 'timed out' })).then((events, after) => {
      expect(events[0]).toMatchObject({ type: 'RevisionFailed', data: { revision: 4, remediate: true, strategy: 'rollback' } });
      expect(events[0].data).not.toHaveProperty('retry');
      expect(existing(after).retry).toBeUndefined();
    });
    state = fail(state);
    given(state).when(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 4 })).then((events, after) => {
      expect(events[0]).toMatchObject({ type: 'RollbackRequested', data: { revision: 5, rollbackOf: 1, trigger: 'AUTOMATIC' } });
      expect(existing(after).revisions.map((r) => [r.revision, r.operation, r.trigger])).toEqual([
        [1, 'INSTALL', 'MANUAL'], [2, 'UPGRADE', 'MANUAL'], [3, 'UPGRADE', 'AUTOMATIC'], [4, 'UPGRADE', 'AUTOMATIC'], [5, 'ROLLBACK', 'AUTOMATIC'],
      ]);
    });
  });

  it('a manual operation ends the scheduled retry and starts the count again', () => {
    let state = story(install({ remediation: { retries: 1, strategy: 'rollback', backoff } }), 'ok', upgradeTo('1.3.0'));
    state = fail(state);
    state = run(state, upgradeTo('1.4.0'));
    expect(existing(state).retry).toBeUndefined();
    given(state).when(retry(2), meta()).thenThrows('RETRY_NOT_SCHEDULED');
    given(state).when(outcome(state, 'FAILED', { error: 'x' })).then((events) => expect(events[0].data).toMatchObject({ retry: { attempt: 1 } }));
  });

  it('strategy uninstall: the failed revision is uninstalled by automation, the history kept; other releases refuse it', () => {
    let state = story(install({ remediation: { retries: 0, strategy: 'uninstall' } }), 'ok', upgradeTo('1.7.0'));
    given(state).when(outcome(state, 'FAILED', { error: 'TESTS_FAILED' })).then((events) => expect(events[0].data).toMatchObject({ remediate: true, strategy: 'uninstall' }));
    state = fail(state);
    const automatic: ReleaseCommand = { type: 'UninstallRelease', data: { releaseId: id, trigger: 'AUTOMATIC', causedByRevision: 2 } };
    given(state).when(automatic).then((events, after) => {
      expect(events[0]).toMatchObject({ type: 'UninstallRequested', data: { trigger: 'AUTOMATIC', causedByRevision: 2 } });
      const done = fold(evolve, after, decide(outcome(after, 'SUCCEEDED'), after, meta()));
      expect(existing(done)).toMatchObject({ status: 'UNINSTALLED' });
      expect(existing(done).revisions).toHaveLength(2);
    });
    given(state).when({ ...automatic, data: { ...automatic.data, causedByRevision: 1 } }).thenThrows('AUTOMATIC_ROLLBACK_NOT_ALLOWED', /not the latest/);
    const rollingBack = fail(story(install({ remediation: { retries: 0, strategy: 'rollback' } }), 'ok', upgradeTo('1.7.0')));
    given(rollingBack).when(automatic).thenThrows('AUTOMATIC_ROLLBACK_NOT_ALLOWED', /strategy is not uninstall/);
  });

  it('retries a failed install as an install, and leaves the last failure alone when remediateLastFailure is false', () => {
    let state = story(install({ remediation: { retries: 1, strategy: 'rollback', remediateLastFailure: false, backoff } }));
    state = fail(state);
    given(state).when(retry(1), at(state)).then((events) => {
      expect(events[0]).toMatchObject({ type: 'InstallRequested', data: { revision: 2, trigger: 'AUTOMATIC', retryOf: 1, attempt: 1, remediation: { retries: 1 } } });
    });
    state = run(state, retry(1), at(state));
    given(state).when(outcome(state, 'FAILED', { error: 'x' })).then((events, after) => {
      expect(events[0].data).toMatchObject({ remediate: false });
      expect(events[0].data).not.toHaveProperty('retry');
      expect(existing(after).status).toBe('FAILED');
    });
  });

  it('a timeout or an operation that ran nothing is not retried', () => {
    const state = story(install({ remediation: { retries: 3, strategy: 'rollback' } }), 'ok', upgradeTo('1.3.0'));
    given(state).when(outcome(state, 'FAILED', { error: 'HELM_LOCKED', notRun: true })).then((events) => expect(events[0].data).toMatchObject({ remediate: false }));
    given(state).when(outcome(state, 'FAILED', { error: 'HELM_LOCKED', notRun: true })).then((events) => expect(events[0].data).not.toHaveProperty('retry'));
    const pending = existing(state).pending!;
    const late = meta({ now: new Date(Date.parse(pending.deadline) + 1000).toISOString() });
    given(state).when({ type: 'ExpireOperation', data: { releaseId: id, operationId: pending.operationId } }, late).then((events) => {
      expect(events[0]).toMatchObject({ type: 'RevisionFailed', data: { timedOut: true, remediate: false } });
      expect(events[0].data).not.toHaveProperty('retry');
    });
  });

  it('a manual retry (the explicit reset) runs the latest failure again as a new chain: the retries count again', () => {
    let state = story(install({ remediation: { retries: 1, strategy: 'rollback', remediateLastFailure: false, backoff } }), 'ok', upgradeTo('1.3.0'));
    state = fail(state);
    state = run(state, retry(2), at(state));
    state = fail(state);
    expect(existing(state)).toMatchObject({ status: 'FAILED' });
    expect(existing(state).retry).toBeUndefined();
    const manual: ReleaseCommand = { type: 'RetryOperation', data: { releaseId: id, reason: 'the registry is back', timeoutSeconds: 600 } };
    given(state).when({ ...manual, data: { ...manual.data, revision: 2 } } as ReleaseCommand).thenThrows('NOTHING_TO_RETRY', /not the latest/);
    given(state).when(manual).then((events, after) => {
      expect(events[0]).toMatchObject({ type: 'UpgradeRequested', data: { revision: 4, chartVersion: '1.3.0', trigger: 'MANUAL', timeoutSeconds: 600, reason: 'the registry is back' } });
      expect(events[0].data).not.toHaveProperty('attempt');
      given(after).when(outcome(after, 'FAILED', { error: 'x' })).then((failures) => expect(failures[0].data).toMatchObject({ retry: { attempt: 1 } }));
    });
    given(story(install(), 'ok')).when(manual).thenThrows('NOTHING_TO_RETRY', /DEPLOYED INSTALL, not a failed install or upgrade/);
  });
});
