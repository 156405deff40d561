/**
 * The release-service and API as they run in production (built apps, own processes, real broker and
 * database), against raw baselines measured in the same run (issue 9):
 * - rollback commands decided and stored per second by one release-service instance over BENCH_RELEASES
 *   releases, vs a plain kafkajs consumer group that inserts one commit-sized document and produces one
 *   result-sized message per message: goal >= 0.5x;
 * - POST /rollback p99 at a steady rate, vs a raw Kafka request/reply round trip at the same rate: <= 5x;
 * - resident memory of each app under the throughput run (reported, no goal).
 *
 * Untimed set-up: every release is installed, upgraded and both operations reported SUCCEEDED through
 * command messages, so each can be rolled back to revision 1.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Consumer, ITopicConfig, Kafka, KafkaMessage, logLevel, Partitioners, Producer } from 'kafkajs';
import mongoose from 'mongoose';
import { commandEvent, Topics } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { AppConfig, commandTopic, loadConfig, topicName } from '@app/platform';
import { envOf, RunningApp, startApp, testMongoUri } from '@app/test-support';
import { atSteadyRate, CpuMeter, DecisionMessage, DecisionRecorder, localServers, RawRequester, RssSampler, sendAll, single } from './kafka-support';
import { dropDatabase, Figure, figure, now, percentile, report, reportOnly, sizeFrom } from './support';

// The size. Most of this benchmark's time is the untimed seeding (four commands per release
// through the service): about 2 minutes on 2 cores with FerretDB on PostgreSQL, 7 on SQLite.
const RELEASES = sizeFrom('BENCH_RELEASES', 1000);
/** The service's default KAFKA_TOPIC_PARTITIONS; the baselines get the same. */
const PARTITIONS = sizeFrom('BENCH_PARTITIONS', 6);
/** PARTITIONS_CONCURRENTLY of apps/release-service/src/command-consumer.ts, given to the baseline's consumer too. */
const SERVICE_CONCURRENCY = 3;
/** Well under the service's throughput at the default size, so the p99 is latency, not a growing queue. */
const RATE = sizeFrom('BENCH_RATE', 5);
const WARMUP = 10;
const REQUESTS = Math.min(sizeFrom('BENCH_REQUESTS', 200), RELEASES - WARMUP);
/** How long one phase may wait for its decisions before the run is declared failed. */
const PHASE_TIMEOUT_MS = sizeFrom('BENCH_PHASE_TIMEOUT_S', 600) * 1000;
const OPERATOR = 'bench-operator-token-0123456789';

const releaseId = (i: number) => `r-${i}`;
const chart = { name: 'web', repository: 'http://127.0.0.1:1' };

interface Bench {
  config: AppConfig;
  kafka: Kafka;
  producer: Producer;
  results: DecisionRecorder;
  topic: (name: string) => string;
}

/** Creates topics with the partition count and settings the apps give theirs (see ensureTopics). */
const createTopics = async (kafka: Kafka, names: string[]): Promise<void> => {
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
const appLikeProducer = (kafka: Kafka): Producer =>
  kafka.producer({ maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });

const commandMessage = (command: ReleaseCommand, id: string) => ({
  key: command.data.releaseId,
  value: JSON.stringify(commandEvent(command, { id, source: 'urn:bench', actor: 'bench', correlationId: id })),
});

/**
 * Publishes commands as fast as the broker takes them and waits for every decision. Returns the time
 * from the first send to the last decision, and the decisions in command order. Anything but ACCEPTED
 * is counted, so a run that measured rejections cannot pass for a fast one.
 */
const decideAll = async (b: Bench, commands: ReleaseCommand[], what: string) => {
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
const completeAll = (b: Bench, decisions: DecisionMessage[], helmRevision: number, what: string, indices = range(decisions.length)) =>
  decideAll(
    b,
    indices.map((i) => ({
      type: 'RecordOperationResult',
      data: { releaseId: releaseId(i), operationId: decisions[i].decision!.operationId!, outcome: 'SUCCEEDED', helmRevision },
    })),
    what,
  );

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Untimed: every release at revision 2 (install 1.0.0, upgrade 1.1.0, both deployed), idle. */
const seed = async (b: Bench): Promise<string> => {
  const installed = await decideAll(
    b,
    range(RELEASES).map((i) => ({ type: 'InstallRelease', data: { releaseId: releaseId(i), namespace: 'apps', chart, chartVersion: '1.0.0', values: { replicas: 1, image: { tag: '1.0.0' }, index: i } } })),
    'seed: install',
  );
  const deployed = await completeAll(b, installed.decisions, 1, 'seed: install succeeded');
  const upgraded = await decideAll(
    b,
    range(RELEASES).map((i) => ({ type: 'UpgradeRelease', data: { releaseId: releaseId(i), chartVersion: '1.1.0', values: { replicas: 2, image: { tag: '1.1.0' }, index: i } } })),
    'seed: upgrade',
  );
  const upgradeDeployed = await completeAll(b, upgraded.decisions, 2, 'seed: upgrade succeeded');
  const phases = [installed, deployed, upgraded, upgradeDeployed];
  if (phases.some((p) => p.refused)) throw new Error('seeding failed: see the refusals above');
  return `seeding over Kafka, commands/s: ${phases.map((p) => Math.round((RELEASES / p.ms) * 1000)).join(', ')} (install, result, upgrade, result)`;
};

/**
 * Runs a baseline's stand-in for the release service on the requests topic: from the beginning, as many
 * partitions at once as the service consumes, `handle` given each request's id.
 */
const serveRequests = async (consumer: Consumer, requests: string, handle: (id: string, message: KafkaMessage) => Promise<void>): Promise<void> => {
  await consumer.subscribe({ topic: requests, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: SERVICE_CONCURRENCY,
    eachMessage: async ({ message }) => handle((JSON.parse(message.value!.toString()) as { id: string }).id, message),
  });
};

/**
 * The raw baseline of the throughput figure: a kafkajs consumer group with the service's partition count
 * and concurrency; per message one insert of a real commit's size and one result of a real result's size.
 */
const rawThroughput = async (b: Bench, commitTemplate: Record<string, unknown>, requestTemplate: string, resultTemplate: string): Promise<number> => {
  const requests = b.topic('bench.raw.requests');
  const replies = b.topic('bench.raw.results');
  await createTopics(b.kafka, [requests, replies]);
  const collection = mongoose.connection.collection('bench_raw_commits');
  const recorder = new DecisionRecorder(b.kafka, replies, `${b.config.KAFKA_TOPIC_PREFIX}bench-raw-results`);
  const worker = b.kafka.consumer({ groupId: `${b.config.KAFKA_TOPIC_PREFIX}bench-raw-worker`, allowAutoTopicCreation: false });
  const workerProducer = appLikeProducer(b.kafka);
  await Promise.all([recorder.start(), workerProducer.connect(), worker.connect()]);
  try {
    await serveRequests(worker, requests, async (id, message) => {
      await collection.insertOne({ ...commitTemplate, _id: `${id}@0000000001` as never, pos: new mongoose.Types.ObjectId(), commandId: id });
      await workerProducer.send({ topic: replies, messages: [{ key: message.key, value: withCommandId(resultTemplate, id) }], acks: -1 });
    });
    const ids = range(RELEASES).map(() => randomUUID());
    const answered = recorder.allAnswered(ids, PHASE_TIMEOUT_MS, 'raw baseline');
    const start = now();
    const [, at] = await Promise.all([sendAll(b.producer, requests, ids.map((id, i) => ({ key: releaseId(i), value: withCommandId(requestTemplate, id, 'id') }))), answered]);
    const ms = at - start;
    console.log(`raw baseline: ${RELEASES} consumed, inserted and answered in ${Math.round(ms)} ms`);
    return (RELEASES / ms) * 1000;
  } finally {
    await Promise.allSettled([worker.disconnect(), recorder.stop(), workerProducer.disconnect()]);
  }
};

/** A real message with its command id replaced: the same shape and (with a UUID for a UUID) the same size. */
const withCommandId = (template: string, id: string, field: 'id' | 'commandId' = 'commandId'): string => {
  const message = JSON.parse(template) as { id: string; data: { commandId?: string } };
  return JSON.stringify(field === 'id' ? { ...message, id } : { ...message, data: { ...message.data, commandId: id } });
};

/** POST /rollback for one release; the round trip in ms, or an error naming the answer. */
const postRollback = async (api: RunningApp, release: string, targetRevision: number): Promise<number> => {
  const start = now();
  const res = await fetch(`${api.url}/api/v1/helm/releases/${release}/rollback`, {
    method: 'POST',
    headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' },
    body: JSON.stringify({ targetRevision, reason: 'bench' }),
  });
  const body = await res.text();
  const ms = now() - start;
  if (res.status !== 202) throw new Error(`POST rollback of ${release}: ${res.status} ${body}`);
  return ms;
};

/** The raw baseline of the latency figure: an echo consumer and a requester, at the same rate. */
const rawRoundTrips = async (b: Bench, requestTemplate: string, resultTemplate: string): Promise<number[]> => {
  const requests = b.topic('bench.rr.requests');
  const replies = b.topic('bench.rr.replies');
  await createTopics(b.kafka, [requests, replies]);
  const echo = b.kafka.consumer({ groupId: `${b.config.KAFKA_TOPIC_PREFIX}bench-rr-echo`, allowAutoTopicCreation: false });
  const echoProducer = appLikeProducer(b.kafka);
  const requester = new RawRequester(b.kafka, b.producer, requests, replies, `${b.config.KAFKA_TOPIC_PREFIX}bench-rr-client`);
  await Promise.all([echo.connect(), echoProducer.connect()]);
  try {
    await serveRequests(echo, requests, async (id, message) => {
      await echoProducer.send({ topic: replies, messages: [{ key: message.key, value: withCommandId(resultTemplate, id) }], acks: -1 });
    });
    await requester.start();
    const trip = (i: number) => {
      const id = randomUUID();
      return requester.roundTrip(id, releaseId(i), withCommandId(requestTemplate, id, 'id'));
    };
    await atSteadyRate(WARMUP, RATE, trip);
    return await atSteadyRate(REQUESTS, RATE, trip);
  } finally {
    await Promise.allSettled([echo.disconnect(), requester.stop(), echoProducer.disconnect()]);
  }
};

/** Starts a built app, once more after a failure: dist/ may be mid-rebuild when the first try reads it. */
const startBuilt = async (name: 'api' | 'release-service', env: Record<string, string>): Promise<RunningApp> => {
  try {
    return await startApp(name, env);
  } catch (error) {
    console.error(`${name} did not start (${(error as Error).message.split('\n')[0]}); retrying once`);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    return startApp(name, env);
  }
};

/** Deletes this run's topics and consumer groups (all under its prefix). */
const deleteKafkaLeftovers = async (b: Bench): Promise<void> => {
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
const cleanUp = async (b: Bench, apps: RunningApp[]): Promise<void> => {
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

async function main(): Promise<void> {
  const suffix = randomUUID().slice(0, 8);
  const config = loadConfig({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:39092',
    KAFKA_TOPIC_PREFIX: `bench${suffix}.`,
    KAFKA_TOPIC_PARTITIONS: String(PARTITIONS),
    MONGODB_URI: testMongoUri(`bench_tp_${suffix}`),
    AUTH_TOKENS: `operator:bench:${OPERATOR}`,
    REQUEST_TIMEOUT_MS: '60000',
    CHART_REPOSITORIES: 'http://127.0.0.1:*',
  });
  // The production default level (info: one line per decision); BENCH_APP_LOG_LEVEL to compare.
  // BENCH_CPU_PROF_DIR: write a V8 CPU profile of each app there when it stops (see cpu-profile.mjs).
  const extra: Record<string, string> = { LOG_LEVEL: process.env.BENCH_APP_LOG_LEVEL ?? 'info' };
  if (process.env.BENCH_APP_NODE_OPTIONS) extra.NODE_OPTIONS = process.env.BENCH_APP_NODE_OPTIONS;
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  if (profileDir) Object.assign(extra, { BENCH_CPU_PROF_DIR: profileDir, NODE_OPTIONS: `--import ${join(__dirname, 'cpu-profile.mjs')}` });
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
    apps.push(await startBuilt('release-service', envOf(config, extra)));
    apps.push(await startBuilt('api', envOf(config, extra)));
    await Promise.all([b.producer.connect(), b.results.start()]);
    const seeded = await seed(b);

    // Timed: one rollback per release, all at once; until every decision is on the results topic.
    const appProcesses = apps.map((a) => ({ name: a.name, pid: a.process.pid! }));
    const self = single('bench', process.pid);
    const servers = localServers(config.MONGODB_URI);
    const memory = new RssSampler(appProcesses);
    const cpu = new CpuMeter([...appProcesses.map((a) => single(a.name, a.pid)), ...servers.groups, self]);
    memory.start();
    cpu.start();
    const rolledBack = await decideAll(b, range(RELEASES).map((i) => ({ type: 'RollbackRelease', data: { releaseId: releaseId(i), targetRevision: 1 } })), 'timed: rollback');
    const cpuOurs = cpu.stop(RELEASES);
    const rss = memory.stop();
    const resultTemplate = b.results.lastRaw;
    const oursPerSecond = (RELEASES / rolledBack.ms) * 1000;

    const commitTemplate = await mongoose.connection.collection('commits').findOne({ commandType: 'RollbackRelease' });
    if (!commitTemplate) throw new Error('no rollback commit in the service database');
    const requestTemplate = commandMessage({ type: 'RollbackRelease', data: { releaseId: releaseId(0), targetRevision: 1 } }, randomUUID()).value;
    const rawCpu = new CpuMeter([...servers.groups, self]);
    rawCpu.start();
    const rawPerSecond = await rawThroughput(b, commitTemplate, requestTemplate, resultTemplate);
    const cpuRaw = rawCpu.stop(RELEASES);

    // Latency: the releases it uses idle again (their rollbacks reported), then POST at a steady rate,
    // one release per request; the first WARMUP requests (releases at the end of the range) are not counted.
    const warmups = range(WARMUP).map((i) => RELEASES - 1 - i);
    await completeAll(b, rolledBack.decisions, 3, 'untimed: rollback succeeded', [...range(REQUESTS), ...warmups]);
    const api = apps[1];
    await atSteadyRate(WARMUP, RATE, (i) => postRollback(api, releaseId(warmups[i]), 2));
    const ours = await atSteadyRate(REQUESTS, RATE, (i) => postRollback(api, releaseId(i), 2));
    const raw = await rawRoundTrips(b, requestTemplate, resultTemplate);

    const p = (values: number[], q: number) => Math.round(percentile(values, q) * 10) / 10;
    const figures: Figure[] = [
      figure({
        figure: `rollback commands decided and stored, ${RELEASES} releases, 1 release-service (commands/s)`,
        ours: oursPerSecond,
        baseline: rawPerSecond,
        unit: '/s',
        higherIsBetter: true,
        goalValue: 0.5,
        goal: '>= 0.5x',
        note:
          `${servers.database}; ${PARTITIONS} partitions, ${SERVICE_CONCURRENCY} consumed concurrently on both sides; ${rolledBack.refused} not ACCEPTED; ${seeded}; ` +
          `CPU ms per command: ${cpuOurs}; raw (worker in the bench process, with set-up): ${cpuRaw}`,
      }),
      figure({
        figure: `POST rollback p99 at ${RATE}/s, ${REQUESTS} requests (ms)`,
        ours: percentile(ours, 99),
        baseline: percentile(raw, 99),
        unit: 'ms',
        higherIsBetter: false,
        goalValue: 5,
        goal: '<= 5x',
        note:
          `p50 ${p(ours, 50)} ms vs raw Kafka request/reply ${p(raw, 50)} ms; max ${p(ours, 100)} vs ${p(raw, 100)} ms` +
          (RATE > oursPerSecond ? `; OVERLOADED: ${RATE}/s is above the service's ${Math.round(oursPerSecond)}/s, so this is queueing` : ''),
      }),
      ...apps.flatMap((a) => [
        reportOnly({ figure: `${a.name} RSS under the throughput run, peak (MiB)`, ours: rss.get(a.name)?.peak ?? NaN, unit: 'MiB' }),
        reportOnly({ figure: `${a.name} RSS at the end of the throughput run (MiB)`, ours: rss.get(a.name)?.last ?? NaN, unit: 'MiB' }),
      ]),
    ];
    report('throughput', figures);
    if (rolledBack.refused) process.exitCode = 1;
  } catch (error) {
    for (const app of apps) console.error(`--- ${app.name} output (last lines) ---\n${app.output().slice(-3000)}`);
    throw error;
  } finally {
    await cleanUp(b, apps);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
