/**
 * The release-service and API as they run in production (built apps, own processes, real broker and
 * database), against raw baselines measured in the same run (issue 9):
 * - rollback commands decided and stored per second by one release-service instance over BENCH_RELEASES
 *   releases, vs a plain kafkajs consumer group that stores commit-sized documents and produces
 *   result-sized messages, batched as the service batches (one insertMany and one send per chunk): goal
 *   >= 0.7x (issue 22); and vs the same group one message at a time (one insert, one send): >= 0.5x;
 * - POST /rollback p99 at a steady rate, vs a raw Kafka request/reply round trip at the same rate: <= 5x;
 * - resident memory of each app under the throughput run (reported, no goal).
 *
 * Untimed set-up: every release is installed, upgraded and both operations reported SUCCEEDED through
 * command messages, so each can be rolled back to revision 1.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Consumer, KafkaMessage } from 'kafkajs';
import mongoose from 'mongoose';
import { atSteadyRate, CpuMeter, DecisionRecorder, localServers, RawRequester, RssSampler, sendAll, single } from './kafka-support';
import { appLikeProducer, Bench, cleanUp, commandMessage, completeAll, createTopics, decideAll, OPERATOR, openRun, PARTITIONS, range, releaseId } from './service-run';
import { Figure, figure, now, percentile, report, reportOnly, sizeFrom } from './support';
import type { RunningApp } from '@app/test-support';

// The size. Most of this benchmark's time is the untimed seeding (four commands per release
// through the service): about 2 minutes on 2 cores with FerretDB on PostgreSQL, 7 on SQLite.
const RELEASES = sizeFrom('BENCH_RELEASES', 1000);
/** PARTITIONS_CONCURRENTLY and CHUNK of apps/release-service/src/command-consumer.ts, given to the baselines too. */
const SERVICE_CONCURRENCY = 3;
const SERVICE_CHUNK = 200;
/** Well under the service's throughput at the default size, so the p99 is latency, not a growing queue. */
const RATE = sizeFrom('BENCH_RATE', 5);
const WARMUP = 10;
const REQUESTS = Math.min(sizeFrom('BENCH_REQUESTS', 200), RELEASES - WARMUP);
/** How long one phase may wait for its decisions before the run is declared failed. */
const PHASE_TIMEOUT_MS = sizeFrom('BENCH_PHASE_TIMEOUT_S', 600) * 1000;

const chart = { name: 'web', repository: 'http://127.0.0.1:1' };

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

/** The ids of a request message (its CloudEvent id) and a commit-sized document for it. */
const requestId = (message: KafkaMessage) => (JSON.parse(message.value!.toString()) as { id: string }).id;

/**
 * Runs a baseline's stand-in for the release service on the requests topic: from the beginning, as many
 * partitions at once as the service consumes, `handle` given each request's id.
 */
const serveRequests = async (consumer: Consumer, requests: string, handle: (id: string, message: KafkaMessage) => Promise<void>): Promise<void> => {
  await consumer.subscribe({ topic: requests, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: SERVICE_CONCURRENCY,
    eachMessage: async ({ message }) => handle(requestId(message), message),
  });
};

/**
 * The same stand-in batched as the service batches (command-consumer.ts): a fetch at a time, in chunks of
 * `SERVICE_CHUNK`, each chunk one insertMany and one send of all its results, its offset resolved after.
 */
const serveRequestBatches = async (consumer: Consumer, requests: string, handle: (chunk: Array<{ id: string; message: KafkaMessage }>) => Promise<void>): Promise<void> => {
  await consumer.subscribe({ topic: requests, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: SERVICE_CONCURRENCY,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      for (let i = 0; i < batch.messages.length; i += SERVICE_CHUNK) {
        const chunk = batch.messages.slice(i, i + SERVICE_CHUNK);
        await handle(chunk.map((message) => ({ id: requestId(message), message })));
        resolveOffset(chunk[chunk.length - 1].offset);
        await heartbeat();
      }
    },
  });
};

/**
 * The raw baselines of the throughput figure: a kafkajs consumer group with the service's partition count
 * and concurrency, storing one document of a real commit's size and answering one result of a real
 * result's size per request. `per-message`: one insert and one send per message; `batched`: the service's
 * own batching (one insertMany and one send per chunk), the fair comparison.
 */
const rawThroughput = async (b: Bench, mode: 'per-message' | 'batched', commitTemplate: Record<string, unknown>, requestTemplate: string, resultTemplate: string): Promise<number> => {
  const name = mode === 'batched' ? 'rawbatch' : 'raw';
  const requests = b.topic(`bench.${name}.requests`);
  const replies = b.topic(`bench.${name}.results`);
  await createTopics(b.kafka, [requests, replies]);
  const collection = mongoose.connection.collection(`bench_${name}_commits`);
  const recorder = new DecisionRecorder(b.kafka, replies, `${b.config.KAFKA_TOPIC_PREFIX}bench-${name}-results`);
  const worker = b.kafka.consumer({ groupId: `${b.config.KAFKA_TOPIC_PREFIX}bench-${name}-worker`, allowAutoTopicCreation: false });
  const workerProducer = appLikeProducer(b.kafka);
  await Promise.all([recorder.start(), workerProducer.connect(), worker.connect()]);
  const commitOf = (id: string) => ({ ...commitTemplate, _id: `${id}@0000000001` as never, pos: new mongoose.Types.ObjectId(), commandId: id });
  const resultOf = (id: string, message: KafkaMessage) => ({ key: message.key, value: withCommandId(resultTemplate, id) });
  try {
    if (mode === 'batched') {
      await serveRequestBatches(worker, requests, async (chunk) => {
        await collection.insertMany(chunk.map(({ id }) => commitOf(id)), { ordered: false });
        await workerProducer.send({ topic: replies, messages: chunk.map(({ id, message }) => resultOf(id, message)), acks: -1 });
      });
    } else {
      await serveRequests(worker, requests, async (id, message) => {
        await collection.insertOne(commitOf(id));
        await workerProducer.send({ topic: replies, messages: [resultOf(id, message)], acks: -1 });
      });
    }
    const ids = range(RELEASES).map(() => randomUUID());
    const answered = recorder.allAnswered(ids, PHASE_TIMEOUT_MS, `raw baseline (${mode})`);
    const start = now();
    const [, at] = await Promise.all([sendAll(b.producer, requests, ids.map((id, i) => ({ key: releaseId(i), value: withCommandId(requestTemplate, id, 'id') }))), answered]);
    const ms = at - start;
    console.log(`raw baseline (${mode}): ${RELEASES} consumed, inserted and answered in ${Math.round(ms)} ms`);
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

async function main(): Promise<void> {
  // The production default level (info: one line per decision); BENCH_APP_LOG_LEVEL to compare.
  // BENCH_CPU_PROF_DIR: write a V8 CPU profile of each app there when it stops (see cpu-profile.mjs).
  const extra: Record<string, string> = { LOG_LEVEL: process.env.BENCH_APP_LOG_LEVEL ?? 'info' };
  if (process.env.BENCH_APP_NODE_OPTIONS) extra.NODE_OPTIONS = process.env.BENCH_APP_NODE_OPTIONS;
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  if (profileDir) Object.assign(extra, { BENCH_CPU_PROF_DIR: profileDir, NODE_OPTIONS: `--import ${join(__dirname, 'cpu-profile.mjs')}` });
  const { b, apps } = await openRun('bench_tp', {}, ['release-service', 'api'], extra);
  const { config } = b;
  try {
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
    const rawPerSecond = await rawThroughput(b, 'per-message', commitTemplate, requestTemplate, resultTemplate);
    const cpuRaw = rawCpu.stop(RELEASES);
    const batchedCpu = new CpuMeter([...servers.groups, self]);
    batchedCpu.start();
    const batchedPerSecond = await rawThroughput(b, 'batched', commitTemplate, requestTemplate, resultTemplate);
    const cpuBatched = batchedCpu.stop(RELEASES);

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
        figure: `rollback commands decided and stored, ${RELEASES} releases, 1 release-service, vs a raw pipeline batched alike (commands/s)`,
        ours: oursPerSecond,
        baseline: batchedPerSecond,
        unit: '/s',
        higherIsBetter: true,
        goalValue: 0.7,
        goal: '>= 0.7x',
        note:
          `${servers.database}; ${PARTITIONS} partitions, ${SERVICE_CONCURRENCY} consumed concurrently and chunks of ${SERVICE_CHUNK} on both sides; ${rolledBack.refused} not ACCEPTED; ${seeded}; ` +
          `CPU ms per command: ${cpuOurs}; raw batched (worker in the bench process, with set-up): ${cpuBatched}`,
      }),
      figure({
        figure: `the same, vs a raw pipeline one message at a time (commands/s)`,
        ours: oursPerSecond,
        baseline: rawPerSecond,
        unit: '/s',
        higherIsBetter: true,
        goalValue: 0.5,
        goal: '>= 0.5x',
        note: `CPU ms per command, raw one at a time (worker in the bench process, with set-up): ${cpuRaw}`,
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
