import { readFileSync } from 'node:fs';
import { Kafka, KafkaConfig, logLevel, LogEntry, Partitioners, Producer, ITopicConfig, Admin } from 'kafkajs';
import type { Logger } from 'pino';
import { AppConfig, topicName } from './config';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** KafkaJS logs through pino as JSON, like everything else (its own logger prints free text). */
const kafkaLogCreator = (logger: Logger) => () => (entry: LogEntry) => {
  const { message, ...extra } = entry.log;
  logger[levels[entry.level] ?? 'info']({ kafka: { namespace: entry.namespace, ...extra } }, message);
};

/**
 * How every client of a process reaches the brokers: TLS (certificates read from files) and SASL as
 * configured, nothing of either by default. The password is read here, never logged.
 */
export const kafkaConnection = (
  config: Pick<AppConfig, 'KAFKA_BROKERS' | 'KAFKA_SSL' | 'KAFKA_SSL_CA_FILE' | 'KAFKA_SSL_CERT_FILE' | 'KAFKA_SSL_KEY_FILE' | 'KAFKA_SASL_MECHANISM' | 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD' | 'KAFKA_SASL_PASSWORD_FILE'>,
): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> => {
  const file = (path: string) => readFileSync(path, 'utf8');
  const ssl = config.KAFKA_SSL
    ? config.KAFKA_SSL_CA_FILE || config.KAFKA_SSL_CERT_FILE
      ? {
          ...(config.KAFKA_SSL_CA_FILE ? { ca: [file(config.KAFKA_SSL_CA_FILE)] } : {}),
          ...(config.KAFKA_SSL_CERT_FILE && config.KAFKA_SSL_KEY_FILE ? { cert: file(config.KAFKA_SSL_CERT_FILE), key: file(config.KAFKA_SSL_KEY_FILE) } : {}),
        }
      : true
    : undefined;
  const mechanism = config.KAFKA_SASL_MECHANISM;
  const sasl = mechanism
    ? { mechanism, username: config.KAFKA_SASL_USERNAME ?? '', password: config.KAFKA_SASL_PASSWORD ?? file(config.KAFKA_SASL_PASSWORD_FILE!).trim() }
    : undefined;
  return { brokers: config.KAFKA_BROKERS, ...(ssl ? { ssl } : {}), ...(sasl ? { sasl } : {}) } as Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>;
};

export const createKafka = (config: AppConfig, logger: Logger, clientSuffix: string): Kafka =>
  new Kafka({
    clientId: `${config.KAFKA_CLIENT_ID}-${clientSuffix}`,
    ...kafkaConnection(config),
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger.child({ component: 'kafkajs' })),
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
  });

/**
 * The one producer of a process. One request in flight keeps per-key order through retries; a retried
 * send may still duplicate a record, which consumers absorb by deduplicating on event or command id.
 */
export const createProducer = (kafka: Kafka): Producer =>
  kafka.producer({
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });

/** Creates the service's topics if missing; harmless when they exist (several apps call it at start). */
export const ensureTopics = async (admin: Admin, config: AppConfig, topics: readonly string[]): Promise<void> => {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics
    .map((t) => topicName(config, t))
    .filter((t) => !existing.has(t))
    .map((topic) => ({
      topic,
      numPartitions: config.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: -1,
      configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
    }));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (error) {
    // Another app may have created the same topic between listTopics and createTopics.
    if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
  }
};
