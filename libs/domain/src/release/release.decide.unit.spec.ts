import { CommandMetadata, fold } from '../core/decider';
import { DomainError } from '../core/domain-error';
import { ReleaseEvent, Values } from './release.events';
import { evolve, initialState, ReleaseState } from './release';
import { RecordOperationResult, ReleaseCommand } from './release.commands';
import { decide } from './release.decide';
import { planRollback, summarizeDecision } from './release.views';

// given(state).when(command).then(events) on the pure decider, as in Emmett's specs.
let clock = 0;
const meta = (over: Partial<CommandMetadata> = {}): CommandMetadata => {
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
const given = (state: ReleaseState = initialState()) => ({
  when: (command: ReleaseCommand, metadata: CommandMetadata = meta()) => ({
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

const id = 'web';
const values1: Values = { replicas: 1, image: { tag: '1.0.0' }, greeting: 'hello "world"' };
const values2: Values = { replicas: 3, image: { tag: '1.1.0' } };

const install = (over: Partial<Extract<ReleaseCommand, { type: 'InstallRelease' }>['data']> = {}): ReleaseCommand => ({
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
const upgrade = (chartVersion = '1.1.0', values: Values = values2, atomic = false): ReleaseCommand => ({
  type: 'UpgradeRelease',
  data: { releaseId: id, chartVersion, values, atomic },
});
const rollback = (targetRevision: unknown, reason = 'bad upgrade'): ReleaseCommand => ({
  type: 'RollbackRelease',
  data: { releaseId: id, targetRevision, reason },
});
const lastSuccessful = (over: Partial<Extract<ReleaseCommand, { type: 'RollbackToLastSuccessful' }>['data']> = {}): ReleaseCommand => ({
  type: 'RollbackToLastSuccessful',
  data: { releaseId: id, ...over },
});
const uninstall = (): ReleaseCommand => ({ type: 'UninstallRelease', data: { releaseId: id } });

/** The outcome of whatever operation is pending: built from state so the tests read as a story. */
const outcome = (state: ReleaseState, result: 'SUCCEEDED' | 'FAILED', extra: { purged?: boolean; error?: string; helmRevision?: number } = {}): RecordOperationResult => {
  if (state.status === 'NONE' || !state.pending) throw new Error('nothing pending');
  return {
    type: 'RecordOperationResult',
    data: { releaseId: id, operationId: state.pending.operationId, outcome: result, ...extra },
  };
};

/** Runs command after command, each outcome command built from the state before it. */
const story = (...steps: Array<ReleaseCommand | 'ok' | 'fail' | 'fail-purged'>) => {
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

const existing = (state: ReleaseState) => {
  if (state.status === 'NONE') throw new Error('no release');
  return state;
};

describe('release decider', () => {
  describe('install', () => {
    it('creates revision 1 pending install with the exact chart version and values', () => {
      given().when(install(), meta({ actor: 'bob', commandId: 'op-1' })).then((events, state) => {
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({
          type: 'InstallRequested',
          data: { revision: 1, chartVersion: '1.0.0', values: values1, operationId: 'op-1', requestedBy: 'bob', name: id },
        });
        expect(existing(state).status).toBe('PENDING_INSTALL');
      });
    });

    it('refuses a second install of a live release with RELEASE_EXISTS', () => {
      given(story(install(), 'ok')).when(install()).thenThrows('RELEASE_EXISTS');
    });

    it('deploys revision 1 when the executor reports success', () => {
      const state = existing(story(install(), 'ok'));
      expect(state.status).toBe('DEPLOYED');
      expect(state.revisions[0]).toMatchObject({ revision: 1, status: 'DEPLOYED', helmRevision: 1 });
    });
  });

  describe('the seed scenario: install 1.0.0, upgrade 1.1.0, rollback to 1', () => {
    it('creates revision 3 with chart 1.0.0 and revision 1 exact values, keeping all three revisions', () => {
      const before = story(install(), 'ok', upgrade(), 'ok');
      given(before).when(rollback(1)).then((events, after) => {
        expect(events[0]).toMatchObject({
          type: 'RollbackRequested',
          data: { revision: 3, rollbackOf: 1, chartVersion: '1.0.0', values: values1, trigger: 'MANUAL' },
        });
        const release = existing(after);
        expect(release.status).toBe('PENDING_ROLLBACK');
        expect(release.revisions.map((r) => [r.revision, r.operation, r.chartVersion])).toEqual([
          [1, 'INSTALL', '1.0.0'],
          [2, 'UPGRADE', '1.1.0'],
          [3, 'ROLLBACK', '1.0.0'],
        ]);
        expect(release.revisions[2].values).toEqual(release.revisions[0].values);
      });
    });

    it('moves the release DEPLOYED -> PENDING_ROLLBACK -> DEPLOYED', () => {
      const deployed = story(install(), 'ok', upgrade(), 'ok');
      expect(existing(deployed).status).toBe('DEPLOYED');
      const pending = story(install(), 'ok', upgrade(), 'ok', rollback(1));
      expect(existing(pending).status).toBe('PENDING_ROLLBACK');
      const done = existing(story(install(), 'ok', upgrade(), 'ok', rollback(1), 'ok'));
      expect(done.status).toBe('DEPLOYED');
      expect(done.revisions[2].status).toBe('DEPLOYED');
    });

    it('moves the release FAILED -> PENDING_ROLLBACK -> FAILED when the rollback fails', () => {
      const failed = story(install(), 'ok', upgrade(), 'fail');
      expect(existing(failed).status).toBe('FAILED');
      const after = existing(story(install(), 'ok', upgrade(), 'fail', rollback(1), 'fail'));
      expect(after.status).toBe('FAILED');
      expect(after.revisions.map((r) => r.status)).toEqual(['DEPLOYED', 'FAILED', 'FAILED']);
      expect(after.revisions[2].error).toMatch(/deadline/);
    });
  });

  describe('rollback target validation', () => {
    const deployed = () => story(install(), 'ok', upgrade(), 'ok');

    it.each([0, -1, '3', 2.5, undefined, null, Number.NaN])('rejects target %p as VALIDATION_FAILED naming valid revisions', (target) => {
      given(deployed()).when(rollback(target)).thenThrows('VALIDATION_FAILED', /valid revisions: 1, 2/);
    });

    it('rejects a target not in history as REVISION_NOT_FOUND naming valid revisions', () => {
      given(deployed()).when(rollback(99)).thenThrows('REVISION_NOT_FOUND', /Revision 99 .*valid revisions: 1, 2/);
    });

    it('accepts a FAILED target with a warning, as Helm does', () => {
      given(story(install(), 'ok', upgrade(), 'fail', upgrade('1.2.0'), 'ok'))
        .when(rollback(2))
        .then((events) => {
          expect(events[0]).toMatchObject({ type: 'RollbackRequested', data: { rollbackOf: 2 } });
          const data = (events[0] as Extract<ReleaseEvent, { type: 'RollbackRequested' }>).data;
          expect(data.warnings).toHaveLength(1);
          expect(data.warnings[0]).toMatch(/never deployed successfully/);
        });
    });

    it('rolls back to the current revision itself, which redeploys it', () => {
      given(deployed()).when(rollback(2)).then((events) => {
        expect(events[0]).toMatchObject({ data: { revision: 3, rollbackOf: 2, chartVersion: '1.1.0' } });
      });
    });

    it('refuses a rollback of an unknown release with RELEASE_NOT_FOUND', () => {
      given().when(rollback(1)).thenThrows('RELEASE_NOT_FOUND');
    });
  });

  describe('operations in flight', () => {
    const pendingUpgrade = () => story(install(), 'ok', upgrade());
    it.each<[string, () => ReleaseCommand]>([
      ['rollback', () => rollback(1)],
      ['rollback to last successful', () => lastSuccessful()],
      ['upgrade', () => upgrade('1.2.0')],
      ['install', () => install()],
      ['uninstall', () => uninstall()],
    ])('refuses %s with OPERATION_IN_PROGRESS', (_name, command) => {
      given(pendingUpgrade()).when(command()).thenThrows('OPERATION_IN_PROGRESS', /Another operation is in progress/);
    });
  });

  describe('rollback to last successful', () => {
    it('targets the highest DEPLOYED revision', () => {
      const state = story(install(), 'ok', upgrade('1.1.0'), 'ok', upgrade('1.2.0', { replicas: 9 }), 'fail');
      given(state).when(lastSuccessful({ reason: 'recover' })).then((events, after) => {
        expect(events[0]).toMatchObject({
          type: 'RollbackRequested',
          data: { revision: 4, rollbackOf: 2, chartVersion: '1.1.0', values: values2, reason: 'recover' },
        });
        expect(existing(after).status).toBe('PENDING_ROLLBACK');
      });
    });

    it('refuses with NO_SUCCESSFUL_REVISION when nothing ever deployed', () => {
      given(story(install(), 'fail')).when(lastSuccessful()).thenThrows('NO_SUCCESSFUL_REVISION');
    });

    it('refuses with ALREADY_AT_LAST_SUCCESSFUL when the latest revision is deployed', () => {
      given(story(install(), 'ok', upgrade(), 'ok')).when(lastSuccessful()).thenThrows('ALREADY_AT_LAST_SUCCESSFUL');
    });

    it('restores an uninstalled release whose latest revision had deployed', () => {
      given(story(install(), 'ok', uninstall(), 'ok')).when(lastSuccessful()).then((events, after) => {
        expect(events[0]).toMatchObject({ data: { revision: 2, rollbackOf: 1 } });
        expect(existing(after).status).toBe('PENDING_ROLLBACK');
      });
    });
  });

  describe('atomic installs', () => {
    it('a failed atomic install leaves revision 1 FAILED and the release UNINSTALLED', () => {
      const state = existing(story(install({ atomic: true }), 'fail-purged'));
      expect(state.status).toBe('UNINSTALLED');
      expect(state.revisions).toHaveLength(1);
      expect(state.revisions[0]).toMatchObject({ revision: 1, status: 'FAILED', operation: 'INSTALL' });
    });

    it('a reinstall after a failed atomic install takes the next revision number', () => {
      given(story(install({ atomic: true }), 'fail-purged')).when(install({ chartVersion: '1.0.1' })).then((events, after) => {
        expect(events[0]).toMatchObject({ type: 'InstallRequested', data: { revision: 2, chartVersion: '1.0.1' } });
        expect(existing(after).revisions.map((r) => r.revision)).toEqual([1, 2]);
      });
    });

    it('a failed non-atomic install stays FAILED, and an upgrade recovers it', () => {
      const state = story(install(), 'fail');
      expect(existing(state).status).toBe('FAILED');
      given(state).when(upgrade('1.0.1', values1)).then((events) => {
        expect(events[0]).toMatchObject({ type: 'UpgradeRequested', data: { revision: 2 } });
      });
    });
  });

  describe('recovery from a failed rollback', () => {
    const failedRollback = () => story(install(), 'ok', upgrade(), 'ok', upgrade('1.2.0'), 'fail', rollback(2), 'fail');

    it('leaves the release FAILED', () => {
      expect(existing(failedRollback()).status).toBe('FAILED');
    });

    it('recovers by rolling back to a different revision', () => {
      const state = existing(story(install(), 'ok', upgrade(), 'ok', upgrade('1.2.0'), 'fail', rollback(2), 'fail', rollback(1), 'ok'));
      expect(state.status).toBe('DEPLOYED');
      expect(state.revisions.at(-1)).toMatchObject({ revision: 5, rollbackOf: 1, status: 'DEPLOYED', chartVersion: '1.0.0' });
    });

    it('recovers by a fresh upgrade', () => {
      const state = existing(story(install(), 'ok', upgrade(), 'ok', upgrade('1.2.0'), 'fail', rollback(2), 'fail', upgrade('1.0.0', values1), 'ok'));
      expect(state.status).toBe('DEPLOYED');
      expect(state.revisions.at(-1)).toMatchObject({ revision: 5, operation: 'UPGRADE' });
    });

    it('recovers by uninstall and reinstall, keeping history', () => {
      const state = existing(
        story(install(), 'ok', upgrade(), 'ok', upgrade('1.2.0'), 'fail', rollback(2), 'fail', uninstall(), 'ok', install(), 'ok'),
      );
      expect(state.status).toBe('DEPLOYED');
      expect(state.revisions.map((r) => `${r.revision}:${r.operation}:${r.status}`)).toEqual([
        '1:INSTALL:DEPLOYED',
        '2:UPGRADE:DEPLOYED',
        '3:UPGRADE:FAILED',
        '4:ROLLBACK:FAILED',
        '5:INSTALL:DEPLOYED',
      ]);
    });
  });

  describe('upgrade', () => {
    it('carries over what it does not name from the current revision', () => {
      given(story(install(), 'ok')).when({ type: 'UpgradeRelease', data: { releaseId: id, values: values2 } }).then((events) => {
        expect(events[0]).toMatchObject({ data: { chartVersion: '1.0.0', values: values2 } });
      });
    });

    it('needs a chart version or values', () => {
      given(story(install(), 'ok')).when({ type: 'UpgradeRelease', data: { releaseId: id } }).thenThrows('VALIDATION_FAILED');
    });

    it('refuses an uninstalled release with RELEASE_UNINSTALLED', () => {
      given(story(install(), 'ok', uninstall(), 'ok')).when(upgrade()).thenThrows('RELEASE_UNINSTALLED');
    });
  });

  describe('uninstall', () => {
    it('keeps the history and allows a reinstall with the next revision number', () => {
      const state = existing(story(install(), 'ok', upgrade(), 'ok', uninstall(), 'ok'));
      expect(state.status).toBe('UNINSTALLED');
      expect(state.revisions).toHaveLength(2);
      given(state).when(install()).then((events) => expect(events[0]).toMatchObject({ data: { revision: 3 } }));
    });

    it('passes through PENDING_UNINSTALL', () => {
      expect(existing(story(install(), 'ok', uninstall())).status).toBe('PENDING_UNINSTALL');
    });

    it('a failed uninstall leaves the release FAILED with the error', () => {
      const state = existing(story(install(), 'ok', uninstall(), 'fail'));
      expect(state.status).toBe('FAILED');
      expect(state.lastError).toMatch(/deadline/);
    });
  });

  describe('operation results', () => {
    it('accepts only the first outcome of a pending revision', () => {
      const pending = story(install(), 'ok', upgrade());
      const succeeded = outcome(pending, 'SUCCEEDED');
      const after = fold(evolve, pending, decide(succeeded, pending, meta()));
      expect(decide(succeeded, after, meta())).toEqual([]);
      const lateFailure = { ...succeeded, data: { ...succeeded.data, outcome: 'FAILED' as const } };
      expect(decide(lateFailure, after, meta())).toEqual([]);
      expect(existing(after).revisions[1].status).toBe('DEPLOYED');
    });

    it('rejects an outcome for an operation the release never had', () => {
      given(story(install(), 'ok', upgrade())).when({
        type: 'RecordOperationResult',
        data: { releaseId: id, operationId: 'nope', outcome: 'SUCCEEDED' },
      }).thenThrows('OPERATION_NOT_FOUND');
    });

    it('records the digest and Helm revision reported by the executor', () => {
      const pending = story(install());
      const command = outcome(pending, 'SUCCEEDED', { helmRevision: 7 });
      command.data.chartDigest = 'sha256:abc';
      given(pending).when(command).then((_events, after) => {
        expect(existing(after).revisions[0]).toMatchObject({ helmRevision: 7, chartDigest: 'sha256:abc' });
      });
    });
  });

  describe('watchdog', () => {
    it('fails an operation past its deadline with "operation timed out"', () => {
      const pending = existing(story(install(), 'ok', upgrade()));
      const late = new Date(Date.parse(pending.pending!.deadline) + 1000).toISOString();
      given(pending)
        .when({ type: 'ExpireOperation', data: { releaseId: id, operationId: pending.pending!.operationId } }, meta({ now: late }))
        .then((events, after) => {
          expect(events[0]).toMatchObject({ type: 'RevisionFailed', data: { error: 'operation timed out', timedOut: true } });
          expect(existing(after).status).toBe('FAILED');
          expect(existing(after).pending).toBeNull();
        });
    });

    it('refuses to expire an operation before its deadline', () => {
      const pending = existing(story(install(), 'ok', upgrade()));
      given(pending)
        .when({ type: 'ExpireOperation', data: { releaseId: id, operationId: pending.pending!.operationId } })
        .thenThrows('OPERATION_NOT_EXPIRED');
    });

    it('sets the deadline to the timeout plus a grace period', () => {
      given().when({ ...install(), data: { ...(install().data as object), timeoutSeconds: 30 } } as ReleaseCommand, meta({ now: '2026-01-01T00:00:00.000Z' }))
        .then((events) => {
          expect(events[0]).toMatchObject({ data: { timeoutSeconds: 30, deadline: '2026-01-01T00:01:30.000Z' } });
        });
    });
  });

  describe('automatic rollback rules (no loops)', () => {
    const failedUpgrade = () => story(install(), 'ok', upgrade(), 'fail');

    it('rolls back a failed upgrade automatically, recording trigger and cause', () => {
      given(failedUpgrade())
        .when(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 2, reason: 'upgrade to 1.1.0 failed' }), meta({ actor: 'system:remediation' }))
        .then((events) => {
          expect(events[0]).toMatchObject({
            type: 'RollbackRequested',
            data: { revision: 3, rollbackOf: 1, trigger: 'AUTOMATIC', causedByRevision: 2, requestedBy: 'system:remediation' },
          });
        });
    });

    it('never rolls back automatically after a failed rollback', () => {
      const state = story(install(), 'ok', upgrade(), 'ok', rollback(1), 'fail');
      given(state).when(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 3 })).thenThrows('AUTOMATIC_ROLLBACK_NOT_ALLOWED', /failed ROLLBACK/);
    });

    it('allows at most one automatic rollback per failed revision', () => {
      const state = story(install(), 'ok', upgrade(), 'fail', lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 2 }), 'ok');
      given(state).when(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 2 })).thenThrows('AUTOMATIC_ROLLBACK_NOT_ALLOWED');
    });
  });

  describe('remediation policy and quarantine', () => {
    const failedEvent = (state: ReleaseState) => {
      const events = decide(outcome(state, 'FAILED', { error: 'boom' }), state, meta());
      return events[0] as Extract<ReleaseEvent, { type: 'RevisionFailed' }>;
    };

    it('marks a failed atomic upgrade, or any failed upgrade of an autoRollback release, for remediation', () => {
      expect(failedEvent(story(install(), 'ok', upgrade('1.1.0', values2, true))).data).toMatchObject({ operation: 'UPGRADE', remediate: true });
      expect(failedEvent(story(install({ autoRollback: true }), 'ok', upgrade())).data).toMatchObject({ remediate: true });
      expect(failedEvent(story(install(), 'ok', upgrade())).data).toMatchObject({ remediate: false });
      expect(failedEvent(story(install({ autoRollback: true }), 'ok', upgrade(), 'ok', rollback(1))).data).toMatchObject({ operation: 'ROLLBACK', remediate: false });
      expect(failedEvent(story(install({ autoRollback: true, atomic: true }))).data).toMatchObject({ operation: 'INSTALL', remediate: false });
    });

    it('records that automatic rollback was impossible when nothing ever deployed, once per failed revision', () => {
      given(story(install(), 'fail', { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.0.1' } }, 'fail'))
        .when(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 2 }))
        .then((events, after) => {
          expect(events).toEqual([
            { type: 'AutomaticRollbackImpossible', data: expect.objectContaining({ releaseId: id, causedByRevision: 2, reason: expect.stringMatching(/no successful revision/) }) },
          ]);
          expect(existing(after).status).toBe('FAILED');
          expect(existing(after).revisions[1].remediation).toMatch(/impossible/);
          expect(() => decide(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 2 }), after, meta())).toThrow(/already caused/);
        });
    });

    it('refuses a manual upgrade to a quarantined configuration unless forced, then warns', () => {
      const state = story(install(), 'ok', upgrade('1.1.0', values2), 'fail', rollback(1), 'ok');
      given(state).when(upgrade('1.1.0', values2)).thenThrows('CONFIGURATION_QUARANTINED', /force/);
      given(state)
        .when({ type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0', values: { image: { tag: '1.1.0' }, replicas: 3 }, force: true } })
        .then((events) => {
          expect(events[0]).toMatchObject({ type: 'UpgradeRequested', data: { revision: 4, warnings: [expect.stringMatching(/quarantined/)] } });
        });
      given(state).when(upgrade('1.1.0', { replicas: 4 })).then((events) => expect(events[0].type).toBe('UpgradeRequested'));
    });

    it('never lets automation roll back to a configuration that later failed', () => {
      // 1.0.0+values1 deployed (rev 1), failed when re-applied (rev 3); 1.1.0 deployed (rev 2) is the only safe one.
      const state = story(install(), 'ok', upgrade('1.1.0', values2), 'ok', upgrade('1.0.0', values1), 'fail', upgrade('1.2.0', values2), 'fail');
      given(state)
        .when(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 4 }))
        .then((events) => expect(events[0]).toMatchObject({ type: 'RollbackRequested', data: { rollbackOf: 2, trigger: 'AUTOMATIC' } }));
    });
  });

  describe('who, why, when', () => {
    it('records actor, reason, trigger and time from the command metadata on the revision', () => {
      const at = '2026-03-04T05:06:07.000Z';
      given(story(install(), 'ok', upgrade(), 'ok'))
        .when(rollback(1, 'values broke checkout'), meta({ actor: 'carol', now: at, commandId: 'c-42' }))
        .then((_events, after) => {
          expect(existing(after).revisions[2]).toMatchObject({
            requestedBy: 'carol',
            reason: 'values broke checkout',
            trigger: 'MANUAL',
            requestedAt: at,
            operationId: 'c-42',
          });
        });
    });
  });

  describe('views', () => {
    it('summarizes a rollback decision with target and chart version', () => {
      const before = story(install(), 'ok', upgrade(), 'ok');
      const events = decide(rollback(1), before, meta());
      expect(summarizeDecision(id, events, fold(evolve, before, events))).toMatchObject({
        releaseId: id,
        revision: 3,
        status: 'PENDING_ROLLBACK',
        targetRevision: 1,
        chartVersion: '1.0.0',
      });
    });

    it('plans a rollback without changing state, with the same rules as the decision', () => {
      const before = story(install(), 'ok', upgrade(), 'ok');
      const plan = planRollback({ type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } }, before, meta());
      expect(plan).toMatchObject({ revision: 3, targetRevision: 1, chartVersion: { from: '1.1.0', to: '1.0.0' } });
      expect(plan.values).toEqual({ from: values2, to: values1 });
      expect(() => planRollback({ type: 'RollbackRelease', data: { releaseId: id, targetRevision: 9 } }, before, meta())).toThrow(DomainError);
    });
  });
});
