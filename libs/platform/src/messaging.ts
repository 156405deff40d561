import type { KafkaOptions } from '@nestjs/microservices';
import { Transport } from '@nestjs/microservices';
import type { IHeaders, KafkaMessage, Message, Producer } from 'kafkajs';
import { logLevel } from 'kafkajs';
import type { Logger } from 'pino';
import { commandEvent, CommandContext, Topics, type ValuesCipher } from '@app/contracts';
import { SYSTEM_ONLY, type ReleaseCommand } from '@app/domain';
import { AppConfig, topicName } from './config';
import { CommandSigner, loadCommandSigner, SIGNATURE_HEADER } from './command-signing';
import { kafkaConnection } from './kafka';

/**
 * Options of a Nest Kafka microservice consuming this service's topics.
 * - keepBinary: handlers get the original bytes, so a bad message can be dead-lettered as it came;
 * - offsets are committed by KafkaJS only after the handler's promise settles, so a crash mid-handler
 *   means redelivery (handlers are idempotent), never loss;
 * - a new group starts from the beginning by default, so commands published before the first start are
 *   not lost (the executor opts out: a new executor must not replay old operations).
 */
/** A consumer's session and heartbeat: several heartbeats per session, so one late beat does not cost the partitions. */
export const consumerSession = (config: Pick<AppConfig, 'KAFKA_SESSION_TIMEOUT_MS'>) => ({
  sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
  heartbeatInterval: Math.min(3_000, Math.floor(config.KAFKA_SESSION_TIMEOUT_MS / 3)),
});

export const kafkaMicroserviceOptions = (
  config: AppConfig,
  logger: Logger,
  groupId: string,
  options: { partitionsConsumedConcurrently?: number; fromBeginning?: boolean; rebalanceTimeoutMs?: number } = {},
): KafkaOptions => ({
  transport: Transport.KAFKA,
  options: {
    postfixId: '',
    client: {
      clientId: `${config.KAFKA_CLIENT_ID}-${groupId}`,
      ...kafkaConnection(config),
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => {
        const { message, ...extra } = entry.log;
        logger[entry.level <= logLevel.ERROR ? 'error' : entry.level === logLevel.WARN ? 'warn' : 'info'](
          { component: 'kafkajs', kafka: { namespace: entry.namespace, ...extra } },
          message,
        );
      },
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5_000 },
    },
    consumer: {
      groupId: `${config.KAFKA_TOPIC_PREFIX}${groupId}`,
      allowAutoTopicCreation: false,
      ...consumerSession(config),
      ...(options.rebalanceTimeoutMs ? { rebalanceTimeout: options.rebalanceTimeoutMs } : {}),
    },
    subscribe: { fromBeginning: options.fromBeginning ?? true },
    run: { partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1 },
    parser: { keepBinary: true },
  },
});

/**
 * Messages in order, in chunks of at most `maxCount` messages and about `maxBytes` of values (a single
 * larger message is a chunk of its own): what one database round trip or one produce request takes.
 */
export function* messageChunks<M extends { value: Buffer | string | null }>(messages: M[], maxCount: number, maxBytes: number): Generator<M[]> {
  let chunk: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = message.value?.length ?? 0;
    if (chunk.length > 0 && (chunk.length >= maxCount || bytes + size > maxBytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

export const CLOUDEVENTS_JSON = 'application/cloudevents+json; charset=utf-8';

/** Sends CloudEvents in structured JSON mode, keyed, with acks from all in-sync replicas. */
export const sendEvents = async (
  producer: Producer,
  config: AppConfig,
  topic: string,
  events: OutgoingEvent[],
): Promise<void> => sendEventsToTopics(producer, config, [{ topic, events }]);

/** The topic a command travels on: the service's own (outcomes, expiries, reports) on the outcomes topic, the rest on the commands topic. */
export const commandTopic = (command: ReleaseCommand): typeof Topics.commands | typeof Topics.outcomes =>
  SYSTEM_ONLY.has(command.type) ? Topics.outcomes : Topics.commands;

/**
 * Sends release commands on their topic (commandTopic), each keyed by its release, so every service's
 * commands reach the release's partition the same way; sealed with `cipher` when given (values, error text).
 */
export const sendCommands = async (
  producer: Producer,
  config: AppConfig,
  commands: Array<{ command: ReleaseCommand; context: Omit<CommandContext, 'time'> }>,
  cipher?: ValuesCipher | null,
): Promise<void> => {
  const signer = await signerOf(config);
  const outgoing = await Promise.all(
    commands.map(async ({ command, context }) => {
      const event = commandEvent(command, context, cipher ?? undefined);
      // Signed as it will be sent: sendEventsToTopics serialises the same object the same way.
      const headers = signer ? { [SIGNATURE_HEADER]: await signer.sign(JSON.stringify(event)) } : undefined;
      return { topic: commandTopic(command), message: { key: command.data.releaseId, event, ...(headers ? { headers } : {}) } };
    }),
  );
  await sendEventsToTopics(
    producer,
    config,
    [Topics.commands, Topics.outcomes].map((topic) => ({ topic, events: outgoing.filter((o) => o.topic === topic).map((o) => o.message) })),
  );
};

const signers = new WeakMap<AppConfig, Promise<CommandSigner | undefined>>();

/** The app's command signer (KAFKA_SIGNING_KEY_FILE), read once per configuration. */
export const signerOf = (config: AppConfig): Promise<CommandSigner | undefined> => {
  let signer = signers.get(config);
  if (!signer) {
    signer = loadCommandSigner(config);
    signers.set(config, signer);
  }
  return signer;
};

export interface OutgoingEvent {
  key: string;
  event: object;
  headers?: IHeaders;
}

/** sendEvents to several topics in one request per broker (kafkajs sendBatch), all acknowledged together. */
export const sendEventsToTopics = async (
  producer: Producer,
  config: AppConfig,
  batches: Array<{ topic: string; events: OutgoingEvent[] }>,
): Promise<void> => {
  const topicMessages = batches
    .filter((b) => b.events.length > 0)
    .map(({ topic, events }) => ({
      topic: topicName(config, topic),
      messages: events.map(({ key, event, headers }): Message => ({
        key,
        value: JSON.stringify(event),
        headers: { 'content-type': CLOUDEVENTS_JSON, ...headers },
      })),
    }));
  if (topicMessages.length === 0) return;
  if (topicMessages.length === 1) await producer.send({ ...topicMessages[0], acks: -1 });
  else await producer.sendBatch({ topicMessages, acks: -1 });
};

/** Errors worth waiting out (the database or broker is away), as opposed to a message that cannot work. */
export const isTransientError = (error: unknown): boolean => {
  const e = error as { name?: string; retriable?: boolean; code?: string; errorLabels?: unknown } | null;
  if (!e) return false;
  if (e.retriable === true) return true;
  const name = e.name ?? '';
  return (
    /^Mongo(Network|ServerSelection|NotConnected|PoolCleared|NetworkTimeout|TopologyClosed)Error$/.test(name) ||
    /^KafkaJS(Connection|RequestTimeout|NumberOfRetriesExceeded|BrokerNotFound|LockTimeout)Error$/.test(name) ||
    name === 'ConcurrencyRetriesExhaustedError' ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(e.code ?? '')
  );
};

/**
 * Parks a message its consumer cannot use on a dead-letter topic: the original bytes unchanged, the reason
 * and origin in headers. Every consumer uses it, so every dead-letter topic reads the same way.
 */
export const deadLetter = async (
  producer: Producer,
  config: AppConfig,
  dlqTopic: string,
  message: Pick<KafkaMessage, 'key' | 'value' | 'offset'> & { topic?: string; partition?: number },
  reason: string,
  consumer: string,
): Promise<void> => {
  await producer.send({
    topic: topicName(config, dlqTopic),
    acks: -1,
    messages: [
      {
        key: message.key,
        value: message.value,
        headers: {
          'dlq-error': reason.slice(0, 4_000),
          'dlq-consumer': consumer,
          'dlq-original-topic': message.topic ?? '',
          'dlq-original-partition': String(message.partition ?? ''),
          'dlq-original-offset': message.offset,
          'dlq-at': new Date().toISOString(),
        },
      },
    ],
  });
};
