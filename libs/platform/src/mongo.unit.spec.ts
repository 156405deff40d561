import { EventEmitter } from 'node:events';
import type { Connection } from 'mongoose';
import { watchMonitoring } from './mongo';

// Glue only: the driver's heartbeat events stand in as an EventEmitter. That the real driver reports
// heartbeats often enough is checked against the real server in mongo.int.spec.ts.
describe('watchMonitoring', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const fake = () => {
    const client = new EventEmitter();
    return { client, connection: { getClient: () => client } as unknown as Connection };
  };

  it('stays quiet while heartbeats start and finish, and reports a heartbeat that never finishes', () => {
    const { client, connection } = fake();
    const stalled: number[] = [];
    const stop = watchMonitoring(connection, (ms) => stalled.push(ms), 20_000);
    for (let s = 0; s < 60; s += 5) {
      client.emit('serverHeartbeatStarted', {});
      jest.advanceTimersByTime(2_000);
      client.emit(s % 10 ? 'serverHeartbeatFailed' : 'serverHeartbeatSucceeded', {});
      jest.advanceTimersByTime(3_000);
    }
    expect(stalled).toEqual([]);
    // As seen after a database restart under load: a heartbeat starts and nothing follows.
    client.emit('serverHeartbeatStarted', {});
    jest.advanceTimersByTime(19_000);
    expect(stalled).toEqual([]);
    jest.advanceTimersByTime(3_000);
    expect(stalled.length).toBeGreaterThan(0);
    expect(stalled[0]).toBeGreaterThan(20_000);
    stop();
    expect(client.listenerCount('serverHeartbeatStarted')).toBe(0);
  });
});
