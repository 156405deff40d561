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
    // A monitoring check waits at most this plus heartbeatFrequencyMS: well under MONITOR_STALL_MS.
    connectTimeoutMS: 10_000,
  });
  await connection.asPromise();
  return connection;
};

/**
 * How long the driver's server monitoring may stay silent (no heartbeat started, succeeded or failed)
 * before it counts as stalled. Healthy monitoring reports a heartbeat at least every heartbeatFrequencyMS
 * (every 500 ms while the server is unreachable), and one check lasts at most connectTimeoutMS plus
 * heartbeatFrequencyMS.
 */
export const MONITOR_STALL_MS = 20_000;

/**
 * Calls `onStalled` when the MongoDB driver has stopped monitoring its server. The driver (6.20) sometimes
 * does after the server went away under load (reproduced with FerretDB restarted under 400 operations in
 * flight, in about one run out of four, with streaming and with polling monitors): after the pool is
 * cleared no heartbeat ever starts again, so it never sees the server back and every operation fails
 * server selection, while a fresh process connects at once. Returns a function that stops watching.
 */
export const watchMonitoring = (connection: Connection, onStalled: (silentMs: number) => void, stallMs = MONITOR_STALL_MS): (() => void) => {
  const client = connection.getClient();
  let last = Date.now();
  const heard = () => {
    last = Date.now();
  };
  const events = ['serverHeartbeatStarted', 'serverHeartbeatSucceeded', 'serverHeartbeatFailed'] as const;
  for (const event of events) client.on(event, heard);
  const timer = setInterval(() => {
    if (Date.now() - last > stallMs) onStalled(Date.now() - last);
  }, 1_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    for (const event of events) client.off(event, heard);
  };
};
