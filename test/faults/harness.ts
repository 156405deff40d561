import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commandEvent, Topics } from '@app/contracts';
import { commandTopic } from '@app/platform';
import type { ReleaseCommand } from '@app/domain';
import { CommitDoc } from '@app/event-store';
import { Captured, KafkaProbe } from '@app/test-support';
import type { Connection } from 'mongoose';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** One message of a script: a command or an outcome, on the topic it travels on. */
export interface ScriptedMessage {
  key: string;
  id: string;
  value: string;
  topic: typeof Topics.commands | typeof Topics.outcomes;
}

/**
 * A deterministic command script: per release, an install and its outcome, then pairs of (upgrade or
 * rollback, its outcome), alternating success and failure. Every command is acceptable when applied in
 * order, so at the end every one must have been ACCEPTED exactly once: what a crash must not change.
 * An operation's id is its requesting command's id, which is how the script knows it in advance.
 * Outcomes travel on the outcomes topic, so order across a release's messages holds only as driveScript
 * keeps it: each one sent after the one before is answered, as the executor reports after a decision.
 */
export const commandScript = (prefix: string, releases: number, perRelease: number): ScriptedMessage[] => {
  const byRelease: ScriptedMessage[][] = [];
  for (let r = 0; r < releases; r += 1) {
    const releaseId = `${prefix}-${r}`;
    const list: ScriptedMessage[] = [];
    const add = (id: string, command: ReleaseCommand) =>
      list.push({ key: releaseId, id, topic: commandTopic(command), value: JSON.stringify(commandEvent(command, { id, source: 'urn:test:faults', actor: 'faults', correlationId: id })) });
    const result = (operationId: string, n: number) =>
      add(`${operationId}-done`, {
        type: 'RecordOperationResult',
        data: n % 3 === 2 ? { releaseId, operationId, outcome: 'FAILED', error: 'helm: injected failure' } : { releaseId, operationId, outcome: 'SUCCEEDED', helmRevision: n + 1 },
      });
    add(`${releaseId}-op0`, {
      type: 'InstallRelease',
      data: { releaseId, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { n: 0 } },
    });
    result(`${releaseId}-op0`, 0);
    for (let n = 1; list.length < perRelease; n += 1) {
      const id = `${releaseId}-op${n}`;
      add(id, n % 2 === 1 ? { type: 'UpgradeRelease', data: { releaseId, values: { n, note: `upgrade ${n}` } } } : { type: 'RollbackRelease', data: { releaseId, targetRevision: 1 } });
      result(id, n);
    }
    byRelease.push(list);
  }
  // Interleave releases, as traffic for many releases arrives; per release the order is kept.
  const out: ScriptedMessage[] = [];
  for (let i = 0; i < perRelease; i += 1) for (const list of byRelease) out.push(list[i]);
  return out;
};

/** The command ids answered so far on a recorded results topic, read incrementally (the array only grows). */
export const answerIndex = (results: Captured[]): (() => Set<string>) => {
  const seen = new Set<string>();
  let cursor = 0;
  return () => {
    for (; cursor < results.length; cursor += 1) seen.add((results[cursor].json() as { data: { commandId: string } }).data.commandId);
    return seen;
  };
};

/**
 * Plays a script as its senders would: each release's messages in order, each sent once the one before it
 * is answered (an executor reports an outcome after the decision that asked for it), `pauseMs` apart per
 * release, releases staggered. A send that fails (the broker restarting) is retried, as a client would.
 */
export const driveScript = async (probe: KafkaProbe, script: ScriptedMessage[], results: Captured[], pauseMs: number, timeoutMs = 300_000): Promise<void> => {
  const answered = answerIndex(results);
  const chains = new Map<string, ScriptedMessage[]>();
  for (const m of script) chains.set(m.key, [...(chains.get(m.key) ?? []), m]);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const deadline = Date.now() + timeoutMs;
  await Promise.all(
    [...chains.values()].map(async (chain, i) => {
      await sleep(Math.floor((pauseMs * i) / chains.size));
      for (const m of chain) {
        for (;;) {
          try {
            await probe.producer.send({ topic: probe.topic(m.topic), acks: -1, messages: [{ key: m.key, value: m.value }] });
            break;
          } catch {
            await sleep(500);
          }
        }
        while (!answered().has(m.id)) {
          if (Date.now() > deadline) throw new Error(`no answer to ${m.id} within ${timeoutMs} ms`);
          await sleep(25);
        }
        await sleep(pauseMs);
      }
    }),
  );
};

export interface Invariants {
  commands: number;
  accepted: number;
  rejected: number;
  commits: number;
  revisions: number;
  events: number;
  eventMessages: number;
  duplicateEventMessages: number;
  resultMessages: number;
  duplicateResults: number;
  missingResults: number;
  inconsistentResults: number;
  versionGaps: number;
  duplicateCommits: number;
  pendingReleases: number;
  undispatched: number;
  /** Outbox entries left (commits that may not be on Kafka): none once everything is published. */
  outboxLeft: number;
}

/**
 * What must hold after any fault: every command answered, identically each time it was answered; every
 * accepted command committed exactly once; versions 1..n per stream; every event of every commit on the
 * events topic (deduplicated by event id); nothing left undispatched, in the outbox or pending.
 */
export const checkInvariants = async (
  db: Connection,
  sent: Array<{ key: string; id: string }>,
  results: Captured[],
  events: Captured[],
): Promise<Invariants> => {
  const commits = await db.collection<CommitDoc>('commits').find({}).toArray();
  const byStream = new Map<string, CommitDoc[]>();
  for (const c of commits) byStream.set(c.streamId, [...(byStream.get(c.streamId) ?? []), c]);
  let versionGaps = 0;
  let duplicateCommits = 0;
  for (const list of byStream.values()) {
    list.sort((a, b) => a.version - b.version);
    list.forEach((c, i) => {
      if (c.version !== i + 1) versionGaps += 1;
    });
    duplicateCommits += list.length - new Set(list.map((c) => c.commandId)).size;
  }
  const answers = new Map<string, string[]>();
  for (const r of results) {
    const data = (r.json() as { data: { commandId: string; outcome: string; decision?: { revision?: number }; error?: { code: string } } }).data;
    answers.set(data.commandId, [...(answers.get(data.commandId) ?? []), JSON.stringify([data.outcome, data.decision ?? data.error?.code])]);
  }
  const ids = new Set(sent.map((s) => s.id));
  const firstAnswers = [...ids].map((id) => answers.get(id)?.[0]);
  const commitEvents = new Set(commits.flatMap((c) => c.events.map((e) => e.eventId)));
  const published = events.map((e) => (e.json() as { id: string }).id).filter((id) => commitEvents.has(id));
  const revisions = await db.collection('revisions').countDocuments({});
  const marked = new Set((await db.collection<{ _id: string }>('dispatched').find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
  const pendingReleases = await db.collection('releases').countDocuments({ pendingOperationId: { $ne: null } });
  return {
    commands: ids.size,
    accepted: firstAnswers.filter((a) => a?.startsWith('["ACCEPTED"')).length,
    rejected: firstAnswers.filter((a) => a?.startsWith('["REJECTED"')).length,
    commits: commits.length,
    revisions,
    events: commitEvents.size,
    eventMessages: published.length,
    duplicateEventMessages: published.length - new Set(published).size,
    resultMessages: [...ids].reduce((n, id) => n + (answers.get(id)?.length ?? 0), 0),
    duplicateResults: [...ids].reduce((n, id) => n + Math.max(0, (answers.get(id)?.length ?? 0) - 1), 0),
    missingResults: [...ids].filter((id) => !answers.has(id)).length,
    inconsistentResults: [...ids].filter((id) => new Set(answers.get(id) ?? []).size > 1).length,
    versionGaps,
    duplicateCommits,
    pendingReleases,
    undispatched: commits.filter((c) => !c.dispatched && !marked.has(c._id)).length,
    outboxLeft: await db.collection<{ _id: string }>('outbox').countDocuments({ _id: { $ne: '#migrated' } }),
  };
};

/** Restarts a server the project's scripts manage (Kafka or FerretDB); returns how long it was down. */
export const restartServer = async (server: 'kafka' | 'ferretdb', downForMs = 2_000): Promise<number> => {
  const script = join(ROOT, 'scripts', 'infra', `${server}.sh`);
  // With the address variables set the scripts treat the servers as someone else's and leave them alone.
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  delete env.MONGODB_URI;
  const status = await run('bash', [script, 'status'], { env }).catch(() => null);
  if (!status) throw new Error(`${server} is not managed by scripts/infra (${script} status failed): cannot restart it`);
  const started = Date.now();
  await run('bash', [script, 'down'], { env, timeout: 60_000 });
  await new Promise((r) => setTimeout(r, downForMs));
  await run('bash', [script, 'up'], { env, timeout: 180_000 });
  return Date.now() - started;
};

/**
 * The project's local Kafka cluster of three KRaft nodes (scripts/infra/kafka-cluster.sh): `up`, `down`,
 * `kill N` (SIGKILL), `start N`. Returns the script's output; `up` leaves the brokers' list in its last line.
 */
export const kafkaCluster = async (...args: string[]): Promise<string> => {
  const env = { ...process.env };
  delete env.KAFKA_BROKERS;
  const { stdout, stderr } = await run('bash', [join(ROOT, 'scripts', 'infra', 'kafka-cluster.sh'), ...args], { env, timeout: 240_000 });
  return `${stdout}${stderr}`;
};

/** The brokers of the local cluster, as kafka-cluster.sh env gives them. */
export const kafkaClusterBrokers = async (): Promise<string> => /KAFKA_CLUSTER_BROKERS=(\S+)/.exec(await kafkaCluster('env'))![1];

/** One row of the scenario table (printed, and kept in test-results/faults.jsonl for the notes). */
export const recordScenario = (scenario: string, row: Record<string, unknown>): void => {
  const line = JSON.stringify({ scenario, ...row });
  process.stdout.write(`FAULTS ${line}\n`);
  const dir = join(ROOT, 'test-results');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'faults.jsonl'), `${line}\n`);
};
