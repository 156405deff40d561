import { Consumer, Kafka, KafkaMessage, logLevel, Partitioners, Producer } from 'kafkajs';
import { AppConfig, topicName } from '@app/platform';
import { uniqueSuffix, waitFor } from './servers';

export interface Captured {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer | null;
  headers: KafkaMessage['headers'];
  /** The record's timestamp: when its producer sent it (ms since the epoch), not when it was received. */
  timestamp: number;
  json: () => unknown;
}

/** Test-side Kafka: a producer playing "another service", and a consumer recording every message. */
export class KafkaProbe {
  readonly kafka: Kafka;
  readonly producer: Producer;
  private consumers: Consumer[] = [];

  constructor(private readonly config: AppConfig) {
    this.kafka = new Kafka({ clientId: 'test-probe', brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
    this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  }

  topic(name: string): string {
    return topicName(this.config, name);
  }

  async start(): Promise<void> {
    await this.producer.connect();
  }

  /** Records every message of the topics from the beginning, in arrival order. */
  async record(topics: string[]): Promise<Captured[]> {
    const captured: Captured[] = [];
    const consumer = this.kafka.consumer({ groupId: `probe-${uniqueSuffix()}` });
    this.consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: topics.map((t) => this.topic(t)), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        captured.push({
          topic,
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: message.value,
          headers: message.headers,
          timestamp: Number(message.timestamp),
          json: () => JSON.parse(message.value!.toString()),
        });
      },
    });
    return captured;
  }

  /**
   * Resolves once `captured` (a record() of `topic`) holds everything the topic held when this was called,
   * on every partition: the way to prove that nothing more arrived, without sleeping on it.
   */
  async caughtUp(captured: Captured[], topic: string, timeoutMs = 30_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const name = this.topic(topic);
      const ends = await admin.fetchTopicOffsets(name);
      await waitFor(
        () =>
          ends.every(({ partition, high, low }) => Number(high) === Number(low) || captured.some((c) => c.topic === name && c.partition === partition && c.offset >= Number(high) - 1)),
        { timeoutMs, what: `the records of ${name} up to its end offsets` },
      );
    } finally {
      await admin.disconnect();
    }
  }

  async send(topic: string, key: string, value: string | Buffer): Promise<void> {
    await this.producer.send({ topic: this.topic(topic), messages: [{ key, value }], acks: -1 });
  }

  /** Several messages in one request: on one partition, if given, they reach a consumer as one batch, in order. */
  async sendMany(topic: string, messages: Array<{ key: string; value: string | Buffer; partition?: number }>): Promise<void> {
    await this.producer.send({ topic: this.topic(topic), messages, acks: -1 });
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.consumers.map((c) => c.disconnect()));
    await this.producer.disconnect();
  }
}
