import { fold } from '../core/decider';
import { DomainError } from '../core/domain-error';
import { ReleaseEvent } from './release.events';
import { evolve, ReleaseState } from './release';
import { ReleaseCommand } from './release.commands';
import { decide } from './release.decide';
import { planRollback, summarizeDecision } from './release.views';
import { meta, given, id, values1, values2, install, upgrade, rollback, lastSuccessful, uninstall, outcome, story, existing } from './release.spec-support';

describe('release decider', () => {
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

    const expired = (state: ReleaseState) => {
      const release = existing(state);
      const late = new Date(Date.parse(release.pending!.deadline) + 1000).toISOString();
      const expire: ReleaseCommand = { type: 'ExpireOperation', data: { releaseId: id, operationId: release.pending!.operationId } };
      return { state: fold(evolve, state, decide(expire, state, meta({ now: late }))), operationId: release.pending!.operationId, events: decide(expire, state, meta({ now: late })) };
    };
    const succeeded = (operationId: string): ReleaseCommand => ({ type: 'RecordOperationResult', data: { releaseId: id, operationId, outcome: 'SUCCEEDED', helmRevision: 2 } });

    it('never rolls back on a timeout: the outcome is unknown, and may still arrive', () => {
      const { events } = expired(story(install({ autoRollback: true }), 'ok', upgrade()));
      expect(events).toEqual([expect.objectContaining({ type: 'RevisionFailed', data: expect.objectContaining({ timedOut: true, remediate: false }) })]);
    });

    it('corrects a timeout when the success arrives late: the revision DEPLOYED late, the release DEPLOYED again, its configuration out of quarantine', () => {
      const { state, operationId } = expired(story(install({ autoRollback: true }), 'ok', upgrade('1.1.0', values2)));
      expect(existing(state).quarantined).toHaveLength(1);
      given(state)
        .when(succeeded(operationId))
        .then((events, after) => {
          expect(events).toEqual([{ type: 'RevisionDeployedLate', data: { releaseId: id, revision: 2, operationId, helmRevision: 2, completedAt: expect.any(String), releaseDeployed: true } }]);
          expect(existing(after)).toMatchObject({ status: 'DEPLOYED', pending: null, quarantined: [] });
          expect(existing(after).revisions[1]).toMatchObject({ status: 'DEPLOYED', helmRevision: 2, error: 'operation timed out' });
          // Redelivered, the late success changes nothing more.
          given(after).when(succeeded(operationId)).then((again) => expect(again).toEqual([]));
        });
    });

    it('corrects only the revision when the release moved on since the timeout', () => {
      const { state, operationId } = expired(story(install(), 'ok', upgrade('1.1.0', values2)));
      const after = fold(evolve, state, decide(rollback(1), state, meta()));
      given(after)
        .when(succeeded(operationId))
        .then((events, corrected) => {
          expect(events).toEqual([expect.objectContaining({ type: 'RevisionDeployedLate', data: expect.objectContaining({ revision: 2, releaseDeployed: false }) })]);
          expect(existing(corrected)).toMatchObject({ status: 'PENDING_ROLLBACK' });
          expect(existing(corrected).pending).not.toBeNull();
          expect(existing(corrected).revisions[1].status).toBe('DEPLOYED');
        });
    });

    it('a late failure after a timeout changes nothing', () => {
      const { state, operationId } = expired(story(install(), 'ok', upgrade()));
      given(state).when({ type: 'RecordOperationResult', data: { releaseId: id, operationId, outcome: 'FAILED', error: 'late' } }).then((events) => expect(events).toEqual([]));
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

    it('records a stale Helm lock the executor released before running, ahead of the outcome; the answer is the outcome', () => {
      const state = story(install(), 'ok', upgrade());
      const lockReleased = { helmRevision: 2, status: 'pending-upgrade', chart: 'web-1.3.0', since: '2026-12-02T05:00:00Z', ageSeconds: 900 };
      given(state)
        .when({ ...outcome(state, 'SUCCEEDED', { helmRevision: 3 }), data: { ...outcome(state, 'SUCCEEDED', { helmRevision: 3 }).data, lockReleased } } as ReleaseCommand)
        .then((events, after) => {
          expect(events.map((e) => e.type)).toEqual(['HelmLockReleased', 'RevisionDeployed']);
          expect(events[0].data).toMatchObject({ ...lockReleased, releaseId: id });
          expect(existing(after).status).toBe('DEPLOYED');
          expect(summarizeDecision(id, events, after)).toMatchObject({ revision: 2, status: 'DEPLOYED' });
        });
    });

    it('does not roll back a failed upgrade that ran nothing (refused before Helm, or Helm was locked): the cluster did not change', () => {
      const state = story(install({ autoRollback: true }), 'ok', upgrade('1.1.0', values2, true));
      given(state)
        .when(outcome(state, 'FAILED', { error: 'HELM_LOCKED: revision 3 is pending-upgrade', notRun: true }))
        .then((events, after) => {
          expect(events).toEqual([expect.objectContaining({ type: 'RevisionFailed', data: expect.objectContaining({ error: 'HELM_LOCKED: revision 3 is pending-upgrade', remediate: false }) })]);
          expect(after).toMatchObject({ status: 'FAILED' });
        });
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
