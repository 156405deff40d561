import { testMongoUri, uniqueSuffix, waitFor } from '@app/test-support';
import { AppConfig } from './config';
import { connectMongo, MONITOR_STALL_MS, watchMonitoring } from './mongo';

// The stall watch rests on the driver reporting a heartbeat at least every few seconds while all is well:
// checked against the real MongoDB-wire server, with the options every app uses.
describe('MongoDB monitoring of a healthy server', () => {
  it('reports heartbeats far more often than the stall limit', async () => {
    const connection = await connectMongo({ MONGODB_URI: testMongoUri(`monitor_${uniqueSuffix()}`) } as AppConfig);
    const gaps: number[] = [];
    let last = Date.now();
    const client = connection.getClient();
    const heard = () => {
      gaps.push(Date.now() - last);
      last = Date.now();
    };
    client.on('serverHeartbeatSucceeded', heard);
    const stalled: number[] = [];
    const stop = watchMonitoring(connection, (ms) => stalled.push(ms), 8_000);
    try {
      // Past the watch's 8 s limit: the third heartbeat after the start, whatever their pace.
      await waitFor(() => gaps.length >= 3 && gaps.reduce((a, b) => a + b, 0) > 8_000, { timeoutMs: 25_000, intervalMs: 200, what: 'heartbeats past the stall limit' });
      expect(stalled).toEqual([]);
      expect(Math.max(...gaps)).toBeLessThan(MONITOR_STALL_MS / 2);
    } finally {
      stop();
      client.off('serverHeartbeatSucceeded', heard);
      await connection.close();
    }
  }, 30_000);
});
