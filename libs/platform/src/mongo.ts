import mongoose, { Connection } from 'mongoose';
import { AppConfig } from './config';

/**
 * One connection per process. autoIndex is off: indexes are created explicitly at start with
 * `syncIndexes`, so a failure to build a unique index stops the app instead of passing silently.
 */
export const connectMongo = async (config: AppConfig): Promise<Connection> => {
  const connection = mongoose.createConnection(config.MONGODB_URI, {
    autoIndex: false,
    serverSelectionTimeoutMS: 10_000,
    maxPoolSize: 20,
    // Without a socket timeout a connection whose server went away mid-handshake waits forever, and the
    // driver's monitor is such a connection: after a database restart under load the service then never
    // reconnected (seen in the fault tier). Every call here takes well under a second.
    socketTimeoutMS: 30_000,
    heartbeatFrequencyMS: 5_000,
  });
  await connection.asPromise();
  return connection;
};
