/** Helpers of the release decider's specs: given(state).when(command).then(events), and stories that build states. */
import { fold } from '../core/decider';
import { DomainError } from '../core/domain-error';
import { ReleaseEvent, Values } from './release.events';
import { evolve, initialState, ReleaseState } from './release';
import { RecordOperationResult, ReleaseCommand } from './release.commands';
import { decide } from './release.decide';
import type { ReleaseCommandMetadata } from './release.rules';


// given(state).when(command).then(events) on the pure decider, as in Emmett's specs.
let clock = 0;
export const meta = (over: Partial<ReleaseCommandMetadata> = {}): ReleaseCommandMetadata => {
  clock += 1;
  return {
    commandId: `cmd-${clock}`,
    now: new Date(Date.UTC(2026, 10, 1, 12, 0, clock)).toISOString(),
    actor: 'alice',
    correlationId: `corr-${clock}`,
    ...over,
  };
};

/** given(state).when(command).then(check) or .thenThrows(code): the state is built by `story` below. */
export const given = (state: ReleaseState = initialState()) => ({
  when: (command: ReleaseCommand, metadata: ReleaseCommandMetadata = meta()) => ({
    then: (check: (produced: ReleaseEvent[], after: ReleaseState) => void) => {
      const produced = decide(command, state, metadata);
      check(produced, fold(evolve, state, produced));
    },
    thenThrows: (code: string, messagePart?: string | RegExp) => {
      let caught: unknown;
      try {
        decide(command, state, metadata);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(DomainError);
      expect((caught as DomainError).code).toBe(code);
      if (messagePart) expect((caught as DomainError).message).toMatch(messagePart);
    },
  }),
});

export const id = 'web';
export const values1: Values = { replicas: 1, image: { tag: '1.0.0' }, greeting: 'hello "world"' };
export const values2: Values = { replicas: 3, image: { tag: '1.1.0' } };

export const install = (over: Partial<Extract<ReleaseCommand, { type: 'InstallRelease' }>['data']> = {}): ReleaseCommand => ({
  type: 'InstallRelease',
  data: {
    releaseId: id,
    namespace: 'apps',
    chart: { name: 'web', repository: 'http://127.0.0.1:8879' },
    chartVersion: '1.0.0',
    values: values1,
    ...over,
  },
});
export const upgrade = (chartVersion = '1.1.0', values: Values = values2, atomic = false): ReleaseCommand => ({
  type: 'UpgradeRelease',
  data: { releaseId: id, chartVersion, values, atomic },
});
export const rollback = (targetRevision: unknown, reason = 'bad upgrade'): ReleaseCommand => ({
  type: 'RollbackRelease',
  data: { releaseId: id, targetRevision, reason },
});
export const lastSuccessful = (over: Partial<Extract<ReleaseCommand, { type: 'RollbackToLastSuccessful' }>['data']> = {}): ReleaseCommand => ({
  type: 'RollbackToLastSuccessful',
  data: { releaseId: id, ...over },
});
export const uninstall = (): ReleaseCommand => ({ type: 'UninstallRelease', data: { releaseId: id } });

/** The outcome of whatever operation is pending: built from state so the tests read as a story. */
export const outcome = (state: ReleaseState, result: 'SUCCEEDED' | 'FAILED', extra: { purged?: boolean; notRun?: boolean; error?: string; helmRevision?: number } = {}): RecordOperationResult => {
  if (state.status === 'NONE' || !state.pending) throw new Error('nothing pending');
  return {
    type: 'RecordOperationResult',
    data: { releaseId: id, operationId: state.pending.operationId, outcome: result, ...extra },
  };
};

/** Runs command after command, each outcome command built from the state before it. */
export const story = (...steps: Array<ReleaseCommand | 'ok' | 'fail' | 'fail-purged'>) => {
  let state: ReleaseState = initialState();
  for (const step of steps) {
    const command =
      step === 'ok'
        ? outcome(state, 'SUCCEEDED', { helmRevision: 1 })
        : step === 'fail'
          ? outcome(state, 'FAILED', { error: 'helm: context deadline exceeded' })
          : step === 'fail-purged'
            ? outcome(state, 'FAILED', { error: 'helm: install failed', purged: true })
            : step;
    state = fold(evolve, state, decide(command, state, meta()));
  }
  return state;
};

export const existing = (state: ReleaseState) => {
  if (state.status === 'NONE') throw new Error('no release');
  return state;
};
