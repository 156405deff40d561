import { fold } from '../core/decider';
import { HelmMadeRevision, ReleaseEvent, Values } from './release.events';
import { evolve, ExistingRelease, initialState, ReleaseState } from './release';
import { RecordDriftCheck, ReleaseCommand } from './release.commands';
import { decide } from './release.decide';
import { DRIFT_CORRECTION_REASON, MAX_DRIFT_CORRECTIONS } from './release.drift';
import { existing, given, id, install, meta, outcome, rollback, values1 } from './release.spec-support';

const helmMade = (helmRevision: number, values: Values, over: Partial<HelmMadeRevision> = {}): HelmMadeRevision => ({
  helmRevision,
  chartName: 'web',
  chartVersion: `1.${helmRevision}.0`,
  values,
  helmStatus: 'superseded',
  description: `Upgrade complete (${helmRevision})`,
  updatedAt: `2026-11-0${helmRevision}T10:00:00Z`,
  ...over,
});

const check = (...revisions: HelmMadeRevision[]): RecordDriftCheck => ({ type: 'RecordDriftCheck', data: { releaseId: id, revisions, checkedAt: '2026-11-09T00:00:00Z' } });

/** Applies each command's decision in turn; `ok:N` is a success of the pending operation as Helm revision N. */
const run = (state: ReleaseState, ...steps: Array<ReleaseCommand | `ok:${number}`>): ReleaseState => {
  for (const step of steps) {
    const command = typeof step === 'string' ? outcome(state, 'SUCCEEDED', { helmRevision: Number(step.slice(3)) }) : step;
    state = fold(evolve, state, decide(command, state, meta()));
  }
  return state;
};

const three = [helmMade(1, { greeting: 'mine' }), helmMade(2, { greeting: 'ours' }), helmMade(3, { greeting: 'theirs' }, { helmStatus: 'deployed' })];

/** A release adopted from three Helm revisions made with the helm CLI. */
const adopted = (): ExistingRelease => {
  const installing = run(initialState(), install({ adopt: true }));
  const pending = existing(installing).pending!;
  return existing(run(installing, { type: 'RecordOperationResult', data: { releaseId: id, operationId: pending.operationId, outcome: 'SUCCEEDED', imported: three } }));
};

describe('release aggregate: adoption', () => {
  it('imports Helm history in place of the install that never ran, and rolls back to an imported revision exactly', () => {
    const release = adopted();
    expect(release.status).toBe('DEPLOYED');
    expect(release.pending).toBeNull();
    expect(release.revisions.map((r) => [r.revision, r.operation, r.trigger, r.status, r.helmRevision, r.values])).toEqual([
      [1, 'IMPORTED', 'EXTERNAL', 'DEPLOYED', 1, { greeting: 'mine' }],
      [2, 'IMPORTED', 'EXTERNAL', 'DEPLOYED', 2, { greeting: 'ours' }],
      [3, 'IMPORTED', 'EXTERNAL', 'DEPLOYED', 3, { greeting: 'theirs' }],
    ]);
    given(release)
      .when(rollback(1))
      .then(([event]) => {
        expect(event.type).toBe('RollbackRequested');
        const data = (event as Extract<ReleaseEvent, { type: 'RollbackRequested' }>).data;
        expect(data).toMatchObject({ revision: 4, rollbackOf: 1, chartVersion: '1.1.0', values: { greeting: 'mine' }, targetHelmRevision: 1, knownHelmRevision: 3 });
        expect(data.chartDigest).toBeUndefined();
      });
  });

  it('records a failed Helm revision as FAILED with Helm status and description', () => {
    const installing = run(initialState(), install({ adopt: true }));
    const pending = existing(installing).pending!;
    const after = existing(
      run(installing, { type: 'RecordOperationResult', data: { releaseId: id, operationId: pending.operationId, outcome: 'SUCCEEDED', imported: [helmMade(1, {}, { helmStatus: 'failed', description: 'Upgrade "web" failed: boom' })] } }),
    );
    expect(after.status).toBe('FAILED');
    expect(after.revisions[0]).toMatchObject({ status: 'FAILED', error: 'Helm status failed: Upgrade "web" failed: boom' });
  });

  it('refuses imports for an install that did not ask to adopt', () => {
    const installing = run(initialState(), install());
    given(installing)
      .when({ type: 'RecordOperationResult', data: { releaseId: id, operationId: existing(installing).pending!.operationId, outcome: 'SUCCEEDED', imported: three } })
      .thenThrows('VALIDATION_FAILED', /imports nothing/);
  });
});

describe('release aggregate: drift', () => {
  it('records Helm revisions made outside as EXTERNAL (policy record), once, and ignores what it knows', () => {
    const release = adopted();
    given(release)
      .when(check(helmMade(2, { greeting: 'ours' }), helmMade(4, { greeting: 'manual' }, { helmStatus: 'deployed' })))
      .then((events, after) => {
        expect(events.map((e) => e.type)).toEqual(['DriftDetected']);
        expect(events[0].data).toMatchObject({ policy: 'record', correction: 'recorded (drift policy record)' });
        const latest = existing(after).revisions[3];
        expect(latest).toMatchObject({ revision: 4, operation: 'EXTERNAL', trigger: 'EXTERNAL', helmRevision: 4, values: { greeting: 'manual' }, status: 'DEPLOYED' });
        given(after).when(check(helmMade(4, { greeting: 'manual' }))).then((again) => expect(again).toEqual([]));
      });
  });

  it('leaves a release with an operation pending to that operation, which checks before it runs', () => {
    const upgrading = run(adopted(), { type: 'UpgradeRelease', data: { releaseId: id, values: { greeting: 'new' } } });
    given(upgrading).when(check(helmMade(4, {}))).then((events) => expect(events).toEqual([]));
  });

  it('records drift found before an operation before its revision, which moves after it, and the outcome names it there', () => {
    const upgrading = run(adopted(), { type: 'UpgradeRelease', data: { releaseId: id, values: { greeting: 'new' } } });
    const succeeded = outcome(upgrading, 'SUCCEEDED', { helmRevision: 5 });
    succeeded.data = {
      ...succeeded.data,
      lockReleased: { helmRevision: 4, status: 'pending-upgrade', chart: 'web-1.3.0', ageSeconds: 400 },
      external: [helmMade(4, { greeting: 'manual' }, { helmStatus: 'failed', description: 'Released from a stale pending-upgrade' })],
    };
    given(upgrading)
      .when(succeeded)
      .then((events, after) => {
        expect(events.map((e) => e.type)).toEqual(['HelmLockReleased', 'DriftDetected', 'RevisionDeployed']);
        expect(events[1].data).toMatchObject({ pendingMoved: { revision: 4, movedTo: 5 } });
        expect(events[2].data).toMatchObject({ revision: 5, helmRevision: 5 });
        const release = existing(after);
        expect(release.revisions.slice(3).map((r) => [r.revision, r.operation, r.status, r.helmRevision, r.values])).toEqual([
          [4, 'EXTERNAL', 'FAILED', 4, { greeting: 'manual' }],
          [5, 'UPGRADE', 'DEPLOYED', 5, { greeting: 'new' }],
        ]);
        expect(release).toMatchObject({ status: 'DEPLOYED', pending: null });
      });
  });

  it(`corrects drift under policy correct with a rollback to the desired state, ${MAX_DRIFT_CORRECTIONS} times in a row at most`, () => {
    let state = run(initialState(), install({ drift: 'correct' }), 'ok:1');
    // The desired state is the newest revision the service deployed: the install, then each correction.
    let desired = { revision: 1, helmRevision: 1 };
    for (let n = 1; n <= MAX_DRIFT_CORRECTIONS; n += 1) {
      const external = 2 * n;
      const events = decide(check(helmMade(external, { greeting: `manual ${n}` })), state, meta());
      expect(events.map((e) => e.type)).toEqual(['DriftDetected', 'RollbackRequested']);
      const rollbackEvent = events[1] as Extract<ReleaseEvent, { type: 'RollbackRequested' }>;
      expect(rollbackEvent.data).toMatchObject({
        trigger: 'AUTOMATIC',
        rollbackOf: desired.revision,
        chartVersion: '1.0.0',
        values: values1,
        reason: DRIFT_CORRECTION_REASON,
        targetHelmRevision: desired.helmRevision,
      });
      desired = { revision: rollbackEvent.data.revision, helmRevision: external + 1 };
      expect(rollbackEvent.data.causedByRevision).toBe(existing(fold(evolve, state, events.slice(0, 1))).revisions.at(-1)!.revision);
      state = run(fold(evolve, state, events), `ok:${external + 1}`);
    }
    given(state)
      .when(check(helmMade(2 * MAX_DRIFT_CORRECTIONS + 2, { greeting: 'again' })))
      .then((events) => {
        expect(events.map((e) => e.type)).toEqual(['DriftDetected']);
        expect((events[0].data as { correction: string }).correction).toMatch(/^not corrected: corrected 3 times in a row/);
      });
  });

  it('does not correct during a freeze window that stops automatic changes, and says so; one that allows them does not stop it', () => {
    const state = run(initialState(), install({ drift: 'correct' }), 'ok:1');
    const window = { window: 'release-freeze', endsAt: '2026-11-02T00:00:00.000Z' };
    given(state)
      .when(check(helmMade(2, { greeting: 'manual' })), meta({ freezeAt: () => ({ ...window, allowAutomatic: false }) }))
      .then((events) => {
        expect(events.map((e) => e.type)).toEqual(['DriftDetected']);
        expect((events[0].data as { correction: string }).correction).toBe("not corrected: changes are frozen by window 'release-freeze' until 2026-11-02T00:00:00.000Z; left as recorded: correct it by hand");
      });
    given(state)
      .when(check(helmMade(2, { greeting: 'manual' })), meta({ freezeAt: () => ({ ...window, allowAutomatic: true }) }))
      .then((events) => expect(events.map((e) => e.type)).toEqual(['DriftDetected', 'RollbackRequested']));
  });

  it('does not correct when nothing the service applied or adopted deployed', () => {
    const failed = run(initialState(), install({ drift: 'correct' }));
    const state = run(failed, outcome(failed, 'FAILED', { error: 'boom', helmRevision: 1 }));
    given(state)
      .when(check(helmMade(2, {})))
      .then((events) => {
        expect(events.map((e) => e.type)).toEqual(['DriftDetected']);
        expect((events[0].data as { correction: string }).correction).toMatch(/^not corrected: no deployed revision/);
      });
  });
});
