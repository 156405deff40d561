/**
 * What the benchmarks that run the built apps share: a run's config, topics and clients (`openRun`),
 * commands sent over Kafka and their decisions awaited (`decideAll`), and the clean-up of a run's
 * topics, groups and database. Sizes common to them: BENCH_PARTITIONS, BENCH_PHASE_TIMEOUT_S.
 */
import { randomUUID } from 'node:crypto';
import { ITopicConfig, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import mongoose from 'mongoose';
import { commandEvent, Topics } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { AppConfig, commandTopic, loadConfig, topicName } from '@app/platform';
import { envOf, RunningApp, startApp, testMongoUri } from '@app/test-support';
import { DecisionMessage, DecisionRecorder, sendAll } from './kafka-support';
import { dropDatabase, now, sizeFrom } from './support';

/** The service's default KAFKA_TOPIC_PARTITIONS; the baselines get the same. */
export const PARTITIONS = sizeFrom('BENCH_PARTITIONS', 6);
/** How long one phase may wait for its decisions before the run is declared failed. */
const PHASE_TIMEOUT_MS = sizeFrom('BENCH_PHASE_TIMEOUT_S', 600) * 1000;
export const OPERATOR = 'bench-operator-token-0123456789';

export const releaseId = (i: number) => `r-${i}`;

export interface Bench {
  config: AppConfig;
  kafka: Kafka;
  producer: Producer;
  results: DecisionRecorder;
  topic: (name: string) => string;
}

/** Creates topics with the partition count and settings the apps give theirs (see ensureTopics). */
export const createTopics = async (kafka: Kafka, names: string[]): Promise<void> => {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics: ITopicConfig[] = names.map((topic) => ({
      topic,
      numPartitions: PARTITIONS,
      replicationFactor: -1,
      configEntries: [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
    }));
    await admin.createTopics({ topics, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
};

/** The producer settings of the apps (libs/platform createProducer): one request in flight, acks from all. */
export const appLikeProducer = (kafka: Kafka): Producer =>
  kafka.producer({ maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });

/** The bench's Kafka sources: its commands as a granted sender, its operation outcomes as the executor. */
const SOURCE = 'urn:bench';
const EXECUTOR_SOURCE = 'urn:bench:executor';

export const commandMessage = (command: ReleaseCommand, id: string) => ({
  key: command.data.releaseId,
  value: JSON.stringify(
    commandEvent(command, { id, source: command.type === 'RecordOperationResult' ? EXECUTOR_SOURCE : SOURCE, actor: 'bench', correlationId: id }),
  ),
});

/**
 * Publishes commands as fast as the broker takes them and waits for every decision. Returns the time
 * from the first send to the last decision, and the decisions in command order. Anything but ACCEPTED
 * is counted, so a run that measured rejections cannot pass for a fast one.
 */
export const decideAll = async (b: Bench, commands: ReleaseCommand[], what: string) => {
  const ids = commands.map(() => randomUUID());
  const answered = b.results.allAnswered(ids, PHASE_TIMEOUT_MS, what);
  const start = now();
  // Together: a timeout while the sends still wait must not be an unhandled rejection.
  // Every phase is one kind of command, so one topic (the outcomes topic for outcomes).
  const topic = b.topic(commandTopic(commands[0]));
  const [, at] = await Promise.all([sendAll(b.producer, topic, commands.map((c, i) => commandMessage(c, ids[i]))), answered]);
  const ms = at - start;
  const decisions = ids.map((id) => b.results.get(id)!);
  const refused = decisions.filter((d) => d.outcome !== 'ACCEPTED');
  if (refused.length) {
    const codes = [...new Set(refused.map((d) => d.error?.code ?? d.outcome))].join(', ');
    console.error(`\n!!! ${what}: ${refused.length} of ${commands.length} commands were not ACCEPTED (${codes}); first: ${JSON.stringify(refused[0])}\n`);
  }
  console.log(`${what}: ${commands.length} decided in ${Math.round(ms)} ms (${Math.round((commands.length / ms) * 1000)}/s)`);
  return { ms, decisions, refused: refused.length };
};

/** Reports the pending operation of releases `indices` (all by default) SUCCEEDED, as the executor would. */
export const completeAll = (b: Bench, decisions: DecisionMessage[], helmRevision: number, what: string, indices = range(decisions.length)) =>
  decideAll(
    b,
    indices.map((i) => ({
      type: 'RecordOperationResult',
      data: { releaseId: releaseId(i), operationId: decisions[i].decision!.operationId!, outcome: 'SUCCEEDED', helmRevision },
    })),
    what,
  );

export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** Starts a built app, once more after a failure: dist/ may be mid-rebuild when the first try reads it. */
export const startBuilt = async (name: 'api' | 'release-service', env: Record<string, string>): Promise<RunningApp> => {
  try {
    return await startApp(name, env);
  } catch (error) {
    console.error(`${name} did not start (${(error as Error).message.split('\n')[0]}); retrying once`);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    return startApp(name, env);
  }
};

/** Deletes this run's topics and consumer groups (all under its prefix). */
export const deleteKafkaLeftovers = async (b: Bench): Promise<void> => {
  const admin = b.kafka.admin();
  await admin.connect();
  try {
    const prefix = b.config.KAFKA_TOPIC_PREFIX;
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length) await admin.deleteGroups(groups);
  } finally {
    await admin.disconnect();
  }
};

/** Every step is tried, whatever failed before it (a broker restarted mid-run, say), and a failure said. */
export const cleanUp = async (b: Bench, apps: RunningApp[]): Promise<void> => {
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['stop the apps', async () => {
      const codes = await Promise.all(apps.map((a) => a.stop()));
      codes.forEach((code, i) => code !== 0 && console.error(`${apps[i].name} exited with ${code} on SIGTERM`));
    }],
    ['disconnect', () => Promise.allSettled([b.results.stop(), b.producer.disconnect()])],
    ['delete the topics and groups', () => deleteKafkaLeftovers(b)],
    ['drop the database', () => dropDatabase(mongoose.connection)],
    ['disconnect from the database', () => mongoose.disconnect()],
  ];
  for (const [what, step] of steps) {
    await step().catch((error: unknown) => console.error(`clean-up: could not ${what} (prefix ${b.config.KAFKA_TOPIC_PREFIX}): ${String(error)}`));
  }
};

/**
 * A run's config (its own topic prefix and database, `settings` on top) and clients, connected; the apps
 * named are started from dist/ with that config and `appEnv`.
 */
export const openRun = async (database: string, settings: Record<string, string>, appNames: Array<'api' | 'release-service'>, appEnv: Record<string, string>): Promise<{ b: Bench; apps: RunningApp[] }> => {
  const suffix = randomUUID().slice(0, 8);
  const config = loadConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:39092',
    KAFKA_TOPIC_PREFIX: `bench${suffix}.`,
    KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
    MONGODB_URI: testMongoUri(`${database}_${suffix}`),
    AUTH_TOKENS: `operator:bench:${OPERATOR}`,
    REQUEST_TIMEOUT_MS: '60000',
    CHART_REPOSITORIES: 'http://127.0.0.1:*',
    // Commands authorised as any granted sender's are (not trusted as the system's), outcomes as the executor's.
    AUTH_GRANTS: JSON.stringify([{ source: SOURCE, role: 'deployer' }]),
    KAFKA_SYSTEM_SOURCES: `urn:helm-rollback-service:*,${EXECUTOR_SOURCE}`,
    ...settings,
  });
  const kafka = new Kafka({ clientId: 'bench', brokers: config.KAFKA_BROKERS, logLevel: logLevel.NOTHING });
  const b: Bench = {
    config,
    kafka,
    producer: kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner }),
    results: new DecisionRecorder(kafka, topicName(config, Topics.commandResults), `${config.KAFKA_TOPIC_PREFIX}bench-results`),
    topic: (name) => topicName(config, name),
  };
  await mongoose.connect(config.MONGODB_URI, { autoIndex: false });
  const apps: RunningApp[] = [];
  try {
    for (const name of appNames) apps.push(await startBuilt(name, envOf(config, appEnv)));
    await Promise.all([b.producer.connect(), b.results.start()]);
  } catch (error) {
    for (const app of apps) console.error(`--- ${app.name} output (last lines) ---\n${app.output().slice(-3000)}`);
    await cleanUp(b, apps);
    throw error;
  }
  return { b, apps };
};
