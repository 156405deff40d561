import { CommandMetadata, ReleaseCommand } from '@app/domain';
import { handleCommand } from '@app/event-store';
import { uniqueSuffix } from '@app/test-support';
import { RELEASE_AGGREGATE } from './release-aggregate';
import { ReleaseNames } from './release-names';
import { useStoreDatabase } from './store.spec-support';

// The registry of Helm release names on the real MongoDB-wire server: who holds (namespace, name).
describe('ReleaseNames', () => {
  const db = useStoreDatabase('names');
  let names: ReleaseNames;
  const at = (seconds: number) => new Date(Date.UTC(2026, 11, 2, 6, 0, seconds));
  const meta = (): CommandMetadata => ({ commandId: `c-${uniqueSuffix()}`, now: new Date().toISOString(), actor: 'tester', correlationId: 'c' });
  const install = (releaseId: string, name: string): ReleaseCommand => ({
    type: 'InstallRelease',
    data: { releaseId, name, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0' },
  });

  beforeAll(async () => {
    names = new ReleaseNames(db.connection, db.store, `n_${uniqueSuffix()}_`);
    await names.ensureIndexes();
  });

  it('gives a name to the first release that claims it, for good, and answers every later claim with it', async () => {
    expect(await names.claim('default', 'apps', 'shop', 'shop-a', at(0))).toBe('shop-a');
    await handleCommand(db.store, 'shop-a', install('shop-a', 'shop'), meta(), RELEASE_AGGREGATE);
    expect(await names.claim('default', 'apps', 'shop', 'shop-a', at(1))).toBe('shop-a');
    expect(await names.claim('default', 'apps', 'shop', 'shop-b', at(2))).toBe('shop-a');
    // Long after: the holder has a history, so the name stays its own.
    expect(await names.claim('default', 'apps', 'shop', 'shop-b', at(3_600))).toBe('shop-a');
    // The same name in another namespace, or in another cluster, is another Helm release.
    expect(await names.claim('default', 'other', 'shop', 'shop-b', at(4))).toBe('shop-b');
    expect(await names.claim('b', 'apps', 'shop', 'shop-c', at(5))).toBe('shop-c');
    expect(await names.claim('b', 'apps', 'shop', 'shop-a', at(6))).toBe('shop-c');
  });

  it('lets another release take a claim whose release never got a commit, once it is old, and only one of two racing', async () => {
    expect(await names.claim('default', 'apps', 'ghost', 'ghost-a', at(0))).toBe('ghost-a');
    // Young: the claimer may be about to commit.
    expect(await names.claim('default', 'apps', 'ghost', 'ghost-b', at(30))).toBe('ghost-a');
    const racing = await Promise.all(['ghost-b', 'ghost-c', 'ghost-d', 'ghost-e'].map((id) => names.claim('default', 'apps', 'ghost', id, at(120))));
    expect(new Set(racing).size).toBe(1);
    expect(['ghost-b', 'ghost-c', 'ghost-d', 'ghost-e']).toContain(racing[0]);
    expect(await names.claim('default', 'apps', 'ghost', 'ghost-a', at(121))).toBe(racing[0]);
  });

  it('claims the names of releases made before the registry, once per database', async () => {
    const fresh = new ReleaseNames(db.connection, db.store, `n_${uniqueSuffix()}_`);
    await fresh.ensureIndexes();
    for (const id of ['old-1', 'old-2']) {
      const handled = await handleCommand(db.store, id, install(id, `${id}-name`), meta(), RELEASE_AGGREGATE);
      await db.readModel.catchUp(db.store, id, handled.outcome === 'ACCEPTED' ? (handled.commit ?? undefined) : undefined);
    }
    expect(await fresh.backfill(db.readModel, at(0))).toBeGreaterThanOrEqual(2);
    expect(await fresh.claim('default', 'apps', 'old-1-name', 'newcomer', at(10_000))).toBe('old-1');
    expect(await fresh.backfill(db.readModel, at(1))).toBe(0);
  });
});
