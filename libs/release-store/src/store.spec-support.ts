import type { CommandMetadata, ReleaseCommand } from '@app/domain';
import { MongoEventStore } from '@app/event-store';
import { testMongoUri, uniqueSuffix } from '@app/test-support';
import mongoose, { Connection } from 'mongoose';
import { RELEASE_EVENT_SCHEMAS } from './release-aggregate';
import { ReleaseReadModel } from './release-read-model';

/**
 * For an integration suite: a database of its own on the test run's MongoDB-wire server, with the release
 * event store and a read model on it (indexes made), dropped when the suite ends. The fields are set
 * once the suite's beforeAll has run.
 */
export const useStoreDatabase = (name: string): { connection: Connection; store: MongoEventStore; readModel: ReleaseReadModel } => {
  const db = {} as { connection: Connection; store: MongoEventStore; readModel: ReleaseReadModel };
  beforeAll(async () => {
    db.connection = await mongoose.createConnection(testMongoUri(`${name}_${uniqueSuffix()}`), { autoIndex: false }).asPromise();
    db.store = new MongoEventStore(db.connection, { schemas: RELEASE_EVENT_SCHEMAS });
    db.readModel = new ReleaseReadModel(db.connection);
    await db.store.ensureIndexes();
    await db.readModel.ensureIndexes();
  });
  afterAll(async () => {
    await db.connection?.dropDatabase();
    await db.connection?.close();
  });
  return db;
};

/** Command metadata for a suite: a fresh command id each time, now, and what `over` says. */
export const metadataMaker = () => {
  let n = 0;
  return (over: Partial<CommandMetadata> = {}): CommandMetadata => {
    n += 1;
    return { commandId: `c-${uniqueSuffix()}-${n}`, now: new Date().toISOString(), actor: 'tester', correlationId: `corr-${n}`, ...over };
  };
};

/** An install of chart web 1.0.0, with values whose keys Mongo would not store as keys. */
export const installCommand = (releaseId: string): ReleaseCommand => ({
  type: 'InstallRelease',
  data: { releaseId, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { 'a.b/c': 1, $weird: 'x' } },
});
