/**
 * The audit replay tool. Reads the event log straight from MongoDB (read-only, except `rebuild`, which
 * writes fresh collections of its own, and `publish`, which writes to Kafka).
 *
 *   replay rebuild [--keep]                    rebuild the read model from nothing and compare with the live one
 *   replay verify [--release ID]               check the hash chain: edited, deleted or reordered commits
 *   replay publish --topic T [--release ID]    re-publish events, in order per release, to a Kafka topic
 *   replay as-of --release ID (--time T | --version N)   the release as it was
 *
 * Exit codes: 0 all good, 1 a difference or tampering was found, 2 usage error, 3 could not run.
 */
import { randomUUID } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import diff from 'microdiff';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import mongoose, { Connection } from 'mongoose';
import { MongoEventStore, verifyChain } from '@app/event-store';
import { commitMessages, RELEASE_EVENT_SCHEMAS, ReleaseReadModel, releaseAsOf } from '@app/release-store';
import { kafkaConnection, loadConfig } from '@app/platform';
import { ValuesCipher } from '@app/contracts';

const EXIT = { ok: 0, found: 1, usage: 2, failed: 3 } as const;
const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`${line}\n`);

const progress = (label: string, total: number) => {
  // A bar only where a person watches; scripts get clean output.
  if (!process.stderr.isTTY || total < 1000) return { update: (_n: number) => undefined, stop: () => undefined };
  const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} commits`, stream: process.stderr }, undefined);
  bar.start(total, 0);
  return { update: (n: number) => bar.update(n), stop: () => bar.stop() };
};

const cipherOf = (config: ReturnType<typeof loadConfig>) => ValuesCipher.fromBase64(config.VALUES_ENCRYPTION_KEY);

const withStore = async <T>(fn: (store: MongoEventStore, connection: Connection) => Promise<T>): Promise<T> => {
  const config = loadConfig();
  const connection = await mongoose.createConnection(config.MONGODB_URI, { autoIndex: false, serverSelectionTimeoutMS: 10_000 }).asPromise();
  try {
    return await fn(new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS, cipher: cipherOf(config) }), connection);
  } finally {
    await connection.close();
  }
};

const rebuild = (options: { keep?: boolean }) =>
  withStore(async (store, connection) => {
    const total = await store.commits.estimatedDocumentCount();
    const bar = progress('rebuild', total);
    const prefix = `rebuild_${Date.now()}_${randomUUID().slice(0, 6)}_`;
    const cipher = cipherOf(loadConfig());
    const rebuilt = new ReleaseReadModel(connection, prefix, cipher);
    const live = new ReleaseReadModel(connection, '', cipher);
    const started = Date.now();
    const commits = await rebuilt.rebuild(store, (n) => bar.update(n));
    bar.stop();
    const seconds = (Date.now() - started) / 1000;
    let differences = 0;
    const compare = <T extends { _id: string }>(what: string, a: T[], b: T[], key: (x: T) => string) => {
      const left = new Map(a.map((x) => [key(x), x]));
      const right = new Map(b.map((x) => [key(x), x]));
      for (const id of new Set([...left.keys(), ...right.keys()])) {
        const changes = diff((left.get(id) ?? {}) as object, (right.get(id) ?? {}) as object);
        if (changes.length) {
          differences += 1;
          out(`DIFF ${what} ${id}: ${JSON.stringify(changes.map((c) => ({ ...c, path: c.path.join('.') })))}`);
        }
      }
    };
    // Compared opened: sealed values and error text differ in their random nonces, never in what they hold.
    compare(
      'release',
      (await live.releases.find().lean()).map((r) => live.openRelease(r)),
      (await rebuilt.releases.find().lean()).map((r) => rebuilt.openRelease(r)),
      (r: { _id: string }) => r._id,
    );
    compare(
      'revision',
      (await live.revisions.find().lean()).map((r) => live.openRevision(r)),
      (await rebuilt.revisions.find().lean()).map((r) => rebuilt.openRevision(r)),
      (r: { _id: string }) => r._id,
    );
    out(`rebuilt ${commits} commits in ${seconds.toFixed(2)} s (${Math.round(commits / Math.max(seconds, 0.001))} commits/s)`);
    if (!options.keep) {
      await rebuilt.releases.collection.drop().catch(() => undefined);
      await rebuilt.revisions.collection.drop().catch(() => undefined);
    } else {
      out(`rebuilt read model kept in collections ${prefix}releases and ${prefix}revisions`);
    }
    out(differences === 0 ? 'the rebuilt read model equals the live one' : `${differences} difference(s) found`);
    return differences === 0 ? EXIT.ok : EXIT.found;
  });

const verify = (options: { release?: string }) =>
  withStore(async (store) => {
    const total = await store.commits.estimatedDocumentCount();
    const bar = progress('verify', total);
    const result = await verifyChain(store, { ...(options.release ? { streamId: options.release } : {}), onProgress: (n) => bar.update(n) });
    bar.stop();
    for (const p of result.problems) out(`TAMPERED ${p.streamId} version ${p.version}: ${p.problem}: ${p.detail}`);
    out(`checked ${result.commits} commits in ${result.streams} release(s): ${result.problems.length ? `${result.problems.length} problem(s)` : 'the chain is intact'}`);
    return result.problems.length ? EXIT.found : EXIT.ok;
  });

const publish = (options: { topic: string; release?: string }) =>
  withStore(async (store) => {
    const config = loadConfig();
    const kafka = new Kafka({ clientId: 'replay', ...kafkaConnection(config), logLevel: logLevel.WARN });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const total = await store.commits.estimatedDocumentCount();
      const bar = progress('publish', total);
      let commits = 0;
      let events = 0;
      let after: string | undefined;
      // Log order (by insertion) keeps each release's commits in version order; messages are keyed by
      // release, so each release's events stay in order on its partition.
      for (;;) {
        const page = await store.readAll({ ...(after ? { after } : {}), ...(options.release ? { streamId: options.release } : {}), limit: 500 });
        if (page.length === 0) break;
        for (const commit of page) {
          const messages = commitMessages(commit, 'urn:helm-rollback-service:replay', cipherOf(loadConfig()));
          await producer.send({
            topic: options.topic,
            acks: -1,
            messages: messages.map((m) => ({ key: m.key, value: JSON.stringify(m.event), headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' } })),
          });
          events += messages.length;
        }
        commits += page.length;
        bar.update(commits);
        after = page[page.length - 1].id;
      }
      bar.stop();
      out(`published ${events} events of ${commits} commits to ${options.topic}`);
      return EXIT.ok;
    } finally {
      await producer.disconnect();
    }
  });

const asOf = (options: { release: string; time?: string; version?: string }) =>
  withStore(async (store) => {
    const at = { ...(options.time ? { time: new Date(options.time).toISOString() } : {}), ...(options.version ? { version: Number(options.version) } : {}) };
    const { version, state } = await releaseAsOf(store, options.release, at);
    if (state.status === 'NONE') {
      out(JSON.stringify({ releaseId: options.release, version, status: 'NONE', revisions: [] }, null, 2));
      return EXIT.ok;
    }
    out(
      JSON.stringify(
        {
          releaseId: options.release,
          version,
          status: state.status,
          revisions: state.revisions.map(({ values: _values, ...r }) => r),
        },
        null,
        2,
      ),
    );
    return EXIT.ok;
  });

const program = new Command()
  .name('replay')
  .description('Audit replay of the helm release event log (MONGODB_URI, KAFKA_BROKERS from the environment)')
  .exitOverride()
  .showHelpAfterError();
program.command('rebuild').description('rebuild the read model from nothing into fresh collections and compare it with the live one').option('--keep', 'keep the rebuilt collections').action(async (o) => {
  process.exitCode = await rebuild(o);
});
program.command('verify').description('verify the hash chain; names edited, deleted or reordered commits').option('--release <id>', 'only this release').action(async (o) => {
  process.exitCode = await verify(o);
});
program.command('publish').description('re-publish events to a Kafka topic, in order per release').requiredOption('--topic <topic>', 'target topic').option('--release <id>', 'only this release').action(async (o) => {
  process.exitCode = await publish(o);
});
program
  .command('as-of')
  .description("show a release's status and history as of a time or a stream version")
  .requiredOption('--release <id>', 'the release')
  .addOption(new Option('--time <iso>', 'an ISO-8601 instant').conflicts('version'))
  .addOption(new Option('--version <n>', 'a stream version').conflicts('time'))
  .action(async (o) => {
    if (!o.time && !o.version) throw new CommanderError(EXIT.usage, 'usage', 'as-of needs --time or --version');
    process.exitCode = await asOf(o);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') process.exit(EXIT.ok);
    if (error.message !== 'usage') err(error.message);
    process.exit(EXIT.usage);
  }
  err(`replay: ${(error as Error).message}`);
  process.exit(EXIT.failed);
});
