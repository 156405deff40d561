import { Topics } from '@app/contracts';
import { AppConfig } from '@app/platform';
import { Captured, envOf, KafkaProbe, RunningApp, startApp, testConfig, waitFor } from '@app/test-support';
import mongoose, { Connection } from 'mongoose';
import { checkInvariants, commandScript, driveScript, Invariants, kafkaCluster, kafkaClusterBrokers, recordScenario, restartServer } from './harness';

// Faults on real processes and servers: the release service killed with SIGKILL mid-load, the broker and
// the database restarted mid-load. After each, the invariants of harness.checkInvariants must hold.
const SESSION_TIMEOUT_MS = '6000';

interface Stack {
  config: AppConfig;
  probe: KafkaProbe;
  db: Connection;
  results: Captured[];
  events: Captured[];
  dlq: Captured[];
  service: RunningApp;
}

const startStack = async (partitions = 3, settings: Record<string, string> = {}): Promise<Stack> => {
  // A short session timeout: a killed instance's partitions are reassigned after 6 s, not 30.
  const config = testConfig({ KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS, KAFKA_TOPIC_PARTITIONS: String(partitions), ...settings });
  const service = await startApp('release-service', envOf(config, { KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS, LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn' }));
  const probe = new KafkaProbe(config);
  await probe.start();
  const [results, events, dlq] = await Promise.all([probe.record([Topics.commandResults]), probe.record([Topics.events]), probe.record([Topics.commandsDlq])]);
  const db = await mongoose.createConnection(config.MONGODB_URI).asPromise();
  return { config, probe, db, results, events, dlq, service };
};

const serviceEnv = (config: AppConfig) => envOf(config, { KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS, LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn' });

/**
 * Starts the release service again when it exits on its own with an error, as its supervisor (Kubernetes,
 * systemd) would: it exits when the database stays unreachable (see CommandProcessor). Counts the restarts.
 */
const supervise = (s: Stack): { restarts: number } => {
  const state = { restarts: 0 };
  const watch = (service: RunningApp) =>
    service.process.once('exit', (code) => {
      if (code === 0 || code === null || s.service !== service) return;
      state.restarts += 1;
      void startApp('release-service', serviceEnv(s.config)).then((next) => {
        s.service = next;
        watch(next);
      });
    });
  watch(s.service);
  return state;
};

const stopStack = async (stack: Stack | undefined): Promise<void> => {
  if (!stack) return;
  await stack.probe.stop();
  await stack.service.stop();
  await stack.db.dropDatabase().catch(() => undefined);
  await stack.db.close();
};

const answered = (results: Captured[]) => new Set(results.map((r) => (r.json() as { data: { commandId: string } }).data.commandId));

/** Waits until every command is answered and every commit is published, then checks the invariants. */
const settle = async (stack: Stack, sent: Array<{ key: string; id: string }>, timeoutMs: number): Promise<Invariants> => {
  await waitFor(() => sent.every((s) => answered(stack.results).has(s.id)), { timeoutMs, intervalMs: 500, what: `answers to all ${sent.length} commands` });
  return waitFor(
    async () => {
      const inv = await checkInvariants(stack.db, sent, stack.results, stack.events);
      // Judged on the counts of the same reading: the probe's arrays grow while the invariants are read
      // (a burst after a broker restart), so a fresh count here could pass a reading taken before it.
      const published = inv.eventMessages - inv.duplicateEventMessages;
      return inv.undispatched === 0 && inv.outboxLeft === 0 && inv.pendingReleases === 0 && published >= inv.events ? inv : null;
    },
    { timeoutMs: 60_000, intervalMs: 1_000, what: 'every commit published and projected' },
  );
};

const expectClean = (inv: Invariants, releases: number, perRelease: number, dlq: Captured[]) => {
  expect(inv).toMatchObject({
    commands: releases * perRelease,
    accepted: releases * perRelease,
    rejected: 0,
    commits: releases * perRelease,
    revisions: releases * (perRelease / 2),
    missingResults: 0,
    inconsistentResults: 0,
    versionGaps: 0,
    duplicateCommits: 0,
    pendingReleases: 0,
    undispatched: 0,
    outboxLeft: 0,
  });
  expect(inv.eventMessages - inv.duplicateEventMessages).toBe(inv.events);
  expect(dlq).toHaveLength(0);
};

describe('faults: crashes and restarts under load', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stopStack(stack);
    stack = undefined;
  });

  it('kill -9 of the release service at random moments, five times, during 1,000 commands across 50 releases', async () => {
    const RELEASES = 50;
    const PER_RELEASE = 20;
    stack = await startStack();
    const s = stack;
    const script = commandScript(`crash-${s.config.KAFKA_TOPIC_PREFIX.slice(1, 7)}`, RELEASES, PER_RELEASE);
    const started = Date.now();
    // About 20 commands a second (each release's next one 2.5 s after the last is answered), so the run
    // lasts longer than five kills and their recoveries: every kill hits commands in flight, and each
    // restarted instance has commands left to decide.
    const sending = driveScript(s.probe, script, s.results, 2_500);
    const recoveries: number[] = [];
    const answeredAtKill: number[] = [];
    for (let kill = 0; kill < 5; kill += 1) {
      // Kill only while commands are flowing: after some progress since the last start, at a random moment.
      const base = answered(s.results).size;
      await waitFor(() => answered(s.results).size >= base + 10, { timeoutMs: 60_000, what: 'progress before the kill' }).catch((error: Error) => {
        throw new Error(`${error.message}\n--- release-service output ---\n${s.service.output().slice(-6000)}`);
      });
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 700)));
      answeredAtKill.push(answered(s.results).size);
      const killedAt = Date.now();
      s.service.process.kill('SIGKILL');
      await s.service.stop();
      s.service = await startApp('release-service', envOf(s.config, { KAFKA_SESSION_TIMEOUT_MS: SESSION_TIMEOUT_MS, LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'warn' }));
      const before = s.results.length;
      await waitFor(() => s.results.length > before, { timeoutMs: 60_000, what: 'the first answer after the restart' }).catch((error: Error) => {
        throw new Error(`${error.message}\n--- release-service output ---\n${s.service.output().slice(-6000)}`);
      });
      recoveries.push(Date.now() - killedAt);
    }
    await sending;
    const inv = await settle(s, script, 240_000);
    recordScenario('kill -9 release-service x5', { ...inv, answeredAtKill, recoveryMs: recoveries, seconds: Math.round((Date.now() - started) / 1000) });
    // Every kill hit a run in progress.
    for (const n of answeredAtKill) expect(n).toBeLessThan(RELEASES * PER_RELEASE);
    expectClean(inv, RELEASES, PER_RELEASE, s.dlq);
  }, 600_000);

  it('three release-service instances under load, each stopped and started in turn and one killed -9: nothing lost, nothing twice, every event published', async () => {
    const RELEASES = 30;
    const PER_RELEASE = 20;
    stack = await startStack(6);
    const s = stack;
    // Two more instances in the same group: the partitions are shared among the three.
    const others = [await startApp('release-service', serviceEnv(s.config)), await startApp('release-service', serviceEnv(s.config))];
    const instances = () => [s.service, ...others];
    try {
      const script = commandScript(`fleet-${s.config.KAFKA_TOPIC_PREFIX.slice(1, 7)}`, RELEASES, PER_RELEASE);
      const started = Date.now();
      const sending = driveScript(s.probe, script, s.results, 1_500);
      const answeredAtStop: number[] = [];
      const recoveries: number[] = [];
      // Each instance in turn: a rolling restart (SIGTERM, then a fresh one), the last one killed -9 instead.
      for (const [turn, how] of (['SIGTERM', 'SIGTERM', 'SIGTERM', 'SIGKILL'] as const).entries()) {
        const base = answered(s.results).size;
        await waitFor(() => answered(s.results).size >= base + 20, { timeoutMs: 60_000, what: `progress before stop ${turn + 1}` });
        answeredAtStop.push(answered(s.results).size);
        const slot = turn % 3;
        const instance = instances()[slot];
        const stoppedAt = Date.now();
        if (how === 'SIGKILL') instance.process.kill('SIGKILL');
        const code = await instance.stop();
        // A rolling restart is a clean exit: the instance finished its batch and left the group.
        if (how === 'SIGTERM') expect(code).toBe(0);
        const next = await startApp('release-service', serviceEnv(s.config));
        if (slot === 0) s.service = next;
        else others[slot - 1] = next;
        const before = s.results.length;
        await waitFor(() => s.results.length > before, { timeoutMs: 60_000, what: `an answer after stop ${turn + 1}` });
        recoveries.push(Date.now() - stoppedAt);
      }
      await sending;
      const inv = await settle(s, script, 240_000);
      recordScenario('3 release-service instances, rolling restart + kill -9', { ...inv, answeredAtStop, recoveryMs: recoveries, seconds: Math.round((Date.now() - started) / 1000) });
      // Every stop hit a run in progress, and no instance exited on its own.
      for (const n of answeredAtStop) expect(n).toBeLessThan(RELEASES * PER_RELEASE);
      for (const instance of instances()) expect(instance.process.exitCode).toBeNull();
      expectClean(inv, RELEASES, PER_RELEASE, s.dlq);
    } finally {
      await Promise.all(others.map((o) => o.stop()));
    }
  }, 600_000);

  it('kill -9 of one broker of a three-node Kafka under load, then its restart: nothing lost, nothing twice, no app restarted', async () => {
    const RELEASES = 10;
    const PER_RELEASE = 20;
    try {
      await kafkaCluster('up');
      // Every topic on three replicas, min.insync.replicas 2: an acknowledged write survives one node.
      stack = await startStack(3, { KAFKA_BROKERS: await kafkaClusterBrokers() });
      const s = stack;
      const script = commandScript(`brokers-${s.config.KAFKA_TOPIC_PREFIX.slice(1, 7)}`, RELEASES, PER_RELEASE);
      const started = Date.now();
      const supervisor = supervise(s);
      const sending = driveScript(s.probe, script, s.results, 200);
      await waitFor(() => answered(s.results).size >= 30, { timeoutMs: 60_000, what: 'load under way' });
      const node = 1 + Math.floor(Math.random() * 3);
      const answeredAtKill = answered(s.results).size;
      const killedAt = Date.now();
      await kafkaCluster('kill', String(node));
      // Two nodes of three still hold every partition's quorum: the service goes on before the node is back.
      const before = s.results.length;
      await waitFor(() => s.results.length > before + 10, { timeoutMs: 120_000, intervalMs: 250, what: `answers with node ${node} down` }).catch((error: Error) => {
        throw new Error(`${error.message}\n--- release-service output ---\n${s.service.output().slice(-8000)}`);
      });
      const answeredWithNodeDownMs = Date.now() - killedAt;
      await kafkaCluster('start', String(node));
      await sending;
      const inv = await settle(s, script, 240_000);
      recordScenario('kill -9 one broker of three under load', {
        ...inv,
        node,
        answeredAtKill,
        answeredWithNodeDownMs,
        serviceRestarts: supervisor.restarts,
        seconds: Math.round((Date.now() - started) / 1000),
      });
      expect(answeredAtKill).toBeLessThan(RELEASES * PER_RELEASE);
      expect(supervisor.restarts).toBe(0);
      expectClean(inv, RELEASES, PER_RELEASE, s.dlq);
    } finally {
      await stopStack(stack);
      stack = undefined;
      await kafkaCluster('down');
    }
  }, 600_000);

  it.each(['kafka', 'ferretdb'] as const)('restart of the %s server during load loses and duplicates nothing', async (server) => {
    const RELEASES = 10;
    const PER_RELEASE = 20;
    stack = await startStack();
    const s = stack;
    const script = commandScript(`${server}-${s.config.KAFKA_TOPIC_PREFIX.slice(1, 7)}`, RELEASES, PER_RELEASE);
    const started = Date.now();
    const supervisor = supervise(s);
    const sending = driveScript(s.probe, script, s.results, 200);
    await waitFor(() => answered(s.results).size >= 30, { timeoutMs: 60_000, what: 'load under way' });
    const answeredAtRestart = answered(s.results).size;
    const restartedAt = Date.now();
    const downMs = await restartServer(server);
    const before = s.results.length;
    await waitFor(() => s.results.length > before, { timeoutMs: 120_000, intervalMs: 250, what: `an answer after the ${server} restart` }).catch((error: Error) => {
      throw new Error(`${error.message}\n--- release-service output ---\n${s.service.output().slice(-8000)}`);
    });
    const recoveryMs = Date.now() - restartedAt;
    await sending;
    const inv = await settle(s, script, 240_000);
    // The probe's own client may take far longer to reconnect than the service (kafkajs backs off up to
    // about 30 s): the answers' record timestamps tell when the service itself answered again.
    const serverUpAt = restartedAt + downMs;
    const after = s.results.map((r) => r.timestamp).filter((t) => t >= serverUpAt);
    const serviceAnsweredAfterUpMs = after.length ? Math.min(...after) - serverUpAt : null;
    recordScenario(`restart ${server} under load`, {
      ...inv,
      answeredAtRestart,
      downMs,
      recoveryMs,
      serviceAnsweredAfterUpMs,
      serviceRestarts: supervisor.restarts,
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(serviceAnsweredAfterUpMs).not.toBeNull();
    expect(answeredAtRestart).toBeLessThan(RELEASES * PER_RELEASE);
    expectClean(inv, RELEASES, PER_RELEASE, s.dlq);
  }, 600_000);
});
