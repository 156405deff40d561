import { randomBytes } from 'node:crypto';
import { ValuesCipher } from '@app/contracts';
import { CommandMetadata, compactRelease, DomainError, ReleaseCommand, ReleaseState } from '@app/domain';
import { testMongoUri, uniqueSuffix } from '@app/test-support';
import mongoose, { Connection, Types } from 'mongoose';
import { ReleaseReadModel } from './release-read-model';
import { RELEASE_AGGREGATE, RELEASE_EVENT_SCHEMAS } from './release-aggregate';
import { Commit, commitKey, handleCommand, loadStream, loadWholeStream, MongoEventStore, OutboxDispatcher, StreamCache, UnknownEventError } from '@app/event-store';

// Runs against the real MongoDB-wire server of the test run (FerretDB here, MongoDB where MONGODB_URI says so).
describe('MongoEventStore and handleCommand', () => {
  let connection: Connection;
  let store: MongoEventStore;
  let readModel: ReleaseReadModel;
  let n = 0;
  const meta = (over: Partial<CommandMetadata> = {}): CommandMetadata => {
    n += 1;
    return { commandId: `c-${uniqueSuffix()}-${n}`, now: new Date().toISOString(), actor: 'tester', correlationId: `corr-${n}`, ...over };
  };
  const install = (releaseId: string): ReleaseCommand => ({
    type: 'InstallRelease',
    data: { releaseId, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { 'a.b/c': 1, $weird: 'x' } },
  });
  const handle = (releaseId: string, command: ReleaseCommand, metadata = meta()) =>
    handleCommand(store, releaseId, command, metadata, RELEASE_AGGREGATE);
  const complete = async (releaseId: string, outcome: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') => {
    const { state } = await loadStream(store, releaseId, RELEASE_AGGREGATE.decider);
    const pending = (state as Exclude<ReleaseState, { status: 'NONE' }>).pending!;
    return handle(releaseId, { type: 'RecordOperationResult', data: { releaseId, operationId: pending.operationId, outcome, helmRevision: 1 } });
  };

  beforeAll(async () => {
    connection = await mongoose.createConnection(testMongoUri(`es_${uniqueSuffix()}`), { autoIndex: false }).asPromise();
    store = new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS });
    readModel = new ReleaseReadModel(connection);
    await store.ensureIndexes();
    await readModel.ensureIndexes();
  });
  afterAll(async () => {
    await connection.dropDatabase();
    await connection.close();
  });

  it('stores one commit per decision with all its events and exact values', async () => {
    const result = await handle('exact', install('exact'));
    expect(result.outcome).toBe('ACCEPTED');
    const [commit] = await store.readStream('exact');
    expect(commit.version).toBe(1);
    expect(commit.events).toHaveLength(1);
    expect(commit.events[0]).toMatchObject({ eventId: 'exact:1:0', type: 'InstallRequested', schemaVersion: 1 });
    expect((commit.events[0].data as { values: unknown }).values).toEqual({ 'a.b/c': 1, $weird: 'x' });
    expect(commit.dispatched).toBe(false);
  });

  it('20 concurrent writers at the same version: one commit each, contiguous versions, no duplicate revision', async () => {
    const id = 'race';
    await handle(id, install(id));
    await complete(id);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } })),
    );
    const accepted = results.filter((r) => r.outcome === 'ACCEPTED');
    const rejected = results.filter((r) => r.outcome === 'REJECTED');
    // Exactly one rollback wins; the others re-decided on the new state and were refused (in progress).
    expect(accepted).toHaveLength(1);
    expect(rejected).toHaveLength(19);
    for (const r of rejected) if (r.outcome === 'REJECTED') expect(r.error.code).toBe('OPERATION_IN_PROGRESS');
    const commits = await store.readStream(id);
    expect(commits.map((c) => c.version)).toEqual([1, 2, 3]);
    const { state } = await loadStream(store, id, RELEASE_AGGREGATE.decider);
    const revisions = (state as Exclude<ReleaseState, { status: 'NONE' }>).revisions.map((r) => r.revision);
    expect(revisions).toEqual([1, 2]);
  });

  it('the same command id three times: one commit, three identical answers', async () => {
    const id = 'idem';
    await handle(id, install(id));
    await complete(id);
    const metadata = meta();
    const command: ReleaseCommand = { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0' } };
    const answers = [await handle(id, command, metadata), await handle(id, command, metadata), await handle(id, command, metadata)];
    expect(answers.map((a) => a.outcome)).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    expect(answers.map((a) => a.outcome === 'ACCEPTED' && a.result)).toEqual([answers[0].outcome === 'ACCEPTED' && answers[0].result, expect.anything(), expect.anything()]);
    const results = answers.map((a) => (a.outcome === 'ACCEPTED' ? a.result : null));
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(answers.map((a) => a.duplicate)).toEqual([false, true, true]);
    expect(await store.readStream(id)).toHaveLength(3);
  });

  it('the same id delivered concurrently also commits once', async () => {
    const id = 'idem-concurrent';
    const metadata = meta();
    const answers = await Promise.all([1, 2, 3].map(() => handle(id, install(id), metadata)));
    expect(answers).toEqual([expect.objectContaining({ outcome: 'ACCEPTED' }), expect.objectContaining({ outcome: 'ACCEPTED' }), expect.objectContaining({ outcome: 'ACCEPTED' })]);
    expect(await store.readStream(id)).toHaveLength(1);
  });

  it('a rejected command redelivered gets the first rejection again, even when it would now succeed', async () => {
    const id = 'reject-idem';
    await handle(id, install(id));
    const metadata = meta();
    const rollback: ReleaseCommand = { type: 'RollbackToLastSuccessful', data: { releaseId: id } };
    const first = await handle(id, rollback, metadata);
    expect(first).toMatchObject({ outcome: 'REJECTED', error: { code: 'OPERATION_IN_PROGRESS' } });
    await complete(id, 'FAILED');
    const again = await handle(id, rollback, metadata);
    expect(again).toMatchObject({ outcome: 'REJECTED', duplicate: true, error: { code: 'OPERATION_IN_PROGRESS' } });
  });


  it('a command id sent again with other content is refused as IDEMPOTENCY_KEY_REUSED, for a commit and for a rejection alike', async () => {
    const id = 'reuse-idem';
    const metadata = meta({ fingerprint: 'fp-install' });
    expect(await handle(id, install(id), metadata)).toMatchObject({ outcome: 'ACCEPTED', duplicate: false });
    expect(await handle(id, install(id), metadata)).toMatchObject({ outcome: 'ACCEPTED', duplicate: true });
    expect(await handle(id, install(id), { ...metadata, fingerprint: 'fp-other' })).toMatchObject({ outcome: 'REJECTED', error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    const refusedMeta = meta({ fingerprint: 'fp-rollback' });
    const rollback: ReleaseCommand = { type: 'RollbackToLastSuccessful', data: { releaseId: id } };
    expect(await handle(id, rollback, refusedMeta)).toMatchObject({ outcome: 'REJECTED', error: { code: 'OPERATION_IN_PROGRESS' } });
    expect(await handle(id, rollback, { ...refusedMeta, fingerprint: 'fp-else' })).toMatchObject({ outcome: 'REJECTED', error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(await handle(id, rollback, refusedMeta)).toMatchObject({ outcome: 'REJECTED', duplicate: true, error: { code: 'OPERATION_IN_PROGRESS' } });
    expect(await store.readStream(id)).toHaveLength(1);
  });

  it("a command id names a command within its release only: one release's recorded refusal does not answer another's", async () => {
    const [a, b] = ['span-a', 'span-b'];
    await handle(a, install(a));
    const shared = meta();
    expect(await handle(a, { type: 'RollbackToLastSuccessful', data: { releaseId: a } }, shared)).toMatchObject({ outcome: 'REJECTED', error: { code: 'OPERATION_IN_PROGRESS' } });
    expect(await handle(b, install(b), shared)).toMatchObject({ outcome: 'ACCEPTED', duplicate: false });
    expect(await store.readStream(b)).toHaveLength(1);
  });
  it('publishes what a process left undispatched when it died between insert and publish, in order', async () => {
    const id = 'outbox';
    await handle(id, install(id));
    await complete(id);
    await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.2.0' } });
    // The "dead" process appended three commits and published none. A new process's relay finds them.
    const published: Commit[] = [];
    const relay = new OutboxDispatcher(store, async (commit) => void published.push(commit));
    const count = await relay.sweep(0);
    expect(count).toBeGreaterThanOrEqual(3);
    const ours = published.filter((c) => c.streamId === id);
    expect(ours.map((c) => c.version)).toEqual([1, 2, 3]);
    expect(await store.undispatchedOf(id)).toEqual([]);
    expect(await relay.dispatchStream(id)).toBe(0);
  });

  it('keeps in the outbox exactly the commits not yet marked dispatched, and the relay reads only the outbox', async () => {
    const id = 'outbox-entries';
    const installed = await handle(id, install(id));
    const key = commitKey(id, 1);
    const entries = async () => (await store.outbox.find({ streamId: id }).lean()).map((e) => e._id);
    expect(installed.outcome === 'ACCEPTED' && installed.commit?.version).toBe(1);
    expect(await entries()).toEqual([key]);
    await store.markDispatched({ streamId: id, version: 1 });
    expect(await entries()).toEqual([]);
    // An entry left behind after its marker (the writer died in between) is dropped by the relay.
    await store.outbox.collection.insertOne({ _id: key, streamId: id, at: new Date(0) } as never);
    expect(await store.streamsWithUndispatched(new Date())).not.toContain(id);
    expect(await entries()).toEqual([]);
    // An entry whose commit never came: kept while its writer may still insert it, then dropped.
    const orphan = commitKey(id, 7);
    await store.outbox.collection.insertOne({ _id: orphan, streamId: id, at: new Date(Date.now() - 60_000) } as never);
    expect(await store.streamsWithUndispatched(new Date())).not.toContain(id);
    expect(await entries()).toEqual([orphan]);
    await store.outbox.collection.updateOne({ _id: orphan } as never, { $set: { at: new Date(Date.now() - 3_600_000) } });
    await store.streamsWithUndispatched(new Date());
    expect(await entries()).toEqual([]);
    // A writer whose key already has an (old) entry makes it fresh, so the relay keeps it until the commit.
    const next = commitKey(id, 2);
    await store.outbox.collection.insertOne({ _id: next, streamId: id, at: new Date(Date.now() - 3_600_000) } as never);
    const upgraded = await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: (installed as { commit: Commit }).commit.commandId, outcome: 'SUCCEEDED' } });
    expect(upgraded).toMatchObject({ outcome: 'ACCEPTED', commit: { version: 2 } });
    const entry = await store.outbox.findById(next).lean();
    expect(Date.now() - entry!.at.getTime()).toBeLessThan(60_000);
    expect(await store.streamsWithUndispatched(new Date(Date.now() + 1000))).toContain(id);
  });

  it('gives the commits written before the outbox existed, and never marked, an entry once per database', async () => {
    const legacy = new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS, prefix: `legacy_${uniqueSuffix()}_` });
    const id = 'legacy';
    await handleCommand(legacy, id, install(id), meta(), RELEASE_AGGREGATE);
    await handleCommand(legacy, 'legacy-done', install('legacy-done'), meta(), RELEASE_AGGREGATE);
    await legacy.markDispatched({ streamId: 'legacy-done', version: 1 });
    // As an older version left it: no outbox at all.
    await legacy.outbox.collection.deleteMany({});
    expect(await legacy.undispatchedOf(id)).toEqual([]);
    expect(await legacy.streamsWithUndispatched(new Date(Date.now() + 1000))).toEqual([id]);
    expect((await legacy.undispatchedOf(id)).map((c) => c.version)).toEqual([1]);
    // Once: a commit that lost its entry after the migration is not looked for again by scanning.
    await legacy.outbox.collection.deleteOne({ _id: commitKey(id, 1) } as never);
    expect(await legacy.streamsWithUndispatched(new Date(Date.now() + 1000))).toEqual([]);
  });

  it('publishing a new commit first publishes the older ones a dead process left undispatched', async () => {
    const id = 'outbox-walk';
    await handle(id, install(id));
    await complete(id);
    const third = await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.2.0' } });
    const published: number[] = [];
    const outbox = new OutboxDispatcher(store, async (c) => void published.push(c.version));
    expect(await outbox.dispatchCommit((third as { commit: Commit }).commit)).toBe(3);
    expect(published).toEqual([1, 2, 3]);
    expect(await store.undispatchedOf(id)).toEqual([]);
    // Known dispatched now: a repeat publishes nothing.
    expect(await outbox.dispatchCommit((third as { commit: Commit }).commit)).toBe(0);
  });

  it('a stale cached stream collides on append, reloads and decides again; a redelivery through it is answered once', async () => {
    const id = 'stale-cache';
    const a = new StreamCache<ReleaseState>();
    const b = new StreamCache<ReleaseState>();
    await handleCommand(store, id, install(id), meta(), RELEASE_AGGREGATE, a);
    // Instance b takes over the partition and moves the stream on; a's copy is now two versions behind.
    const { state } = await loadStream(store, id, RELEASE_AGGREGATE.decider);
    const pending = (state as Exclude<ReleaseState, { status: 'NONE' }>).pending!;
    await handleCommand(store, id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: pending.operationId, outcome: 'SUCCEEDED' } }, meta(), RELEASE_AGGREGATE, b);
    const upgradeMeta = meta();
    const upgrade: ReleaseCommand = { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0' } };
    const first = await handleCommand(store, id, upgrade, upgradeMeta, RELEASE_AGGREGATE, b);
    expect(first).toMatchObject({ outcome: 'ACCEPTED', duplicate: false });
    // The same command reaches a (a rebalance redelivers it): one commit, the first answer.
    const again = await handleCommand(store, id, upgrade, upgradeMeta, RELEASE_AGGREGATE, a);
    expect(again).toMatchObject({ outcome: 'ACCEPTED', duplicate: true });
    expect(again.outcome === 'ACCEPTED' && again.result).toEqual(first.outcome === 'ACCEPTED' && first.result);
    // A new command through a's (reloaded) copy lands after b's commits.
    const done = await handleCommand(store, id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: upgradeMeta.commandId, outcome: 'SUCCEEDED' } }, meta(), RELEASE_AGGREGATE, a);
    expect(done).toMatchObject({ outcome: 'ACCEPTED', commit: { version: 4 } });
    expect((await store.readStream(id)).map((c) => c.version)).toEqual([1, 2, 3, 4]);
  });

  it('a publish that fails leaves the commit undispatched for the next attempt', async () => {
    const id = 'outbox-fail';
    await handle(id, install(id));
    const failing = new OutboxDispatcher(store, async () => {
      throw new Error('broker down');
    });
    await expect(failing.dispatchStream(id)).rejects.toThrow('broker down');
    expect(await store.undispatchedOf(id)).toHaveLength(1);
    const published: number[] = [];
    await new OutboxDispatcher(store, async (c) => void published.push(c.version)).dispatchStream(id);
    expect(published).toEqual([1]);
  });

  it('projection applied twice leaves the read model unchanged the second time', async () => {
    const id = 'projection';
    await handle(id, install(id));
    await complete(id);
    await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0', values: { x: 1 } } });
    await complete(id, 'FAILED');
    await handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } });
    expect(await readModel.catchUp(store, id)).toBe(5);
    const view = await readModel.get(id);
    const history = await readModel.history(id);
    // Applying the same commits again, from a stale copy of the view, changes nothing.
    await readModel.applyCommits(null, await store.readStream(id));
    await readModel.applyCommits({ ...view!, version: 3 }, await store.readStream(id, 3));
    expect(await readModel.catchUp(store, id)).toBe(0);
    expect(await readModel.get(id)).toEqual(view);
    expect(await readModel.history(id)).toEqual(history);
    expect(view).toMatchObject({ status: 'PENDING_ROLLBACK', currentRevision: 3, lastSuccessfulRevision: 1, version: 5 });
    expect(history.map((r) => [r.revision, r.operation, r.status, r.chartVersion])).toEqual([
      [1, 'INSTALL', 'DEPLOYED', '1.0.0'],
      [2, 'UPGRADE', 'FAILED', '1.1.0'],
      [3, 'ROLLBACK', 'PENDING_ROLLBACK', '1.0.0'],
    ]);
    expect(JSON.parse(history[2].valuesJson)).toEqual(JSON.parse(history[0].valuesJson));
  });

  it('a remembered view that another instance moved on is read again, never written over', async () => {
    const id = 'remembered-view';
    // Two instances: their own connection objects to the same database.
    const a = new ReleaseReadModel(connection.useDb(connection.name, { useCache: false }), '', undefined, true);
    const b = new ReleaseReadModel(connection.useDb(connection.name, { useCache: false }), '', undefined, true);
    const first = await handle(id, install(id));
    await a.catchUp(store, id, (first as { commit: Commit }).commit);
    const second = await complete(id);
    await b.catchUp(store, id, (second as { commit: Commit }).commit);
    const third = await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0' } });
    // a remembers version 1; the stored view is at 2. Its write must not lose b's projection.
    expect(await a.catchUp(store, id, (third as { commit: Commit }).commit)).toBe(1);
    expect(await readModel.get(id)).toMatchObject({ version: 3, status: 'PENDING_UPGRADE', lastSuccessfulRevision: 1, currentRevision: 2 });
    expect((await readModel.history(id)).map((r) => [r.revision, r.status])).toEqual([
      [1, 'DEPLOYED'],
      [2, 'PENDING_UPGRADE'],
    ]);
  });

  it('the watchdog finds exactly the releases whose pending operation is past its deadline, also in a rebuilt read model', async () => {
    const model = new ReleaseReadModel(connection, `overdue_${uniqueSuffix()}_`);
    const [late, onTime, done] = ['wd-late', 'wd-on-time', 'wd-done'];
    // Decided a long time ago: the install's deadline is long past.
    await handle(late, install(late), meta({ now: '2001-01-01T00:00:00.000Z' }));
    await handle(onTime, install(onTime));
    await handle(done, install(done), meta({ now: '2001-01-01T00:00:00.000Z' }));
    await complete(done);
    for (const id of [late, onTime, done]) await model.catchUp(store, id);
    const now = new Date().toISOString();
    expect((await model.overdue(now)).map((v) => v.releaseId)).toEqual([late]);
    expect(await model.get(onTime)).toMatchObject({ pending: true });
    expect(await model.get(done)).not.toHaveProperty('pending');
    // A view written before the flag existed is flagged at start, and then seen.
    await model.releases.collection.updateOne({ _id: late } as never, { $unset: { pending: '' } });
    expect(await model.overdue(now)).toEqual([]);
    expect(await model.upgradeStoredViews()).toBe(1);
    expect((await model.overdue(now)).map((v) => v.releaseId)).toEqual([late]);
    expect(await model.upgradeStoredViews()).toBe(0);
    const rebuilt = new ReleaseReadModel(connection, `overdue_rebuilt_${uniqueSuffix()}_`);
    await rebuilt.rebuild(store);
    expect((await rebuilt.overdue(now)).map((v) => v.releaseId)).toEqual([late]);
  });

  it('a read model rebuilt from the log equals the live one', async () => {
    const rebuilt = new ReleaseReadModel(connection, `rebuild_${uniqueSuffix()}_`);
    for (const id of ['projection', 'idem', 'race']) await readModel.catchUp(store, id);
    await rebuilt.rebuild(store);
    for (const id of ['projection', 'idem', 'race']) {
      expect(await rebuilt.get(id)).toEqual(await readModel.get(id));
      expect(await rebuilt.history(id)).toEqual(await readModel.history(id));
    }
  });

  it('loads a stream of 10,000 revisions from a snapshot plus the tail', async () => {
    const id = 'long';
    await handle(id, install(id));
    await complete(id);
    // 10,000 revisions are written straight to the collection (a real decision each would take minutes);
    // each commit is what the decider would produce: an upgrade request and its outcome.
    const { state: start, version: v0, hash: h0 } = await loadStream(store, id, RELEASE_AGGREGATE.decider);
    let state = start;
    let version = v0;
    let hash = h0;
    const docs = [];
    const { commitHash, commitKey } = await import('@app/event-store');
    for (let revision = 3; revision <= 10_001; revision += 1) {
      const command: ReleaseCommand = { type: 'UpgradeRelease', data: { releaseId: id, values: { i: revision } } };
      const m = meta({ commandId: `long-${revision}` });
      const requested = RELEASE_AGGREGATE.decider.decide(command, state, m);
      state = requested.reduce(RELEASE_AGGREGATE.decider.evolve, state);
      const done = RELEASE_AGGREGATE.decider.decide(
        { type: 'RecordOperationResult', data: { releaseId: id, operationId: m.commandId, outcome: 'SUCCEEDED' } },
        state,
        meta({ commandId: `long-${revision}-done` }),
      );
      state = done.reduce(RELEASE_AGGREGATE.decider.evolve, state);
      version += 1;
      const events = [...requested, ...done].map((e, i) => ({ eventId: `${id}:${version}:${i}`, type: e.type, schemaVersion: 1, data: JSON.stringify(e.data) }));
      const body = { streamId: id, version, commandId: m.commandId, commandType: 'UpgradeRelease', events, result: 'null', metadata: { actor: 't', correlationId: 'c', now: m.now }, prevHash: hash };
      hash = commitHash(body);
      docs.push({ _id: commitKey(id, version), pos: new Types.ObjectId(), ...body, recordedAt: new Date(), dispatched: true, hash });
      if (version % 1000 === 0) await store.saveSnapshot(id, version, 1, { state, hash });
    }
    for (let i = 0; i < docs.length; i += 1000) await store.commits.collection.insertMany(docs.slice(i, i + 1000) as never[]);
    const loaded = await loadStream(store, id, RELEASE_AGGREGATE.decider);
    expect(loaded.version).toBe(version);
    expect(loaded.state).toEqual(state);
    const release = loaded.state as Exclude<ReleaseState, { status: 'NONE' }>;
    expect(release.revisions).toHaveLength(10_000);
    expect(release.revisions[9_999]).toMatchObject({ revision: 10_000, status: 'DEPLOYED', values: { i: 10_001 } });
    // And the next real decision lands after the tail.
    const next = await handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } });
    expect(next).toMatchObject({ outcome: 'ACCEPTED', result: { revision: 10_001, targetRevision: 1 } });
  }, 120_000);

  it('an unknown event type or schema version in the log is a clear error naming it, never skipped', async () => {
    const id = 'unknown';
    await handle(id, install(id));
    await store.commits.collection.insertOne({
      _id: commitKey(id, 2),
      pos: new Types.ObjectId(),
      streamId: id,
      version: 2,
      commandId: 'alien',
      commandType: 'Alien',
      events: [{ eventId: `${id}:2:0`, type: 'ReleaseTeleported', schemaVersion: 1, data: '{}' }],
      result: 'null',
      metadata: { actor: 'x', correlationId: 'x', now: new Date().toISOString() },
      recordedAt: new Date(),
      dispatched: true,
      prevHash: '',
      hash: '',
    } as never);
    await expect(store.readStream(id)).rejects.toThrow(UnknownEventError);
    await expect(store.readStream(id)).rejects.toThrow(/'ReleaseTeleported'.*'unknown' at version 2/);
    await store.commits.collection.updateOne({ streamId: id, version: 2 }, { $set: { 'events.0.type': 'RevisionDeployed', 'events.0.schemaVersion': 9 } });
    await expect(store.readStream(id)).rejects.toThrow(/'RevisionDeployed' with schema version 9/);
  });

  it('with a cipher, values are sealed in commits, snapshots and archived history, and read back exactly', async () => {
    const sealedStore = new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS, cipher: new ValuesCipher(randomBytes(32)), prefix: 'sealed_' });
    await sealedStore.ensureIndexes();
    const id = 'sealed';
    const secret = `pw-${uniqueSuffix()}`;
    const command = { ...install(id), data: { ...(install(id).data as object), values: { password: secret } } } as unknown as ReleaseCommand;
    // A snapshot after every commit, holding one revision: revision 1 goes to the archive at the upgrade.
    const options = { ...RELEASE_AGGREGATE, snapshotEvery: 1, history: { ...RELEASE_AGGREGATE.history!, chunkSize: 1, compact: (s: ReleaseState) => compactRelease(s, 1, 1) } };
    const installed = meta();
    await handleCommand(sealedStore, id, command, installed, options);
    await handleCommand(sealedStore, id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: installed.commandId, outcome: 'SUCCEEDED' } }, meta(), options);
    await handleCommand(sealedStore, id, { type: 'UpgradeRelease', data: { releaseId: id, values: { other: 1 } } }, meta(), options);
    const raw = JSON.stringify([await sealedStore.commits.find({}).lean(), await sealedStore.snapshots.find({}).lean()]);
    const archive = JSON.stringify(await sealedStore.archive.find({}).lean());
    expect(raw + archive).not.toContain(secret);
    expect(raw).toContain('sealed:v1.');
    expect(raw).toContain('$sealed');
    expect(archive).toContain('sealed:v1.');
    const loaded = await loadWholeStream(sealedStore, id, RELEASE_AGGREGATE.decider, options as never);
    expect(loaded.version).toBe(3);
    expect((loaded.state as Exclude<ReleaseState, { status: 'NONE' }>).revisions[0].values).toEqual({ password: secret });
    expect((await sealedStore.readCommit(id, 1))!.events[0].data).toMatchObject({ values: { password: secret } });
  });

  it('refuses a domain rule with a DomainError code, never a crash', async () => {
    const result = await handle('nobody', { type: 'RollbackRelease', data: { releaseId: 'nobody', targetRevision: 1 } });
    expect(result).toMatchObject({ outcome: 'REJECTED', error: { code: 'RELEASE_NOT_FOUND' } });
    expect(DomainError).toBeDefined();
  });
});
