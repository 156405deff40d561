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
  });
  await connection.asPromise();
  return connection;
};
