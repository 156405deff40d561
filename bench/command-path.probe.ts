/**
 * Diagnosis, not a benchmark (npm run bench does not run it): the database calls one command makes on
 * the release-service's path (apps/release-service/src/command-processor.ts), each timed alone against a
 * database holding BENCH_PROBE_RELEASES releases as the throughput benchmark leaves it (install, result,
 * upgrade, result: four commits, two revisions each), next to a raw insertOne and a ping. It shows which
 * call grows with the size of a collection.
 *
 *   npx tsx bench/command-path.probe.ts            # sizes 100 and 1000
 *   BENCH_PROBE_RELEASES=250,2000 npx tsx bench/command-path.probe.ts
 */
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { CommandMetadata, ReleaseCommand, ReleaseState } from '@app/domain';
import { commitHash, commitKey, MongoEventStore } from '@app/event-store';
import { RELEASE_AGGREGATE, ReleaseReadModel } from '@app/release-store';
import { withBenchDatabase } from './database';
import { median, timeEach } from './support';

const SIZES = (process.env.BENCH_PROBE_RELEASES ?? '100,1000').split(',').map(Number);
const REPEAT = 15;

const meta = (): CommandMetadata => ({ commandId: randomUUID(), now: new Date().toISOString(), actor: 'bench', correlationId: randomUUID() });

/** The commit documents the service would have written for one release, one command per commit. */
const releaseCommits = (id: string) => {
  const { decider } = RELEASE_AGGREGATE;
  let state: ReleaseState = decider.initialState();
  let hash = '';
  const docs: Array<Record<string, unknown>> = [];
  const commit = (command: ReleaseCommand) => {
    const m = meta();
    const events = decider.decide(command, state, m);
    state = events.reduce(decider.evolve, state);
    const version = docs.length + 1;
    const stored = events.map((e, i) => ({ eventId: `${id}:${version}:${i}`, type: e.type, schemaVersion: 1, data: JSON.stringify(e.data) }));
    const body = { streamId: id, version, commandId: m.commandId, commandType: command.type, events: stored, result: JSON.stringify(RELEASE_AGGREGATE.summarize(id, events, state)), metadata: { actor: m.actor, correlationId: m.correlationId, now: m.now }, prevHash: hash };
    hash = commitHash(body);
    docs.push({ _id: commitKey(id, version), pos: new mongoose.Types.ObjectId(), ...body, recordedAt: new Date(), dispatched: true, hash });
    return m.commandId;
  };
  const chart = { name: 'web', repository: 'http://127.0.0.1:1' };
  const installed = commit({ type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart, chartVersion: '1.0.0', values: { replicas: 1, image: { tag: '1.0.0' } } } });
  commit({ type: 'RecordOperationResult', data: { releaseId: id, operationId: installed, outcome: 'SUCCEEDED', helmRevision: 1 } });
  const upgraded = commit({ type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0', values: { replicas: 2, image: { tag: '1.1.0' } } } });
  commit({ type: 'RecordOperationResult', data: { releaseId: id, operationId: upgraded, outcome: 'SUCCEEDED', helmRevision: 2 } });
  return { docs, state, hash };
};

const probe = (releases: number): Promise<void> =>
  withBenchDatabase('bench_probe', async ({ connection, store }) => {
    const readModel = new ReleaseReadModel(connection);
    await readModel.ensureIndexes();
    const seeded = Array.from({ length: releases }, (_, i) => ({ id: `r-${i}`, ...releaseCommits(`r-${i}`) }));
    const docs = seeded.flatMap((s) => s.docs);
    for (let i = 0; i < docs.length; i += 1000) await store.commits.collection.insertMany(docs.slice(i, i + 1000) as never[]);
    await readModel.rebuild(store);

    // One rollback per probed release, appended as the service would, then projected and dispatched.
    const pick = (i: number) => seeded[Math.floor(((i + 0.5) * releases) / REPEAT)];
    const rollbacks = new Map<string, Awaited<ReturnType<MongoEventStore['append']>>>();
    const rows: Array<[string, number]> = [];
    const time = async (what: string, fn: (i: number) => Promise<unknown>) => rows.push([what, median(await timeEach(REPEAT, fn))]);
    // What the server costs per kind of call, whatever the libs make of it.
    await time('server: ping (round trip)', () => connection.db!.admin().ping());
    const raw = connection.collection('raw_inserts');
    await time('server: insertOne, commit-sized', () => raw.insertOne({ ...docs[0], _id: commitKey(randomUUID(), 1) as never, pos: new mongoose.Types.ObjectId() }));
    const commits = store.commits.collection;
    await time('server: commits findOne {_id} (a late document)', (i) => commits.findOne({ _id: commitKey(pick(i).id, 4) } as never));
    await time('server: commits updateOne {_id}', (i) => commits.updateOne({ _id: commitKey(pick(i).id, 4) } as never, { $set: { recordedAt: new Date() } }));
    const views = readModel.releases.collection;
    await time('server: releases findOne {_id}', (i) => views.findOne({ _id: pick(i).id } as never));
    await time('server: releases replaceOne {_id}', async (i) => {
      const view = (await views.findOne({ _id: pick(i).id } as never))!;
      await views.replaceOne({ _id: view._id } as never, { ...view, updatedAt: new Date().toISOString() });
    });
    await time('server: releases replaceOne {_id, version}', async (i) => {
      const view = (await views.findOne({ _id: pick(i).id } as never))!;
      await views.replaceOne({ _id: view._id, version: view.version } as never, { ...view, updatedAt: new Date().toISOString() });
    });
    // The calls of the command path, as the libs make them today.
    await time('lib: store.findRejection', () => store.findRejection(pick(0).id, randomUUID()));
    await time('lib: store.append', async (i) => {
      const { id, state, hash } = pick(i);
      const m = meta();
      const events = RELEASE_AGGREGATE.decider.decide({ type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } }, state, m);
      rollbacks.set(id, await store.append({ streamId: id, expectedVersion: 4, commandId: m.commandId, commandType: 'RollbackRelease', events, result: null, metadata: m, prevHash: hash }));
    });
    await time('lib: readModel.catchUp (view read back)', (i) => readModel.catchUp(store, pick(i).id, rollbacks.get(pick(i).id)));
    await time('lib: store.markDispatched', (i) => store.markDispatched(rollbacks.get(pick(i).id)!));
    await time('lib: relay, store.streamsWithUndispatched', () => store.streamsWithUndispatched(new Date(Date.now() - 5_000)));
    await time('lib: watchdog, readModel.overdue', () => readModel.overdue(new Date().toISOString()));
    console.log(`\n${releases} releases, ${docs.length} commits, ${releases * 2} revisions: median ms of ${REPEAT}`);
    for (const [what, ms] of rows) console.log(`${ms.toFixed(1).padStart(8)}  ${what}`);
  });

async function main(): Promise<void> {
  for (const releases of SIZES) await probe(releases);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
