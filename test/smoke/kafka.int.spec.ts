import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { testKafkaBrokers, uniqueSuffix, waitFor } from '@app/test-support';

// KafkaJS is unmaintained: these checks pin that it still works against the broker version we provision.
describe('kafkajs against the provisioned broker', () => {
  const kafka = new Kafka({ clientId: 'smoke', brokers: testKafkaBrokers(), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  const topic = `smoke.${uniqueSuffix()}`;

  beforeAll(async () => {
    await admin.connect();
    await producer.connect();
  });
  afterAll(async () => {
    await producer.disconnect();
    await admin.disconnect();
  });

  it('creates a topic with the admin client', async () => {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0].partitions).toHaveLength(3);
  });

  it('produces keyed messages and consumes them in a consumer group, in order per key', async () => {
    const messages = Array.from({ length: 30 }, (_, i) => ({ key: `release-${i % 3}`, value: JSON.stringify({ i }) }));
    await producer.send({ topic, messages, acks: -1 });
    const consumer = kafka.consumer({ groupId: `smoke-${uniqueSuffix()}` });
    const seen: Array<{ key: string; i: number; partition: number }> = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        seen.push({ key: message.key!.toString(), i: JSON.parse(message.value!.toString()).i, partition });
      },
    });
    await waitFor(() => seen.length >= 30, { what: '30 messages', timeoutMs: 30_000 });
    await consumer.disconnect();
    expect(seen).toHaveLength(30);
    for (const key of ['release-0', 'release-1', 'release-2']) {
      const ofKey = seen.filter((s) => s.key === key);
      expect(ofKey.map((s) => s.i)).toEqual([...ofKey.map((s) => s.i)].sort((a, b) => a - b));
      expect(new Set(ofKey.map((s) => s.partition)).size).toBe(1);
    }
  });

  it('commits the group offset of every processed message', async () => {
    const groupId = `resume-${uniqueSuffix()}`;
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0].partitions.every((p) => p.offset === '-1')).toBe(true);
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    // The service commits after each processed message; so does this consumer.
    await consumer.run({ autoCommitThreshold: 1, eachMessage: async () => undefined });
    const committedTotal = async () =>
      (await admin.fetchOffsets({ groupId, topics: [topic] }))[0].partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    await waitFor(async () => (await committedTotal()) === 30, { what: 'offsets of all 30 messages committed' });
    await consumer.disconnect();
    expect(await committedTotal()).toBe(30);
  });

  it('deletes the topic', async () => {
    expect(await admin.listTopics()).toContain(topic);
    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    await waitFor(async () => !(await admin.listTopics()).includes(topic), { what: 'topic deletion' });
    expect(await admin.listTopics()).not.toContain(topic);
  });
});
