import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { commandEvent, Topics } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { CommitDoc } from '@app/event-store';
import { Captured, KafkaProbe } from '@app/test-support';
import type { Connection } from 'mongoose';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/**
 * A deterministic command script: per release, an install and its outcome, then pairs of (upgrade or
 * rollback, its outcome), alternating success and failure. Every command is acceptable when applied in
 * order, so at the end every one must have been ACCEPTED exactly once: what a crash must not change.
 * An operation's id is its requesting command's id, which is how the script knows it in advance.
 */
export const commandScript = (prefix: string, releases: number, perRelease: number): Array<{ key: string; id: string; value: string }> => {
  const byRelease: Array<Array<{ key: string; id: string; value: string }>> = [];
  for (let r = 0; r < releases; r += 1) {
    const releaseId = `${prefix}-${r}`;
    const list: Array<{ key: string; id: string; value: string }> = [];
    const add = (id: string, command: ReleaseCommand) =>
      list.push({ key: releaseId, id, value: JSON.stringify(commandEvent(command, { id, source: 'urn:test:faults', actor: 'faults', correlationId: id })) });
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
  const out: Array<{ key: string; id: string; value: string }> = [];
  for (let i = 0; i < perRelease; i += 1) for (const list of byRelease) out.push(list[i]);
  return out;
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

/** Sends messages in chunks, `pauseMs` apart, so the load spans the faults a test injects meanwhile. */
export const sendPaced = async (probe: KafkaProbe, messages: Array<{ key: string; value: string }>, chunk: number, pauseMs: number): Promise<void> => {
  for (let i = 0; i < messages.length; i += chunk) {
    for (;;) {
      try {
        await probe.producer.send({ topic: probe.topic(Topics.commands), acks: -1, messages: messages.slice(i, i + chunk) });
        break;
      } catch {
        // The broker is being restarted by the test: the producer retries, as any client would.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
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

/** One row of the scenario table (printed, and kept in test-results/faults.jsonl for the notes). */
export const recordScenario = (scenario: string, row: Record<string, unknown>): void => {
  const line = JSON.stringify({ scenario, ...row });
  process.stdout.write(`FAULTS ${line}\n`);
  const dir = join(ROOT, 'test-results');
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, 'faults.jsonl'), `${line}\n`);
};
