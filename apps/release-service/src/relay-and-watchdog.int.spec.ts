import { ALL_TOPICS, Topics } from '@app/contracts';
import { CommandMetadata, ReleaseCommand } from '@app/domain';
import { handleCommand, MongoEventStore, OutboxDispatcher } from '@app/event-store';
import { HelmInventory, RELEASE_AGGREGATE, RELEASE_EVENT_SCHEMAS, ReleaseReadModel } from '@app/release-store';
import { ensureTopics } from '@app/platform';
import { Captured, KafkaProbe, testConfig, uniqueSuffix, waitFor } from '@app/test-support';
import mongoose, { Connection } from 'mongoose';
import pino from 'pino';
import type { CommandProcessor } from './command-processor';
import { PartitionOwnership } from './partition-ownership';
import { RelayAndWatchdog } from './relay-and-watchdog.service';

// The watchdog on the real servers: between its sweeps of the read model it checks the operations held in
// memory, and acts on one only when the stored view agrees (a cached copy may be stale).
describe('watchdog', () => {
  const config = testConfig();
  let connection: Connection;
  let store: MongoEventStore;
  let readModel: ReleaseReadModel;
  let probe: KafkaProbe;
  let commands: Captured[];
  let inMemory: Array<{ releaseId: string; operationId: string; deadline: string }> = [];
  let watchdog: RelayAndWatchdog;
  const meta = (now: string): CommandMetadata => ({ commandId: `w-${uniqueSuffix()}`, now, actor: 'tester', correlationId: 'c' });
  const install = (releaseId: string): ReleaseCommand => ({
    type: 'InstallRelease',
    data: { releaseId, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0' },
  });
  let inventory: HelmInventory;
  const expiries = () => commands.map((c) => c.json() as { type: string; data: { releaseId: string; operationId: string; reason?: string } }).filter((c) => c.type.endsWith('expire-operation'));

  beforeAll(async () => {
    connection = await mongoose.createConnection(config.MONGODB_URI, { autoIndex: false }).asPromise();
    store = new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS });
    readModel = new ReleaseReadModel(connection);
    await Promise.all([store.ensureIndexes(), readModel.ensureIndexes()]);
    probe = new KafkaProbe(config);
    await probe.start();
    const admin = probe.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, config, ALL_TOPICS);
    await admin.disconnect();
    commands = await probe.record([Topics.commands, Topics.outcomes]);
    const processor = { pendingInMemory: () => inMemory } as unknown as CommandProcessor;
    const outbox = new OutboxDispatcher(store, async () => undefined);
    inventory = new HelmInventory(connection, `inv_${uniqueSuffix()}_`);
    watchdog = new RelayAndWatchdog(store, readModel, inventory, outbox, probe.producer, config, pino({ level: 'silent' }), processor, new PartitionOwnership());
  });
  afterAll(async () => {
    await probe.stop();
    await connection.dropDatabase();
    await connection.close();
  });

  it('expires an overdue operation held in memory once its view confirms it, never one the view contradicts, and finds the rest by a sweep', async () => {
    const [late, moved, swept] = ['wd-late', 'wd-moved', 'wd-swept'];
    const installs = await Promise.all([late, moved, swept].map((id) => handleCommand(store, id, install(id), meta('2001-01-01T00:00:00.000Z'), RELEASE_AGGREGATE)));
    for (const id of [late, moved, swept]) await readModel.catchUp(store, id);
    const operationOf = (i: number) => (installs[i] as { result: { operationId: string } }).result.operationId;
    const past = '2001-01-01T00:05:00.000Z';
    inMemory = [
      { releaseId: late, operationId: operationOf(0), deadline: past },
      // A stale copy: the stored view's operation is another one.
      { releaseId: moved, operationId: 'an-operation-long-finished', deadline: past },
    ];
    expect(await watchdog.watchdog(new Date(), false)).toBe(1);
    await waitFor(() => expiries().length >= 1, { what: 'the expiry command' });
    expect(expiries().map((e) => [e.data.releaseId, e.data.operationId])).toEqual([[late, operationOf(0)]]);
    // The sweep reads every pending release of the read model, in memory or not.
    inMemory = [];
    expect(await watchdog.watchdog(new Date(), true)).toBe(3);
    await waitFor(() => expiries().length >= 4, { what: 'the swept expiry commands' });
    expect(new Set(expiries().slice(1).map((e) => e.data.releaseId))).toEqual(new Set([late, moved, swept]));
    // No executor of their cluster ever listed it: the expiry says so, for the failed revision's error.
    expect(expiries().every((e) => e.data.reason === "no executor of cluster 'default' has reported yet")).toBe(true);
  });

  it('names no missing executor once its cluster reports', async () => {
    const id = 'wd-served';
    const installed = (await handleCommand(store, id, install(id), meta('2001-01-01T00:00:00.000Z'), RELEASE_AGGREGATE)) as { result: { operationId: string } };
    await readModel.catchUp(store, id);
    await inventory.record({ cluster: 'default', takenAt: new Date().toISOString(), complete: true, releases: [] });
    inMemory = [{ releaseId: id, operationId: installed.result.operationId, deadline: '2001-01-01T00:05:00.000Z' }];
    expect(await watchdog.watchdog(new Date(), false)).toBe(1);
    const ours = () => expiries().filter((e) => e.data.releaseId === id);
    await waitFor(() => ours().length >= 1, { what: 'the expiry command' });
    expect(ours()[0].data).toEqual({ releaseId: id, operationId: installed.result.operationId });
  });

  it('asks for a scheduled retry once it is due, and for none before or after it was taken', async () => {
    const id = 'wd-retry';
    const policy: ReleaseCommand = { ...install(id), data: { ...install(id).data, remediation: { retries: 1, strategy: 'rollback', backoff: { initialSeconds: 60, factor: 2, maxSeconds: 60 } } } } as ReleaseCommand;
    const installed = (await handleCommand(store, id, policy, meta('2001-01-01T00:00:00.000Z'), RELEASE_AGGREGATE)) as { result: { operationId: string } };
    const failedAt = '2001-01-01T00:01:00.000Z';
    await handleCommand(store, id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: installed.result.operationId, outcome: 'FAILED', error: 'boom' } }, meta(failedAt), RELEASE_AGGREGATE);
    await readModel.catchUp(store, id);
    expect((await readModel.get(id))?.retry).toEqual({ revision: 1, attempt: 1, notBefore: '2001-01-01T00:02:00.000Z' });
    const retries = () => commands.map((c) => c.json() as { type: string; data: { releaseId: string; revision: number } }).filter((c) => c.type.endsWith('retry-operation'));
    expect(await watchdog.retries(new Date('2001-01-01T00:01:59.000Z'))).toBe(0);
    expect(await watchdog.retries(new Date('2001-01-01T00:02:00.000Z'))).toBe(1);
    await waitFor(() => retries().length >= 1, { what: 'the retry command' });
    expect(retries().map((r) => r.data)).toEqual([{ releaseId: id, revision: 1, trigger: 'AUTOMATIC' }]);
    // Taken: the retry's install is pending, and nothing is scheduled any more.
    await handleCommand(store, id, { type: 'RetryOperation', data: { releaseId: id, revision: 1, trigger: 'AUTOMATIC' } }, meta('2001-01-01T00:02:01.000Z'), RELEASE_AGGREGATE);
    await readModel.catchUp(store, id);
    expect((await readModel.get(id))?.retry).toBeNull();
    expect(await watchdog.retries(new Date('2001-01-01T00:05:00.000Z'))).toBe(0);
  });
});
