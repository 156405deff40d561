import { CommandMetadata, ReleaseCommand, ReleaseState } from '@app/domain';
import { testMongoUri, uniqueSuffix } from '@app/test-support';
import mongoose, { Connection } from 'mongoose';
import { releaseAsOf } from './release-audit';
import { ReleaseReadModel } from './release-read-model';
import { RELEASE_AGGREGATE, RELEASE_EVENT_SCHEMAS } from './release-aggregate';
import { handleCommand, loadStream, MongoEventStore, verifyChain } from '@app/event-store';

describe('audit: hash chain, as-of views and rebuild, against the real server', () => {
  let connection: Connection;
  let store: MongoEventStore;
  let live: ReleaseReadModel;
  let clock = Date.UTC(2026, 0, 1);
  const meta = (): CommandMetadata => {
    clock += 60_000;
    return { commandId: `c-${uniqueSuffix()}`, now: new Date(clock).toISOString(), actor: 'auditor', correlationId: 'c' };
  };
  const handle = async (id: string, command: ReleaseCommand) => {
    const result = await handleCommand(store, id, command, meta(), RELEASE_AGGREGATE);
    await live.catchUp(store, id);
    return result;
  };
  const complete = async (id: string, outcome: 'SUCCEEDED' | 'FAILED') => {
    const { state } = await loadStream(store, id, RELEASE_AGGREGATE.decider);
    const { pending } = state as Exclude<ReleaseState, { status: 'NONE' }>;
    return handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: pending!.operationId, outcome } });
  };
  const snapshots: Array<{ id: string; at: string; version: number; status: string; revisions: number }> = [];

  beforeAll(async () => {
    connection = await mongoose.createConnection(testMongoUri(`audit_${uniqueSuffix()}`), { autoIndex: false }).asPromise();
    store = new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS });
    live = new ReleaseReadModel(connection);
    await store.ensureIndexes();
    await live.ensureIndexes();
    // A long scenario over many releases: installs, upgrades, failures, rollbacks, uninstall, reinstall.
    for (let r = 0; r < 12; r += 1) {
      const id = `rel-${r}`;
      await handle(id, { type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { r } } });
      await complete(id, r % 5 === 4 ? 'FAILED' : 'SUCCEEDED');
      for (let u = 1; u <= 3; u += 1) {
        await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: `1.${u}.0`, values: { r, u } } });
        await complete(id, (r + u) % 3 === 0 ? 'FAILED' : 'SUCCEEDED');
        const view = (await live.get(id))!;
        snapshots.push({ id, at: new Date(clock).toISOString(), version: view.version, status: view.status, revisions: (await live.history(id)).length });
      }
      await handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } });
      await complete(id, 'SUCCEEDED');
      if (r % 4 === 0) {
        await handle(id, { type: 'UninstallRelease', data: { releaseId: id } });
        await complete(id, 'SUCCEEDED');
        await handle(id, { type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '2.0.0' } });
        await complete(id, 'SUCCEEDED');
      }
    }
  }, 180_000);
  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('rebuilds a read model from nothing that equals the live one', async () => {
    const rebuilt = new ReleaseReadModel(connection, `rebuilt_${uniqueSuffix()}_`);
    const commits = await rebuilt.rebuild(store);
    expect(commits).toBeGreaterThan(12 * 10);
    expect(await rebuilt.releases.find().sort({ _id: 1 }).lean()).toEqual(await live.releases.find().sort({ _id: 1 }).lean());
    expect(await rebuilt.revisions.find().sort({ _id: 1 }).lean()).toEqual(await live.revisions.find().sort({ _id: 1 }).lean());
  });

  it('shows each release as it was at the moments the live view was read', async () => {
    for (const s of snapshots) {
      const byTime = await releaseAsOf(store, s.id, { time: s.at });
      const byVersion = await releaseAsOf(store, s.id, { version: s.version });
      for (const view of [byTime, byVersion]) {
        expect(view.version).toBe(s.version);
        expect(view.state.status).toBe(s.status);
        expect(view.state.status !== 'NONE' && view.state.revisions.length).toBe(s.revisions);
      }
    }
  });

  it('finds the chain intact, then detects an edited value, a deleted commit and a swapped pair', async () => {
    expect((await verifyChain(store)).problems).toEqual([]);

    // An edited value.
    const edited = await store.commits.findOne({ streamId: 'rel-1', version: 3 }).lean();
    const tampered = edited!.events.map((e) => ({ ...e, data: e.data.replace('"u":1', '"u":99') }));
    await store.commits.updateOne({ _id: edited!._id }, { $set: { events: tampered } });
    expect((await verifyChain(store, { streamId: 'rel-1' })).problems).toEqual([
      expect.objectContaining({ streamId: 'rel-1', version: 3, problem: 'EDITED' }),
    ]);

    // A deleted commit.
    await store.commits.deleteOne({ streamId: 'rel-2', version: 4 });
    expect((await verifyChain(store, { streamId: 'rel-2' })).problems).toEqual([
      expect.objectContaining({ streamId: 'rel-2', version: 5, problem: 'MISSING' }),
    ]);

    // A swapped pair: versions 2 and 3 exchange their content, each keeping its own hash fields.
    const [a, b] = await store.commits.find({ streamId: 'rel-3', version: { $in: [2, 3] } }).sort({ version: 1 }).lean();
    const content = (c: typeof a) => ({ commandId: c.commandId, commandType: c.commandType, events: c.events, result: c.result, metadata: c.metadata });
    await store.commits.updateOne({ _id: a._id }, { $set: { ...content(b), commandId: `${b.commandId}-tmp` } });
    await store.commits.updateOne({ _id: b._id }, { $set: content(a) });
    await store.commits.updateOne({ _id: a._id }, { $set: { commandId: b.commandId } });
    const swapped = (await verifyChain(store, { streamId: 'rel-3' })).problems;
    expect(swapped.map((p) => p.version)).toEqual(expect.arrayContaining([2, 3]));

    const all = await verifyChain(store);
    expect(new Set(all.problems.map((p) => p.streamId))).toEqual(new Set(['rel-1', 'rel-2', 'rel-3']));
  });
});
