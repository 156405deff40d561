import { CommandMetadata, decide, evolve, initialState, ReleaseCommand, ReleaseState } from '@app/domain';
import type { Commit } from '@app/event-store';
import { projectCommits, ReleaseView, RevisionOp } from './release-projection';

// The read model's projection on its own: commits made by the real domain decisions, projected in memory.
const NOW = '2026-12-02T10:00:00.000Z';
const meta = (n: number, now = NOW): CommandMetadata => ({ commandId: `c${n}`, now, actor: 'ann', correlationId: `k${n}` });

/** Decides `commands` in order on the domain and wraps each decision as the commit the store would hold. */
const commitsOf = (commands: Array<(state: ReleaseState) => ReleaseCommand | { command: ReleaseCommand; now: string }>): Commit[] => {
  let state = initialState();
  return commands.map((make, i) => {
    const made = make(state);
    const { command, now } = 'command' in made ? made : { command: made, now: NOW };
    const events = decide(command, state, meta(i + 1, now));
    state = events.reduce(evolve, state);
    return {
      id: `pos-${i}`,
      streamId: 'web',
      version: i + 1,
      commandId: `c${i + 1}`,
      commandType: command.type,
      events: events.map((e, j) => ({ ...e, eventId: `web:${i + 1}:${j}`, schemaVersion: 1 })),
      result: null,
      metadata: { actor: 'ann', correlationId: `k${i + 1}`, now: NOW },
      recordedAt: new Date(NOW),
      dispatched: false,
      prevHash: '',
      hash: '',
    } as Commit;
  });
};
const pendingOf = (state: ReleaseState) => (state.status === 'NONE' ? '' : state.pending!.operationId);
const install: (s: ReleaseState) => ReleaseCommand = () => ({
  type: 'InstallRelease',
  data: { releaseId: 'web', namespace: 'apps', chart: { name: 'web', repository: 'https://charts.example.com' }, chartVersion: '1.0.0', values: { a: 1 } },
});
const succeed: (s: ReleaseState) => ReleaseCommand = (s) => ({ type: 'RecordOperationResult', data: { releaseId: 'web', operationId: pendingOf(s), outcome: 'SUCCEEDED', helmRevision: 1 } });
const fail: (s: ReleaseState) => ReleaseCommand = (s) => ({ type: 'RecordOperationResult', data: { releaseId: 'web', operationId: pendingOf(s), outcome: 'FAILED', error: 'boom "x"' } });
const upgrade: (s: ReleaseState) => ReleaseCommand = () => ({ type: 'UpgradeRelease', data: { releaseId: 'web', chartVersion: '1.1.0' } });
/** The watchdog, once the operation's deadline has passed. */
const expire = (s: ReleaseState) => ({
  command: { type: 'ExpireOperation', data: { releaseId: 'web', operationId: pendingOf(s) } } as ReleaseCommand,
  now: new Date(Date.parse(s.status === 'NONE' ? NOW : s.pending!.deadline) + 1000).toISOString(),
});
/** The executor's success, arriving after the watchdog failed the operation. */
const lateSuccess: (s: ReleaseState) => ReleaseCommand = (s) => {
  const last = s.status === 'NONE' ? undefined : s.revisions[s.revisions.length - 1];
  return { type: 'RecordOperationResult', data: { releaseId: 'web', operationId: last!.operationId, outcome: 'SUCCEEDED', helmRevision: 2 } };
};
const inserted = (ops: RevisionOp[]) => ops.flatMap((op) => ('insert' in op ? [op.insert] : []));

describe('the release read model projection', () => {
  it('given an install, then its success: the release is DEPLOYED at revision 1, and revision 1 is inserted with its values', () => {
    const { view, revisionOps } = projectCommits(null, commitsOf([install, succeed]));
    expect(view).toMatchObject({ releaseId: 'web', status: 'DEPLOYED', currentRevision: 1, lastSuccessfulRevision: 1, pendingOperationId: null, version: 2, lastError: null });
    expect(view).not.toHaveProperty('pending');
    expect(inserted(revisionOps)).toEqual([expect.objectContaining({ _id: 'web:00000001', revision: 1, operation: 'INSTALL', chartVersion: '1.0.0', valuesJson: '{"a":1}' })]);
    expect(revisionOps).toContainEqual({ id: 'web:00000001', set: expect.objectContaining({ status: 'DEPLOYED', helmRevision: 1 }) });
  });

  it('given an upgrade that failed: FAILED, the last error sealed at rest, the last successful revision kept, pending flag gone', () => {
    const seal = (text: string) => `sealed(${text})`;
    const { view, revisionOps } = projectCommits(null, commitsOf([install, succeed, upgrade, fail]), seal);
    expect(view).toMatchObject({ status: 'FAILED', currentRevision: 2, lastSuccessfulRevision: 1, lastError: 'sealed(boom "x")' });
    expect(inserted(revisionOps).map((r) => [r.revision, r.operation, r.valuesJson])).toEqual([
      [1, 'INSTALL', 'sealed({"a":1})'],
      [2, 'UPGRADE', 'sealed({"a":1})'],
    ]);
    expect(revisionOps).toContainEqual({ id: 'web:00000002', set: expect.objectContaining({ status: 'FAILED', error: 'sealed(boom "x")' }) });
  });

  it('flags a pending operation for the watchdog while one is in flight', () => {
    const { view } = projectCommits(null, commitsOf([install]));
    expect(view).toMatchObject({ status: 'PENDING_INSTALL', pending: true, pendingOperationId: expect.any(String) });
  });

  it('should be idempotent if run twice: commits the view already holds change nothing', () => {
    const commits = commitsOf([install, succeed, upgrade]);
    const once = projectCommits(null, commits);
    const twice = projectCommits(once.view, commits);
    expect(twice.view).toEqual(once.view);
    expect(twice.revisionOps).toEqual([]);
    const next = projectCommits(once.view as ReleaseView, commitsOf([install, succeed, upgrade, succeed]));
    expect(next.view).toMatchObject({ status: 'DEPLOYED', currentRevision: 2, lastSuccessfulRevision: 2, version: 4 });
  });

  it('given an upgrade timed out by the watchdog, then its success late: the revision and the release DEPLOYED, as the domain corrects them', () => {
    const { view, revisionOps } = projectCommits(null, commitsOf([install, succeed, upgrade, expire, lateSuccess]));
    expect(view).toMatchObject({ status: 'DEPLOYED', currentRevision: 2, lastSuccessfulRevision: 2, lastError: null, pendingOperationId: null, version: 5 });
    expect(revisionOps.slice(-2)).toEqual([
      { id: 'web:00000002', set: expect.objectContaining({ status: 'FAILED', error: 'operation timed out' }) },
      { id: 'web:00000002', set: expect.objectContaining({ status: 'DEPLOYED', helmRevision: 2 }) },
    ]);
  });

  it('given an adoption, then drift, then an upgrade: imported revisions replace the install, EXTERNAL ones are added, inSync follows', () => {
    const made = (helmRevision: number, values: Record<string, number>) => ({
      helmRevision, chartName: 'web', chartVersion: '1.0.0', values, helmStatus: 'superseded', description: 'Upgrade complete', updatedAt: NOW,
    });
    const adopt: (s: ReleaseState) => ReleaseCommand = (s) => ({
      type: 'RecordOperationResult',
      data: { releaseId: 'web', operationId: pendingOf(s), outcome: 'SUCCEEDED', imported: [made(1, { a: 1 }), { ...made(2, { a: 2 }), helmStatus: 'deployed' }] },
    });
    const adoptingInstall: (s: ReleaseState) => ReleaseCommand = (s) => {
      const command = install(s);
      return { ...command, data: { ...command.data, adopt: true } } as ReleaseCommand;
    };
    const drift: (s: ReleaseState) => ReleaseCommand = () => ({ type: 'RecordDriftCheck', data: { releaseId: 'web', revisions: [made(3, { a: 3 })], checkedAt: NOW } });
    const upgraded: (s: ReleaseState) => ReleaseCommand = (s) => ({ type: 'RecordOperationResult', data: { releaseId: 'web', operationId: pendingOf(s), outcome: 'SUCCEEDED', helmRevision: 4 } });

    const adopted = projectCommits(null, commitsOf([adoptingInstall, adopt]));
    expect(adopted.view).toMatchObject({ status: 'DEPLOYED', currentRevision: 2, lastSuccessfulRevision: 2, inSync: true, knownHelmRevision: 2, pendingOperationId: null });
    expect(adopted.revisionOps).toContainEqual({ id: 'web:00000001', set: expect.objectContaining({ operation: 'IMPORTED', valuesJson: '{"a":1}', helmRevision: 1, trigger: 'EXTERNAL' }) });
    expect(inserted(adopted.revisionOps).map((r) => [r.revision, r.operation])).toEqual([
      [1, 'INSTALL'],
      [2, 'IMPORTED'],
    ]);

    const drifted = projectCommits(null, commitsOf([adoptingInstall, adopt, drift]));
    expect(drifted.view).toMatchObject({ currentRevision: 3, inSync: false, knownHelmRevision: 3 });
    expect(inserted(drifted.revisionOps).at(-1)).toMatchObject({ revision: 3, operation: 'EXTERNAL', valuesJson: '{"a":3}' });

    const back = projectCommits(null, commitsOf([adoptingInstall, adopt, drift, upgrade, upgraded]));
    expect(back.view).toMatchObject({ currentRevision: 4, inSync: true, knownHelmRevision: 4, status: 'DEPLOYED' });
  });
});
