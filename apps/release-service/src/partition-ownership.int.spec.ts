import { Topics } from '@app/contracts';
import { KafkaProbe, testConfig, waitFor } from '@app/test-support';
import { PartitionOwnership } from './partition-ownership';

// The relay's idea of a stream's partition against the broker's: commands keyed by release id, sent as the
// api sends them, land on the partition the ownership says.
describe('PartitionOwnership on the real broker', () => {
  const config = testConfig();
  const probe = new KafkaProbe(config);
  afterAll(() => probe.stop());

  it('owns a stream on the instance that holds the partition its commands land on', async () => {
    const admin = probe.kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: probe.topic(Topics.commands), numPartitions: 6 }], waitForLeaders: true });
    await admin.disconnect();
    await probe.start();
    const captured = await probe.record([Topics.commands]);
    const streams = Array.from({ length: 120 }, (_, i) => `owned-${i}`);
    await probe.sendMany(Topics.commands, streams.map((key) => ({ key, value: '{}' })));
    await waitFor(() => captured.length === streams.length, { timeoutMs: 30_000, what: 'every keyed message back' });
    const byPartition = Array.from({ length: 6 }, (_, p) => {
      const ownership = new PartitionOwnership();
      ownership.assign([p], 6);
      return ownership;
    });
    for (const message of captured) {
      expect([message.key, byPartition.map((o) => o.owns(message.key!))]).toEqual([message.key, byPartition.map((_, p) => p === message.partition)]);
    }
    expect(new Set(captured.map((m) => m.partition)).size).toBe(6);
  });
});
