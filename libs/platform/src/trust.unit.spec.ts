import { loadConfig } from './config';
import { clusterDirectory, executorClusters, executorGroup, FreezeCalendar, grantsOf, tokenGrants } from './trust';

describe('trust configuration', () => {
  it('knows one default cluster without CLUSTERS, and the configured ones with it', () => {
    expect([...clusterDirectory(loadConfig({})).keys()]).toEqual(['default']);
    const config = loadConfig({
      CLUSTERS: JSON.stringify([{ name: 'a', kubeconfig: '/k/a' }, { name: 'b', kubeconfig: '/k/b', namespaces: ['payments-*'] }]),
      DEFAULT_CLUSTER: 'a',
      EXECUTOR_CLUSTERS: 'b, a,b',
    });
    expect(clusterDirectory(config).get('b')).toEqual({ namespaces: ['payments-*'] });
    expect(executorClusters(config)).toEqual([{ name: 'b', kubeconfig: '/k/b' }, { name: 'a', kubeconfig: '/k/a' }]);
    expect(executorClusters({ ...config, EXECUTOR_CLUSTERS: undefined })).toEqual([{ name: 'a', kubeconfig: '/k/a' }]);
    expect(executorClusters(loadConfig({ KUBECONFIG: '/k/default' }))).toEqual([{ name: 'default', kubeconfig: '/k/default' }]);
    expect(executorGroup(config, 'b')).toBe('executor-b');
    expect(executorGroup(config, 'a')).toBe('executor');
  });

  it('refuses clusters, grants and windows that do not fit together, naming each', () => {
    expect(() => loadConfig({ CLUSTERS: JSON.stringify([{ name: 'a' }]), EXECUTOR_CLUSTERS: 'a,c' })).toThrow(/DEFAULT_CLUSTER: must be one of CLUSTERS \(a\)[\s\S]*EXECUTOR_CLUSTERS: 'c' must be one of CLUSTERS/);
    expect(() => loadConfig({ EXECUTOR_CLUSTERS: ' , ' })).toThrow(/EXECUTOR_CLUSTERS: must name a cluster/);
    expect(() => loadConfig({ AUTH_GRANTS: JSON.stringify([{ role: 'admin' }]) })).toThrow(/exactly one of subject, group, source/);
    expect(() => loadConfig({ AUTH_GRANTS: '[{' })).toThrow(/AUTH_GRANTS: must be a JSON array/);
    expect(() => loadConfig({ FREEZE_WINDOWS: JSON.stringify([{ name: 'x', cron: 'not a cron', durationMinutes: 5 }]) })).toThrow(/window 'x'/);
    expect(() => loadConfig({ OIDC_ISSUER: 'https://idp.example.com' })).toThrow(/OIDC needs/);
  });

  it('gives static tokens their role everywhere plus their scoped grants, and Kafka sources only theirs', () => {
    const config = loadConfig({
      AUTH_GRANTS: JSON.stringify([
        { subject: 'ci', role: 'rollbacker', clusters: ['prod-*'], namespaces: ['payments-*'] },
        { source: 'urn:pipeline:*', role: 'deployer', clusters: ['dev'] },
      ]),
    });
    expect(tokenGrants(config, { role: 'scoped', subject: 'ci' })).toEqual([{ role: 'rollbacker', clusters: ['prod-*'], namespaces: ['payments-*'] }]);
    expect(tokenGrants(config, { role: 'operator', subject: 'ops' })).toEqual([{ role: 'deployer', clusters: ['*'], namespaces: ['*'] }]);
    expect(grantsOf(config, { source: 'urn:pipeline:web' })).toEqual([{ role: 'deployer', clusters: ['dev'], namespaces: ['*'] }]);
    expect(grantsOf(config, { source: 'urn:someone-else' })).toEqual([]);
  });

  describe('freeze windows', () => {
    // Fridays 18:00 to Monday 06:00 in Berlin (60 h), on prod-* only.
    const calendar = new FreezeCalendar(
      loadConfig({ FREEZE_WINDOWS: JSON.stringify([{ name: 'weekend', cron: '0 18 * * 5', durationMinutes: 60 * 60, timeZone: 'Europe/Berlin', clusters: ['prod-*'] }]) }).FREEZE_WINDOWS,
    );
    const prod = { cluster: 'prod-eu', namespace: 'apps' };

    it('is in force from the opening for its duration, in its time zone, on its scopes only', () => {
      // Friday 2026-12-04 18:30 Berlin is 17:30 UTC.
      expect(calendar.at(prod, new Date('2026-12-04T17:30:00Z'))).toEqual({ window: 'weekend', endsAt: '2026-12-07T05:00:00.000Z', allowAutomatic: true });
      expect(calendar.at(prod, new Date('2026-12-04T16:59:00Z'))).toBeUndefined();
      expect(calendar.at(prod, new Date('2026-12-07T05:00:00Z'))).toBeUndefined();
      expect(calendar.at({ cluster: 'dev', namespace: 'apps' }, new Date('2026-12-05T12:00:00Z'))).toBeUndefined();
    });

    it('freezes outside allow-only windows until the next opens', () => {
      const allowOnly = new FreezeCalendar(
        loadConfig({ FREEZE_WINDOWS: JSON.stringify([{ name: 'office-hours', mode: 'allow', cron: '0 9 * * 1-5', durationMinutes: 8 * 60, allowAutomatic: false }]) }).FREEZE_WINDOWS,
      );
      expect(allowOnly.at(prod, new Date('2026-12-03T10:00:00Z'))).toBeUndefined();
      expect(allowOnly.at(prod, new Date('2026-12-03T18:00:00Z'))).toEqual({ window: 'office-hours', endsAt: '2026-12-04T09:00:00.000Z', allowAutomatic: false });
    });
  });
});
