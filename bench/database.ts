/**
 * The database of a benchmark that measures the event store directly (no apps): its own database on the
 * server of MONGODB_URI, so runs never see each other's documents. Apart from support.ts so that the
 * summary, which imports support.ts, does not load mongoose and the libs.
 */
import { randomUUID } from 'node:crypto';
import mongoose, { Connection } from 'mongoose';
import { MongoEventStore } from '@app/event-store';
import { RELEASE_EVENT_SCHEMAS } from '@app/release-store';
import { dropDatabase } from './support';

/**
 * Runs `bench` on a new database named `<name>_<random>`, with the release event store's indexes in
 * place, and drops the database afterwards, whether `bench` succeeded or not.
 */
export const withBenchDatabase = async (name: string, bench: (db: { uri: string; connection: Connection; store: MongoEventStore }) => Promise<void>): Promise<void> => {
  const uri = new URL(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:37017/x');
  uri.pathname = `/${name}_${randomUUID().slice(0, 8)}`;
  const connection = await mongoose.createConnection(uri.toString(), { autoIndex: false }).asPromise();
  try {
    const store = new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS });
    await store.ensureIndexes();
    await bench({ uri: uri.toString(), connection, store });
  } finally {
    await dropDatabase(connection);
    await connection.close();
  }
};
