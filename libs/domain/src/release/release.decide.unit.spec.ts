import { ReleaseEvent } from './release.events';
import { ReleaseCommand } from './release.commands';
import { fold } from '../core/decider';
import { decide } from './release.decide';
import { evolve } from './release';
import { meta, given, id, values1, values2, install, upgrade, rollback, lastSuccessful, uninstall, story, existing, outcome } from './release.spec-support';

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

    it('refuses an install whose Helm release (namespace, name) another release holds, with RELEASE_NAME_TAKEN', () => {
      given().when(install(), meta({ nameHeldBy: 'other' })).thenThrows('RELEASE_NAME_TAKEN', /apps\/web belongs to release 'other'/);
      // Held by this very release (claimed before, a reinstall): the install goes on.
      given().when(install(), meta({ nameHeldBy: id })).then((events) => expect(events[0]).toMatchObject({ type: 'InstallRequested', data: { name: id } }));
    });

    it('refuses a new release over a Helm release the cluster holds (RELEASE_EXISTS_IN_CLUSTER) unless it adopts it', () => {
      const helmHolds = { revision: 3, chart: 'web-1.1.0', status: 'deployed', seenAt: '2026-12-02T10:00:00.000Z' };
      given()
        .when(install(), meta({ nameHeldBy: id, helmHolds }))
        .thenThrows('RELEASE_EXISTS_IN_CLUSTER', /^Helm already holds apps\/web at revision 3 \(web-1\.1\.0, deployed; listed at 2026-12-02T10:00:00\.000Z\), made outside the service; adopt it/);
      given()
        .when(install({ adopt: true }), meta({ nameHeldBy: id, helmHolds }))
        .then(([event]) => expect(event).toMatchObject({ type: 'InstallRequested', data: { revision: 1, adopt: true } }));
      // A release with a history of its own is judged by the executor, which reads the service's marker in Helm's history.
      given(story(install(), 'fail'))
        .when(install(), meta({ nameHeldBy: id, helmHolds }))
        .then(([event]) => expect(event).toMatchObject({ type: 'InstallRequested', data: { revision: 2 } }));
    });

    it('takes an install again when the one before failed before anything deployed (refused before Helm, say)', () => {
      given(story(install(), 'fail'))
        .when(install({ adopt: true }))
        .then(([event]) => expect(event).toMatchObject({ type: 'InstallRequested', data: { revision: 2, adopt: true } }));
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

  describe('the Helm revision an operation tells the executor it knows of', () => {
    const settle = (state: ReturnType<typeof story>, helmRevision: number) => fold(evolve, state, decide(outcome(state, 'SUCCEEDED', { helmRevision }), state, meta()));
    const requested = (state: ReturnType<typeof story>) => decide(upgrade('1.2.0'), state, meta())[0].data as { knownHelmRevision?: number };

    it("is the newest revision's Helm number", () => {
      let state = settle(story(install()), 4);
      state = settle(fold(evolve, state, decide(upgrade(), state, meta())), 5);
      expect(requested(state).knownHelmRevision).toBe(5);
    });

    it('is the newest, not the highest, when Helm counted from 1 again (a release purged behind the service)', () => {
      let state = settle(story(install()), 7);
      state = settle(fold(evolve, state, decide(upgrade(), state, meta())), 1);
      expect(requested(state).knownHelmRevision).toBe(1);
    });

    it('skips revisions Helm never numbered (refused before Helm ran)', () => {
      let state = settle(story(install()), 3);
      state = fold(evolve, state, decide(upgrade(), state, meta()));
      state = fold(evolve, state, decide(outcome(state, 'FAILED', { notRun: true, error: 'refused' }), state, meta()));
      expect(existing(state).revisions.at(-1)?.helmRevision).toBeUndefined();
      expect(requested(state).knownHelmRevision).toBe(3);
    });
  });
});
