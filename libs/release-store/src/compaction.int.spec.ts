import { CommandMetadata, compactRelease, DecisionSummary, fold, ReleaseCommand, ReleaseEvent, ReleaseState, releaseDecider } from '@app/domain';
import { uniqueSuffix } from '@app/test-support';
import { RELEASE_AGGREGATE } from './release-aggregate';
import { useStoreDatabase } from './store.spec-support';
import { AggregateOptions, decideTogether, handleCommand, loadStream, loadWholeStream, StreamCache, verifyChain } from '@app/event-store';
const V = RELEASE_AGGREGATE.snapshotSchemaVersion!;

// A release state compacted to its newest revisions, on the real MongoDB-wire server: snapshots and the
// cache hold the window, and a decision that reaches past it is made again on the whole stream.
describe('compacted release history', () => {
  const db = useStoreDatabase('compact');
  let n = 0;
  const KEEP = 3;
  const CHUNK = 2;
  // Snapshot every 4 commits, keep at least 3 revisions, archive 2 at a time: a long history is soon
  // mostly in the archive.
  const options: AggregateOptions<ReleaseState, ReleaseCommand, ReleaseEvent, DecisionSummary> = {
    ...RELEASE_AGGREGATE,
    snapshotEvery: 4,
    history: { ...RELEASE_AGGREGATE.history!, chunkSize: CHUNK, compact: (state) => compactRelease(state, KEEP, CHUNK) },
  };
  const compact = (state: ReleaseState) => compactRelease(state, KEEP, CHUNK);
  const meta = (): CommandMetadata => {
    n += 1;
    return { commandId: `c-${uniqueSuffix()}-${n}`, now: new Date().toISOString(), actor: 'tester', correlationId: `corr-${n}` };
  };
  const handle = (id: string, command: ReleaseCommand, cache?: StreamCache<ReleaseState>, metadata = meta()) =>
    handleCommand(db.store, id, command, metadata, options, cache);
  const pendingOf = async (id: string): Promise<string> => {
    const state = await whole(id);
    return (state as ReleaseState & { pending: { operationId: string } }).pending.operationId;
  };
  /** Installs `id` and upgrades it to `revisions` revisions, each deployed; values name the revision. */
  const seed = async (id: string, revisions: number): Promise<void> => {
    for (let r = 1; r <= revisions; r += 1) {
      const command: ReleaseCommand =
        r === 1
          ? { type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { r } } }
          : { type: 'UpgradeRelease', data: { releaseId: id, values: { r } } };
      const requested = await handle(id, command);
      expect(requested.outcome).toBe('ACCEPTED');
      const done = await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: await pendingOf(id), outcome: 'SUCCEEDED', helmRevision: r } });
      expect(done.outcome).toBe('ACCEPTED');
    }
  };
  const whole = async (id: string): Promise<ReleaseState> =>
    fold(releaseDecider.evolve, releaseDecider.initialState(), (await db.store.readStream(id)).flatMap((c) => c.events as unknown as ReleaseEvent[]));

  it('stores a snapshot holding only the newest revisions, after archiving the older ones in chunks', async () => {
    const id = `cp-a-${uniqueSuffix()}`;
    await seed(id, 9); // 18 commits: snapshots at 4, 8, 12 and 16
    const snapshot = await db.store.latestSnapshot(id, V);
    expect(snapshot?.version).toBe(16); // revisions 1..8: 4 archived in 2 chunks, 5..8 held
    const saved = (snapshot!.state as { state: ReleaseState }).state;
    if (saved.status === 'NONE') throw new Error('no release');
    expect(saved.revisions.map((r) => r.revision)).toEqual([5, 6, 7, 8]);
    expect(saved.archivedRevisions).toBe(4);
    const chunks = (await db.store.readArchive(id, V, 2)) as Array<Array<{ revision: number; values: unknown }>>;
    expect(chunks.map((c) => c.map((r) => r.revision))).toEqual([[1, 2], [3, 4]]);
    expect(chunks[0][1].values).toEqual({ r: 2 });
    // Snapshot plus tail, compacted, is the compaction of the whole log's fold; with the archive put back,
    // it is that fold.
    const loaded = await loadStream(db.store, id, releaseDecider as never);
    expect(compact(loaded.state as ReleaseState)).toEqual(compact(await whole(id)));
    expect((await loadWholeStream(db.store, id, releaseDecider as never, options)).state).toEqual(await whole(id));
  });

  it('reads the whole history from the archive chunks, and from the log when a chunk is missing or does not fit', async () => {
    const id = `cp-e-${uniqueSuffix()}`;
    await seed(id, 9);
    const truth = await whole(id);
    // An altered chunk shows which source was read: revision 1's values as the chunk says.
    const key = `${id}#${V}#000000`;
    const original = await db.store.archive.findById(key).lean();
    const chunk = (await db.store.readArchive(id, V, 1))![0] as Array<{ values: unknown }>;
    chunk[0].values = { from: 'the archive' };
    await db.store.archive.deleteOne({ _id: key });
    await db.store.saveArchiveChunks(id, V, [{ index: 0, items: chunk }]);
    const fromArchive = (await loadWholeStream(db.store, id, releaseDecider as never, options)).state;
    expect(fromArchive.status !== 'NONE' && fromArchive.revisions[0].values).toEqual({ from: 'the archive' });
    // A chunk that does not fit (revision 1 missing from it): the log.
    await db.store.archive.deleteOne({ _id: key });
    await db.store.saveArchiveChunks(id, V, [{ index: 0, items: chunk.slice(1) }]);
    expect((await loadWholeStream(db.store, id, releaseDecider as never, options)).state).toEqual(truth);
    // A missing chunk: the log.
    await db.store.archive.deleteOne({ _id: key });
    expect((await loadWholeStream(db.store, id, releaseDecider as never, options)).state).toEqual(truth);
    await db.store.archive.collection.insertOne(original as never);
  });

  it('rolls back to an archived revision exactly, and to a held one from the window', async () => {
    const id = `cp-b-${uniqueSuffix()}`;
    await seed(id, 9);
    const cache = new StreamCache<ReleaseState>();
    // Held: decided on the cached, compacted state.
    const recent = await handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 8 } }, cache);
    expect(recent).toMatchObject({ outcome: 'ACCEPTED', result: { revision: 10, targetRevision: 8 } });
    await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: await pendingOf(id), outcome: 'SUCCEEDED' } }, cache);
    // Archived: revision 2's exact chart version and values, as revision 11.
    const old = await handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 2 } }, cache);
    expect(old).toMatchObject({ outcome: 'ACCEPTED', result: { revision: 11, targetRevision: 2, chartVersion: '1.0.0' } });
    const requested = old.outcome === 'ACCEPTED' ? (old.commit!.events[0] as unknown as ReleaseEvent) : undefined;
    expect(requested).toMatchObject({ type: 'RollbackRequested', data: { revision: 11, rollbackOf: 2, values: { r: 2 } } });
    // What the cache holds is what the log says.
    expect(compact(cache.get(id)!.state)).toEqual(compact(await whole(id)));
    // A refusal naming every revision needs no archive read: revisions 1..11.
    await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: await pendingOf(id), outcome: 'SUCCEEDED' } }, cache);
    const unknown = await handle(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 99 } }, cache);
    expect(unknown).toMatchObject({ outcome: 'REJECTED', error: { code: 'REVISION_NOT_FOUND', details: { validRevisions: Array.from({ length: 11 }, (_, i) => i + 1) } } });
    expect((await verifyChain(db.store)).problems).toEqual([]);
  });

  it('answers a late outcome of an operation outside the window as a no-op, after reading the whole log', async () => {
    const id = `cp-c-${uniqueSuffix()}`;
    const first = meta();
    await handle(id, { type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { r: 1 } } }, undefined, first);
    await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: first.commandId, outcome: 'SUCCEEDED' } });
    await seedMore(id, 6);
    const before = (await db.store.readStream(id)).length;
    const late = await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: first.commandId, outcome: 'FAILED', error: 'late' } }, new StreamCache());
    expect(late).toMatchObject({ outcome: 'ACCEPTED', commit: null });
    expect((await db.store.readStream(id)).length).toBe(before);
    const bogus = await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: 'never-was', outcome: 'SUCCEEDED' } }, new StreamCache());
    expect(bogus).toMatchObject({ outcome: 'REJECTED', error: { code: 'OPERATION_NOT_FOUND' } });
  });

  it('leaves a decision that needs the whole history from the quick pass to the careful step', async () => {
    const id = `cp-d-${uniqueSuffix()}`;
    await seed(id, 7);
    const cache = new StreamCache<ReleaseState>();
    const items = [
      { streamId: id, command: { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } } as ReleaseCommand, metadata: meta() },
    ];
    const { answers } = await decideTogether(db.store, items, options, cache);
    expect(answers).toEqual([null]);
    const decided = await handle(id, items[0].command, cache, items[0].metadata);
    expect(decided).toMatchObject({ outcome: 'ACCEPTED', result: { revision: 8, targetRevision: 1 } });
  });

  const seedMore = async (id: string, upgrades: number): Promise<void> => {
    for (let i = 0; i < upgrades; i += 1) {
      await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, values: { more: i } } });
      await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: await pendingOf(id), outcome: 'SUCCEEDED' } });
    }
  };
});
