import type { HelmListed } from '@app/contracts';
import { uniqueSuffix } from '@app/test-support';
import { HelmInventory } from './helm-inventory';
import { useStoreDatabase } from './store.spec-support';

// The executors' view of the cluster's Helm releases, on the real MongoDB-wire server.
describe('HelmInventory', () => {
  const db = useStoreDatabase('inventory');
  let inventory: HelmInventory;
  const at = (minute: number) => new Date(Date.UTC(2026, 11, 2, 10, minute)).toISOString();
  const listed = (name: string, revision = 1): HelmListed => ({ namespace: 'apps', name, revision, status: 'deployed', chart: 'web-1.0.0' });
  const names = async () => (await inventory.list('default', { limit: 100 })).map((e) => `${e.name}@${e.revision}`);

  beforeAll(async () => {
    inventory = new HelmInventory(db.connection, `i_${uniqueSuffix()}_`);
    await inventory.ensureIndexes();
  });

  it('keeps the newest report: a complete one forgets what it no longer lists, a truncated or older one forgets nothing', async () => {
    expect(await inventory.record({ cluster: 'default', takenAt: at(1), complete: true, releases: [listed('a'), listed('b'), listed('c')] })).toBe(true);
    expect(await names()).toEqual(['a@1', 'b@1', 'c@1']);

    // c was uninstalled, b upgraded.
    expect(await inventory.record({ cluster: 'default', takenAt: at(2), complete: true, releases: [listed('a'), listed('b', 2)] })).toBe(true);
    expect(await names()).toEqual(['a@1', 'b@2']);

    // A report that arrives late changes nothing.
    expect(await inventory.record({ cluster: 'default', takenAt: at(1), complete: true, releases: [listed('z')] })).toBe(false);
    expect(await names()).toEqual(['a@1', 'b@2']);

    // Truncated: what it leaves out may still be there.
    expect(await inventory.record({ cluster: 'default', takenAt: at(3), complete: false, releases: [listed('d')] })).toBe(true);
    expect(await names()).toEqual(['a@1', 'b@2', 'd@1']);

    expect(await inventory.find('default', 'apps', 'b')).toMatchObject({ revision: 2, status: 'deployed', chart: 'web-1.0.0' });
    expect(await inventory.find('default', 'apps', 'c')).toBeNull();
    expect(await inventory.find('other', 'apps', 'b')).toBeNull();
  });

  it('pages a cluster in namespace/name order, one namespace when asked', async () => {
    const cluster = `c${uniqueSuffix()}`.slice(0, 20);
    const releases = [...Array.from({ length: 5 }, (_, i) => listed(`r${i}`)), { ...listed('x'), namespace: 'ops' }];
    await inventory.record({ cluster, takenAt: at(1), complete: true, releases });
    const first = await inventory.list(cluster, { limit: 4 });
    const second = await inventory.list(cluster, { limit: 4, after: first[3]._id });
    expect([...first, ...second].map((e) => `${e.namespace}/${e.name}`)).toEqual(['apps/r0', 'apps/r1', 'apps/r2', 'apps/r3', 'apps/r4', 'ops/x']);
    expect((await inventory.list(cluster, { limit: 100, namespace: 'ops' })).map((e) => e.name)).toEqual(['x']);
  });
});
