import fc from 'fast-check';
import { CommandMetadata, fold, NeedsFullHistory } from '../core/decider';
import { DomainError } from '../core/domain-error';
import { ReleaseEvent } from './release.events';
import { evolve, initialState, ReleaseState } from './release';
import { compactRelease, restoreRelease } from './release.history';
import { ReleaseCommand } from './release.commands';
import { decide } from './release.decide';

// A compacted state holds only the newest revisions. Its promise: every decision on it is the decision on
// the whole state, or NeedsFullHistory. These tests hold it to that over random histories.

const id = 'web';
const meta = (n: number): CommandMetadata => ({
  commandId: `cmd-${n}`,
  now: new Date(Date.UTC(2026, 10, 1, 12, 0, 0) + n * 1000 * 3600).toISOString(),
  actor: 'alice',
  correlationId: `corr-${n}`,
});

type Step =
  | { kind: 'install'; atomic: boolean; autoRollback: boolean }
  | { kind: 'upgrade'; v: number; atomic: boolean; force: boolean }
  | { kind: 'rollback'; back: number }
  | { kind: 'lastSuccessful'; automatic: boolean; back: number }
  | { kind: 'outcome'; ok: boolean; purged: boolean; which: number }
  | { kind: 'report'; back: number }
  | { kind: 'uninstall' }
  | { kind: 'expire' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('install' as const), atomic: fc.boolean(), autoRollback: fc.boolean() }),
  { arbitrary: fc.record({ kind: fc.constant('upgrade' as const), v: fc.integer({ min: 0, max: 3 }), atomic: fc.boolean(), force: fc.boolean() }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('rollback' as const), back: fc.integer({ min: -2, max: 25 }) }), weight: 2 },
  fc.record({ kind: fc.constant('lastSuccessful' as const), automatic: fc.boolean(), back: fc.integer({ min: 0, max: 3 }) }),
  // `which`: 0 the pending operation, otherwise the operation of an older command (a late or bogus outcome).
  { arbitrary: fc.record({ kind: fc.constant('outcome' as const), ok: fc.boolean(), purged: fc.boolean(), which: fc.integer({ min: 0, max: 30 }) }), weight: 5 },
  fc.record({ kind: fc.constant('report' as const), back: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('uninstall' as const) }),
  fc.record({ kind: fc.constant('expire' as const) }),
);

const follow = fc.oneof({ arbitrary: fc.constant('ok' as const), weight: 6 }, { arbitrary: fc.constant('fail' as const), weight: 2 }, fc.constant('none' as const));

const latest = (state: ReleaseState): number => (state.status === 'NONE' ? 0 : (state.archivedRevisions ?? 0) + state.revisions.length);

/** The command a step stands for, built from the whole state (as a client would from the read model). */
const commandOf = (s: Step, full: ReleaseState, n: number): ReleaseCommand => {
  switch (s.kind) {
    case 'install':
      return { type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart: { name: 'web', repository: 'http://c' }, chartVersion: '1.0.0', values: { v: 0 }, atomic: s.atomic, autoRollback: s.autoRollback } };
    case 'upgrade':
      return { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: `1.${s.v}.0`, values: { v: s.v }, atomic: s.atomic, force: s.force } };
    case 'rollback':
      return { type: 'RollbackRelease', data: { releaseId: id, targetRevision: latest(full) - s.back } };
    case 'lastSuccessful':
      return s.automatic
        ? { type: 'RollbackToLastSuccessful', data: { releaseId: id, trigger: 'AUTOMATIC', causedByRevision: latest(full) - s.back } }
        : { type: 'RollbackToLastSuccessful', data: { releaseId: id } };
    case 'outcome': {
      const pending = full.status !== 'NONE' ? full.pending?.operationId : undefined;
      const operationId = s.which === 0 && pending ? pending : `cmd-${Math.max(0, n - s.which)}`;
      return { type: 'RecordOperationResult', data: { releaseId: id, operationId, outcome: s.ok ? 'SUCCEEDED' : 'FAILED', ...(s.ok ? {} : { error: 'boom', purged: s.purged }) } };
    }
    case 'report':
      return { type: 'ReportUpgradeFailure', data: { releaseId: id, revision: latest(full) - s.back, reason: 'smoke test failed' } };
    case 'uninstall':
      return { type: 'UninstallRelease', data: { releaseId: id } };
    case 'expire': {
      const pending = full.status !== 'NONE' ? full.pending?.operationId : undefined;
      return { type: 'ExpireOperation', data: { releaseId: id, operationId: pending ?? 'cmd-0' } };
    }
  }
};

type Answer = { events: ReleaseEvent[] } | { refused: Pick<DomainError, 'code' | 'message' | 'details'> } | { needsFull: true };
const answer = (command: ReleaseCommand, state: ReleaseState, metadata: CommandMetadata): Answer => {
  try {
    return { events: decide(command, state, metadata) };
  } catch (error) {
    if (error instanceof NeedsFullHistory) return { needsFull: true };
    if (error instanceof DomainError) return { refused: { code: error.code, message: error.message, details: error.details } };
    throw error;
  }
};

describe('compacted release state', () => {
  it('decides every command as the whole state does, or asks for the whole history', () => {
    let asked = 0;
    let answered = 0;
    fc.assert(
      fc.property(fc.array(fc.tuple(step, follow), { minLength: 20, maxLength: 60, size: 'max' }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), (pairs, keep, chunk) => {
        let full: ReleaseState = initialState();
        let compact: ReleaseState = initialState();
        // Most requests are followed by the executor's outcome, so histories grow past the window.
        // Every history starts with an install, so its later steps act on a release.
        const first: Array<[Step, 'ok']> = [[{ kind: 'install', atomic: false, autoRollback: true }, 'ok']];
        const steps = [...first, ...pairs].flatMap(([s, then]): Step[] =>
          then === 'none' ? [s] : [s, { kind: 'outcome', ok: then === 'ok', purged: false, which: 0 }],
        );
        steps.forEach((s, n) => {
          const metadata = meta(n + 1);
          const command = commandOf(s, full, n + 1);
          const expected = answer(command, full, metadata);
          expect(expected).not.toHaveProperty('needsFull');
          const got = answer(command, compact, metadata);
          if ('needsFull' in got) asked += 1;
          else {
            answered += 1;
            expect(got).toEqual(expected);
          }
          if ('events' in expected) {
            full = fold(evolve, full, expected.events);
            // The service keeps the compacted state going by evolving it, as a load folds a tail onto a
            // compacted snapshot: it must stay the compaction of the whole state.
            compact = compactRelease(fold(evolve, compact, expected.events), keep, chunk);
            expect(compact).toEqual(compactRelease(full, keep, chunk));
            // And the archived revisions put back give the whole state.
            const archived = compact.status === 'NONE' ? 0 : (compact.archivedRevisions ?? 0);
            expect(restoreRelease(compact, full.status === 'NONE' ? [] : full.revisions.slice(0, archived))).toEqual(full);
          }
        });
      }),
      { numRuns: 150, seed: 20261129 },
    );
    // Both branches were exercised: the property is not true by asking for the history every time.
    expect(asked).toBeGreaterThan(50);
    expect(answered).toBeGreaterThan(asked);
  });

  const history = (revisions: number): ReleaseState => {
    let state: ReleaseState = initialState();
    for (let r = 1; r <= revisions; r += 1) {
      const command: ReleaseCommand =
        r === 1
          ? { type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart: { name: 'web', repository: 'http://c' }, chartVersion: '1.0.0', values: { r } } }
          : { type: 'UpgradeRelease', data: { releaseId: id, values: { r } } };
      state = fold(evolve, state, decide(command, state, meta(2 * r)));
      const pending = state.status === 'NONE' ? '' : state.pending!.operationId;
      state = fold(evolve, state, decide({ type: 'RecordOperationResult', data: { releaseId: id, operationId: pending, outcome: 'SUCCEEDED' } }, state, meta(2 * r + 1)));
    }
    return state;
  };

  it('keeps the newest revisions, cutting off whole chunks, so a state stays small at any history length', () => {
    const full = history(550);
    const compacted = compactRelease(full, 100, 100);
    if (compacted.status === 'NONE' || full.status === 'NONE') throw new Error('no release');
    expect(compacted.revisions.map((r) => r.revision)).toEqual(Array.from({ length: 150 }, (_, i) => 401 + i));
    expect(compacted.archivedRevisions).toBe(400);
    expect(compactRelease(history(150), 100, 100)).toEqual(history(150));
    expect(restoreRelease(compacted, full.revisions.slice(0, 400))).toEqual(full);
    expect(() => restoreRelease(compacted, full.revisions.slice(1, 401))).toThrow(/do not match/);
  });

  it('rolls back to a held revision at once, and asks for the history only for an older target', () => {
    const full = history(300);
    const compacted = compactRelease(full, 100);
    const to = (targetRevision: number): ReleaseCommand => ({ type: 'RollbackRelease', data: { releaseId: id, targetRevision } });
    const [recent] = decide(to(250), compacted, meta(10_000));
    expect(recent).toMatchObject({ type: 'RollbackRequested', data: { revision: 301, rollbackOf: 250, values: { r: 250 } } });
    expect(() => decide(to(7), compacted, meta(10_001))).toThrow(NeedsFullHistory);
    const [old] = decide(to(7), full, meta(10_001));
    expect(old).toMatchObject({ type: 'RollbackRequested', data: { revision: 301, rollbackOf: 7, values: { r: 7 } } });
    // A target beyond the history is refused without it, naming every revision.
    expect(() => decide(to(301), compacted, meta(10_002))).toThrow(/valid revisions: 1, 2, 3, .*, 300$/);
  });
});
