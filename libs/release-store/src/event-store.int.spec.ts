import { DomainError, ReleaseCommand, ReleaseState } from '@app/domain';
import { uniqueSuffix } from '@app/test-support';
import { ReleaseReadModel } from './release-read-model';
import { installCommand, metadataMaker, useStoreDatabase } from './store.spec-support';
import { RELEASE_AGGREGATE, RELEASE_EVENT_SCHEMAS } from './release-aggregate';
import { Commit, commitKey, handleCommand, loadStream, MongoEventStore, OutboxDispatcher, StreamCache } from '@app/event-store';

// Runs against the real MongoDB-wire server of the test run (FerretDB here, MongoDB where MONGODB_URI says so).
describe('MongoEventStore and handleCommand', () => {
  const db = useStoreDatabase('es');
  const meta = metadataMaker();
  const install = installCommand;
  const handle = (releaseId: string, command: ReleaseCommand, metadata = meta()) =>
    handleCommand(db.store, releaseId, command, metadata, RELEASE_AGGREGATE);
  const complete = async (releaseId: string, outcome: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') => {
    const { state } = await loadStream(db.store, releaseId, RELEASE_AGGREGATE.decider);
    const pending = (state as Exclude<ReleaseState, { status: 'NONE' }>).pending!;
    return handle(releaseId, { type: 'RecordOperationResult', data: { releaseId, operationId: pending.operationId, outcome, helmRevision: 1 } });
  };

  it('stores one commit per decision with all its events and exact values', async () => {
    const result = await handle('exact', install('exact'));
    expect(result.outcome).toBe('ACCEPTED');
    const [commit] = await db.store.readStream('exact');
    expect(commit.version).toBe(1);
    expect(commit.events).toHaveLength(1);
    expect(commit.events[0]).toMatchObject({ eventId: 'exact:1:0', type: 'InstallRequested', schemaVersion: 2 });
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
    const commits = await db.store.readStream(id);
    expect(commits.map((c) => c.version)).toEqual([1, 2, 3]);
    const { state } = await loadStream(db.store, id, RELEASE_AGGREGATE.decider);
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
    expect(await db.store.readStream(id)).toHaveLength(3);
  });

  it('the same id delivered concurrently also commits once', async () => {
    const id = 'idem-concurrent';
    const metadata = meta();
    const answers = await Promise.all([1, 2, 3].map(() => handle(id, install(id), metadata)));
    expect(answers).toEqual([expect.objectContaining({ outcome: 'ACCEPTED' }), expect.objectContaining({ outcome: 'ACCEPTED' }), expect.objectContaining({ outcome: 'ACCEPTED' })]);
    expect(await db.store.readStream(id)).toHaveLength(1);
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
    expect(await db.store.readStream(id)).toHaveLength(1);
  });

  it("a command id names a command within its release only: one release's recorded refusal does not answer another's", async () => {
    const [a, b] = ['span-a', 'span-b'];
    await handle(a, install(a));
    const shared = meta();
    expect(await handle(a, { type: 'RollbackToLastSuccessful', data: { releaseId: a } }, shared)).toMatchObject({ outcome: 'REJECTED', error: { code: 'OPERATION_IN_PROGRESS' } });
    expect(await handle(b, install(b), shared)).toMatchObject({ outcome: 'ACCEPTED', duplicate: false });
    expect(await db.store.readStream(b)).toHaveLength(1);
  });
  it('publishes what a process left undispatched when it died between insert and publish, in order', async () => {
    const id = 'outbox';
    await handle(id, install(id));
    await complete(id);
    await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.2.0' } });
    // The "dead" process appended three commits and published none. A new process's relay finds them.
    const published: Commit[] = [];
    const relay = new OutboxDispatcher(db.store, async (commit) => void published.push(commit));
    const count = await relay.sweep(0);
    expect(count).toBeGreaterThanOrEqual(3);
    const ours = published.filter((c) => c.streamId === id);
    expect(ours.map((c) => c.version)).toEqual([1, 2, 3]);
    expect(await db.store.undispatchedOf(id)).toEqual([]);
    expect(await relay.dispatchStream(id)).toBe(0);
  });

  it('keeps in the outbox exactly the commits not yet marked dispatched, and the relay reads only the outbox', async () => {
    const id = 'outbox-entries';
    const installed = await handle(id, install(id));
    const key = commitKey(id, 1);
    const entries = async () => (await db.store.outbox.find({ streamId: id }).lean()).map((e) => e._id);
    expect(installed.outcome === 'ACCEPTED' && installed.commit?.version).toBe(1);
    expect(await entries()).toEqual([key]);
    await db.store.markDispatched({ streamId: id, version: 1 });
    expect(await entries()).toEqual([]);
    // An entry left behind after its marker (the writer died in between) is dropped by the relay.
    await db.store.outbox.collection.insertOne({ _id: key, streamId: id, at: new Date(0) } as never);
    expect(await db.store.streamsWithUndispatched(new Date())).not.toContain(id);
    expect(await entries()).toEqual([]);
    // An entry whose commit never came: kept while its writer may still insert it, then dropped.
    const orphan = commitKey(id, 7);
    await db.store.outbox.collection.insertOne({ _id: orphan, streamId: id, at: new Date(Date.now() - 60_000) } as never);
    expect(await db.store.streamsWithUndispatched(new Date())).not.toContain(id);
    expect(await entries()).toEqual([orphan]);
    await db.store.outbox.collection.updateOne({ _id: orphan } as never, { $set: { at: new Date(Date.now() - 3_600_000) } });
    await db.store.streamsWithUndispatched(new Date());
    expect(await entries()).toEqual([]);
    // A writer whose key already has an (old) entry makes it fresh, so the relay keeps it until the commit.
    const next = commitKey(id, 2);
    await db.store.outbox.collection.insertOne({ _id: next, streamId: id, at: new Date(Date.now() - 3_600_000) } as never);
    const upgraded = await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: (installed as { commit: Commit }).commit.commandId, outcome: 'SUCCEEDED' } });
    expect(upgraded).toMatchObject({ outcome: 'ACCEPTED', commit: { version: 2 } });
    const entry = await db.store.outbox.findById(next).lean();
    expect(Date.now() - entry!.at.getTime()).toBeLessThan(60_000);
    expect(await db.store.streamsWithUndispatched(new Date(Date.now() + 1000))).toContain(id);
  });

  it('gives the commits written before the outbox existed, and never marked, an entry once per database', async () => {
    const legacy = new MongoEventStore(db.connection, { schemas: RELEASE_EVENT_SCHEMAS, prefix: `legacy_${uniqueSuffix()}_` });
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
    const outbox = new OutboxDispatcher(db.store, async (c) => void published.push(c.version));
    expect(await outbox.dispatchCommit((third as { commit: Commit }).commit)).toBe(3);
    expect(published).toEqual([1, 2, 3]);
    expect(await db.store.undispatchedOf(id)).toEqual([]);
    // Known dispatched now: a repeat publishes nothing.
    expect(await outbox.dispatchCommit((third as { commit: Commit }).commit)).toBe(0);
  });

  it('a stale cached stream collides on append, reloads and decides again; a redelivery through it is answered once', async () => {
    const id = 'stale-cache';
    const a = new StreamCache<ReleaseState>();
    const b = new StreamCache<ReleaseState>();
    await handleCommand(db.store, id, install(id), meta(), RELEASE_AGGREGATE, a);
    // Instance b takes over the partition and moves the stream on; a's copy is now two versions behind.
    const { state } = await loadStream(db.store, id, RELEASE_AGGREGATE.decider);
    const pending = (state as Exclude<ReleaseState, { status: 'NONE' }>).pending!;
    await handleCommand(db.store, id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: pending.operationId, outcome: 'SUCCEEDED' } }, meta(), RELEASE_AGGREGATE, b);
    const upgradeMeta = meta();
    const upgrade: ReleaseCommand = { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0' } };
    const first = await handleCommand(db.store, id, upgrade, upgradeMeta, RELEASE_AGGREGATE, b);
    expect(first).toMatchObject({ outcome: 'ACCEPTED', duplicate: false });
    // The same command reaches a (a rebalance redelivers it): one commit, the first answer.
    const again = await handleCommand(db.store, id, upgrade, upgradeMeta, RELEASE_AGGREGATE, a);
    expect(again).toMatchObject({ outcome: 'ACCEPTED', duplicate: true });
    expect(again.outcome === 'ACCEPTED' && again.result).toEqual(first.outcome === 'ACCEPTED' && first.result);
    // A new command through a's (reloaded) copy lands after b's commits.
    const done = await handleCommand(db.store, id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: upgradeMeta.commandId, outcome: 'SUCCEEDED' } }, meta(), RELEASE_AGGREGATE, a);
    expect(done).toMatchObject({ outcome: 'ACCEPTED', commit: { version: 4 } });
    expect((await db.store.readStream(id)).map((c) => c.version)).toEqual([1, 2, 3, 4]);
  });

  it('a publish that fails leaves the commit undispatched for the next attempt', async () => {
    const id = 'outbox-fail';
    await handle(id, install(id));
    const failing = new OutboxDispatcher(db.store, async () => {
      throw new Error('broker down');
    });
    await expect(failing.dispatchStream(id)).rejects.toThrow('broker down');
    expect(await db.store.undispatchedOf(id)).toHaveLength(1);
    const published: number[] = [];
    await new OutboxDispatcher(db.store, async (c) => void published.push(c.version)).dispatchStream(id);
    expect(published).toEqual([1]);
  });

  it('projection applied twice leaves the read model unchanged the second time', async () => {
    const id = 'projection';
    await handle(id, install(id));
    await complete(id);
    await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0', values: { x: 1 } } });
    await complete(id, 'FAILED');
    await handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } });
    expect(await db.readModel.catchUp(db.store, id)).toBe(5);
    const view = await db.readModel.get(id);
    const history = await db.readModel.history(id);
    // Applying the same commits again, from a stale copy of the view, changes nothing.
    await db.readModel.applyCommits(null, await db.store.readStream(id));
    await db.readModel.applyCommits({ ...view!, version: 3 }, await db.store.readStream(id, 3));
    expect(await db.readModel.catchUp(db.store, id)).toBe(0);
    expect(await db.readModel.get(id)).toEqual(view);
    expect(await db.readModel.history(id)).toEqual(history);
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
    // Two instances: their own db.connection objects to the same database.
    const a = new ReleaseReadModel(db.connection.useDb(db.connection.name, { useCache: false }), '', undefined, true);
    const b = new ReleaseReadModel(db.connection.useDb(db.connection.name, { useCache: false }), '', undefined, true);
    const first = await handle(id, install(id));
    await a.catchUp(db.store, id, (first as { commit: Commit }).commit);
    const second = await complete(id);
    await b.catchUp(db.store, id, (second as { commit: Commit }).commit);
    const third = await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0' } });
    // a remembers version 1; the stored view is at 2. Its write must not lose b's projection.
    expect(await a.catchUp(db.store, id, (third as { commit: Commit }).commit)).toBe(1);
    expect(await db.readModel.get(id)).toMatchObject({ version: 3, status: 'PENDING_UPGRADE', lastSuccessfulRevision: 1, currentRevision: 2 });
    expect((await db.readModel.history(id)).map((r) => [r.revision, r.status])).toEqual([
      [1, 'DEPLOYED'],
      [2, 'PENDING_UPGRADE'],
    ]);
  });

  it('the watchdog finds exactly the releases whose pending operation is past its deadline, also in a rebuilt read model', async () => {
    const model = new ReleaseReadModel(db.connection, `overdue_${uniqueSuffix()}_`);
    const [late, onTime, done] = ['wd-late', 'wd-on-time', 'wd-done'];
    // Decided a long time ago: the install's deadline is long past.
    await handle(late, install(late), meta({ now: '2001-01-01T00:00:00.000Z' }));
    await handle(onTime, install(onTime));
    await handle(done, install(done), meta({ now: '2001-01-01T00:00:00.000Z' }));
    await complete(done);
    for (const id of [late, onTime, done]) await model.catchUp(db.store, id);
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
    const rebuilt = new ReleaseReadModel(db.connection, `overdue_rebuilt_${uniqueSuffix()}_`);
    await rebuilt.rebuild(db.store);
    expect((await rebuilt.overdue(now)).map((v) => v.releaseId)).toEqual([late]);
  });

  it('a read model rebuilt from the log equals the live one', async () => {
    const rebuilt = new ReleaseReadModel(db.connection, `rebuild_${uniqueSuffix()}_`);
    for (const id of ['projection', 'idem', 'race']) await db.readModel.catchUp(db.store, id);
    await rebuilt.rebuild(db.store);
    for (const id of ['projection', 'idem', 'race']) {
      expect(await rebuilt.get(id)).toEqual(await db.readModel.get(id));
      expect(await rebuilt.history(id)).toEqual(await db.readModel.history(id));
    }
  });

  it('a success that arrives after the watchdog failed the operation corrects the record, in the log and the read model', async () => {
    const id = 'late-success';
    const installed = await handle(id, install(id), meta({ now: '2001-01-01T00:00:00.000Z' }));
    const operationId = (installed as { result: { operationId: string } }).result.operationId;
    expect(await handle(id, { type: 'ExpireOperation', data: { releaseId: id, operationId } })).toMatchObject({ outcome: 'ACCEPTED' });
    await db.readModel.catchUp(db.store, id);
    expect(await db.readModel.get(id)).toMatchObject({ status: 'FAILED', lastError: 'operation timed out', lastSuccessfulRevision: null });
    const late = await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId, outcome: 'SUCCEEDED', helmRevision: 1 } });
    expect(late).toMatchObject({ outcome: 'ACCEPTED', commit: { version: 3 } });
    expect((await db.store.readStream(id)).flatMap((c) => c.events.map((e) => e.type))).toEqual(['InstallRequested', 'RevisionFailed', 'RevisionDeployedLate']);
    await db.readModel.catchUp(db.store, id);
    expect(await db.readModel.get(id)).toMatchObject({ status: 'DEPLOYED', lastError: null, lastSuccessfulRevision: 1, version: 3 });
    expect((await db.readModel.history(id)).map((r) => [r.revision, r.status, r.helmRevision])).toEqual([[1, 'DEPLOYED', 1]]);
  });

  it('refuses a domain rule with a DomainError code, never a crash', async () => {
    const result = await handle('nobody', { type: 'RollbackRelease', data: { releaseId: 'nobody', targetRevision: 1 } });
    expect(result).toMatchObject({ outcome: 'REJECTED', error: { code: 'RELEASE_NOT_FOUND' } });
    expect(DomainError).toBeDefined();
  });
});
