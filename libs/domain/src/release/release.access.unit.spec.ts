import { Access, Grant, permits } from '../access/grants';
import { ActiveFreeze, ClusterDirectory } from './release.access';
import { existing, given, install, lastSuccessful, meta, rollback, story, uninstall, upgrade } from './release.spec-support';
import { ReleaseCommand } from './release.commands';

const grant = (role: Grant['role'], clusters: string[], namespaces: string[]): Grant => ({ role, clusters, namespaces });
const as = (...grants: Grant[]): Access => ({ subject: 'carol', authenticated: true, grants });
const installedIn = (namespace: string, cluster = 'prod-eu') => story(install({ namespace, cluster }), 'ok', upgrade(), 'ok');
const clusters: ClusterDirectory = new Map([
  ['prod-eu', { namespaces: ['payments-*', 'apps'] }],
  ['dev', {}],
]);

describe('release access', () => {
  it('matches grants by role, cluster pattern and namespace pattern', () => {
    const grants = [grant('rollbacker', ['prod-*'], ['payments-*'])];
    expect(permits(grants, 'rollback', { cluster: 'prod-eu', namespace: 'payments-api' })).toBe(true);
    expect(permits(grants, 'deploy', { cluster: 'prod-eu', namespace: 'payments-api' })).toBe(false);
    expect(permits(grants, 'rollback', { cluster: 'prod-eu', namespace: 'kube-system' })).toBe(false);
    expect(permits(grants, 'rollback', { cluster: 'staging', namespace: 'payments-api' })).toBe(false);
    // Patterns are anchored and `.` is literal: `prod-*` does not match `preprod-eu`.
    expect(permits(grants, 'read', { cluster: 'preprod-eu', namespace: 'payments-api' })).toBe(false);
  });

  it('lets a rollbacker on payments-* roll back there, and refuses its upgrade and its reach into kube-system', () => {
    const access = as(grant('rollbacker', ['prod-*'], ['payments-*']));
    given(installedIn('payments-api'))
      .when(rollback(1), meta({ access }))
      .then(([event]) => expect(event).toMatchObject({ type: 'RollbackRequested', data: { cluster: 'prod-eu', rollbackOf: 1, requestedBy: 'alice' } }));
    given(installedIn('payments-api')).when(lastSuccessful({ reason: 'x' }), meta({ access })).thenThrows('ALREADY_AT_LAST_SUCCESSFUL');
    given(installedIn('payments-api')).when(upgrade('1.2.0'), meta({ access })).thenThrows('FORBIDDEN', /'carol' may not change releases in cluster 'prod-eu', namespace 'payments-api'/);
    given(installedIn('payments-api')).when(uninstall(), meta({ access })).thenThrows('FORBIDDEN');
    // A release it may not read is not found, so nothing about it leaks.
    given(installedIn('kube-system')).when(rollback(1), meta({ access })).thenThrows('RELEASE_NOT_FOUND');
    given().when(install({ namespace: 'payments-api', cluster: 'prod-eu' }), meta({ access })).thenThrows('FORBIDDEN', /may not install/);
  });

  it('refuses commands only the service sends, from any caller', () => {
    const access = as(grant('admin', ['*'], ['*']));
    const state = story(install({ cluster: 'prod-eu' }));
    const pending = existing(state).pending!;
    const result: ReleaseCommand = { type: 'RecordOperationResult', data: { releaseId: 'web', operationId: pending.operationId, outcome: 'SUCCEEDED' } };
    given(state).when(result, meta({ access })).thenThrows('FORBIDDEN', /sent by the service itself/);
    given(installedIn('apps')).when(lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 2 }), meta({ access })).thenThrows('FORBIDDEN', /automatic/);
  });

  it('installs in the named cluster, else the default, and never moves a release to another cluster', () => {
    given()
      .when(install({ namespace: 'apps' }), meta({ defaultCluster: 'dev', clusters }))
      .then(([event], after) => {
        expect(event).toMatchObject({ type: 'InstallRequested', data: { cluster: 'dev' } });
        expect(existing(after).cluster).toBe('dev');
      });
    given().when(install({ cluster: 'mars' }), meta({ clusters })).thenThrows('CLUSTER_UNKNOWN', /Cluster 'mars' is not configured; known clusters: prod-eu, dev/);
    given().when(install({ cluster: 'prod-eu', namespace: 'kube-system' }), meta({ clusters })).thenThrows('NAMESPACE_NOT_ALLOWED');
    const uninstalled = story(install({ cluster: 'prod-eu' }), 'ok', uninstall(), 'ok');
    given(uninstalled).when(install({ cluster: 'dev' }), meta({ clusters })).thenThrows('RELEASE_IN_ANOTHER_CLUSTER', /lives in cluster 'prod-eu'/);
    given(uninstalled)
      .when(install(), meta({ clusters, defaultCluster: 'dev' }))
      .then(([event]) => expect(event).toMatchObject({ type: 'InstallRequested', data: { cluster: 'prod-eu', revision: 2 } }));
  });

  it('marks what a Kafka source claimed as unauthenticated on the revision', () => {
    const access: Access = { subject: 'urn:pipeline', authenticated: false, grants: [grant('deployer', ['*'], ['*'])] };
    given(installedIn('apps'))
      .when(upgrade('1.2.0'), meta({ access, actor: 'urn:pipeline' }))
      .then(([event], after) => {
        expect(event).toMatchObject({ type: 'UpgradeRequested', data: { requestedBy: 'urn:pipeline', unauthenticated: true } });
        expect(existing(after).revisions.at(-1)).toMatchObject({ requestedBy: 'urn:pipeline', unauthenticated: true });
      });
  });

  describe('freeze windows', () => {
    const freeze: ActiveFreeze = { window: 'black-friday', endsAt: '2026-11-30T00:00:00.000Z', allowAutomatic: true };
    const freezeAt = () => freeze;
    const deployer = as(grant('deployer', ['*'], ['*']));
    const admin = as(grant('admin', ['prod-*'], ['*']));

    it('refuses changes during a window, naming it and when it ends', () => {
      given(installedIn('apps'))
        .when(upgrade('1.2.0'), meta({ access: deployer, freezeAt }))
        .thenThrows('CHANGE_FREEZE', /frozen by window 'black-friday' until 2026-11-30T00:00:00.000Z; an admin may break glass/);
      given(installedIn('apps')).when(rollback(1), meta({ access: deployer, freezeAt })).thenThrows('CHANGE_FREEZE');
    });

    it('lets an admin break glass with a reason, recorded on the revision', () => {
      const command: ReleaseCommand = { type: 'RollbackRelease', data: { releaseId: 'web', targetRevision: 1, breakGlass: { reason: 'payments down' } } };
      given(installedIn('apps'))
        .when(command, meta({ access: admin, freezeAt }))
        .then(([event], after) => {
          expect(event).toMatchObject({ type: 'RollbackRequested', data: { breakGlass: { reason: 'payments down', window: 'black-friday' } } });
          expect(existing(after).revisions.at(-1)).toMatchObject({ breakGlass: { reason: 'payments down', window: 'black-friday' } });
        });
      // A deployer asking to break glass is still refused.
      given(installedIn('apps')).when(command, meta({ access: deployer, freezeAt })).thenThrows('CHANGE_FREEZE', /breaking glass needs the admin role/);
      // Outside a window, break-glass records nothing.
      given(installedIn('apps'))
        .when(command, meta({ access: admin }))
        .then(([event]) => expect(event.data).not.toHaveProperty('breakGlass'));
    });

    it('lets automatic remediation through unless the window says otherwise', () => {
      const failed = story(install({ autoRollback: true }), 'ok', upgrade(), 'fail');
      const automatic = lastSuccessful({ trigger: 'AUTOMATIC', causedByRevision: 2 });
      given(failed).when(automatic, meta({ freezeAt })).then(([event]) => expect(event).toMatchObject({ type: 'RollbackRequested', data: { trigger: 'AUTOMATIC' } }));
      given(failed)
        .when(automatic, meta({ freezeAt: () => ({ ...freeze, allowAutomatic: false }) }))
        .thenThrows('CHANGE_FREEZE');
    });
  });
});
