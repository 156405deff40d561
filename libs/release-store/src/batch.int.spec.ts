import { CommandMetadata, DecisionSummary, ReleaseCommand, ReleaseState } from '@app/domain';
import { uniqueSuffix } from '@app/test-support';
import { ReleaseReadModel } from './release-read-model';
import { RELEASE_AGGREGATE } from './release-aggregate';
import { useStoreDatabase } from './store.spec-support';
import { BatchItem, Commit, handleCommand, handleCommands, decideTogether, HandleResult, loadStream, OutboxDispatcher, StreamCache, verifyChain } from '@app/event-store';

// The write path's quick pass (one fetch of a partition decided together), on the real MongoDB-wire
// server: its answers must be those of the careful step, and whatever it cannot decide it must leave.
describe('the write path in one pass (decideTogether), catchUpMany and dispatchFresh', () => {
  const db = useStoreDatabase('batch');
  let n = 0;
  const meta = (): CommandMetadata => {
    n += 1;
    return { commandId: `b-${uniqueSuffix()}-${n}`, now: new Date().toISOString(), actor: 'tester', correlationId: `corr-${n}` };
  };
  const install = (releaseId: string): ReleaseCommand => ({
    type: 'InstallRelease',
    data: { releaseId, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { replicas: 1 } },
  });
  const item = (streamId: string, command: ReleaseCommand, metadata = meta()): BatchItem<ReleaseCommand> => ({ streamId, command, metadata });
  const succeeded = (releaseId: string, operationId: string): ReleaseCommand => ({
    type: 'RecordOperationResult',
    data: { releaseId, operationId, outcome: 'SUCCEEDED', helmRevision: 1 },
  });
  /** The write path's quick pass alone (what handleCommands runs first), to see what it leaves. */
  const batch = async (items: Array<BatchItem<ReleaseCommand>>, cache: StreamCache<ReleaseState>) =>
    (await decideTogether(db.store, items, RELEASE_AGGREGATE, cache)).answers;
  /** What the write path's careful step does with what the quick pass left. */
  const finish = async (items: Array<BatchItem<ReleaseCommand>>, answers: Array<HandleResult<DecisionSummary> | null>, cache: StreamCache<ReleaseState>) => {
    const all: Array<HandleResult<DecisionSummary>> = [];
    for (const [i, answer] of answers.entries()) {
      all.push(answer ?? (await handleCommand(db.store, items[i].streamId, items[i].command, items[i].metadata, RELEASE_AGGREGATE, cache)));
    }
    return all;
  };

  it('decides several commands of several streams in one insert: contiguous versions, an intact hash chain, the answers of the one-by-one path', async () => {
    const cache = new StreamCache<ReleaseState>();
    const ids = ['bx-a', 'bx-b', 'bx-c'];
    const installs = ids.map((id) => item(id, install(id)));
    // Install and its result in the same batch: the second decision is made on the first's state.
    const items = [...installs, ...ids.map((id, i) => item(id, succeeded(id, installs[i].metadata.commandId)))];
    const answers = await batch(items, cache);
    expect(answers.map((a) => a?.outcome)).toEqual(Array(6).fill('ACCEPTED'));
    for (const id of ids) expect((await db.store.readStream(id)).map((c) => c.version)).toEqual([1, 2]);
    expect((await verifyChain(db.store)).problems).toEqual([]);
    // The cache now holds each stream as stored: the next batch needs no read and chains on.
    const upgrades = ids.map((id) => item(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0' } }));
    const next = await batch(upgrades, cache);
    expect(next.map((a) => a?.outcome === 'ACCEPTED' && a.commit?.version)).toEqual([3, 3, 3]);
    // The same decision as the one-by-one path on a fresh read.
    const { state } = await loadStream(db.store, 'bx-a', RELEASE_AGGREGATE.decider);
    expect(cache.get('bx-a')!.state).toEqual(state);
    expect((await verifyChain(db.store)).problems).toEqual([]);
  });

  it('leaves a redelivery, a refusal and everything after them on their stream; answers a command refused before from the store', async () => {
    const cache = new StreamCache<ReleaseState>();
    const id = 'bx-left';
    const other = 'bx-other';
    const first = item(id, install(id));
    await batch([first], cache);
    // Refused once, one by one: its redelivery must get that refusal again, never a new decision.
    const refusedMeta = meta();
    const refused = await handleCommand(db.store, id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } }, refusedMeta, RELEASE_AGGREGATE, cache);
    expect(refused.outcome).toBe('REJECTED');
    const items = [
      item(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } }, refusedMeta),
      item(other, install(other)),
      item(id, install(id), first.metadata), // a redelivery of a recent command
      item(id, succeeded(id, first.metadata.commandId)), // after it, on the same stream: left too
      item(other, { type: 'RollbackRelease', data: { releaseId: other, targetRevision: 1 } }), // refused: left
    ];
    const answers = await batch(items, cache);
    expect(answers[0]).toEqual({ outcome: 'REJECTED', error: (refused as { error: unknown }).error, duplicate: true });
    expect(answers[1]?.outcome).toBe('ACCEPTED');
    expect(answers.slice(2)).toEqual([null, null, null]);
    const all = await finish(items, answers, cache);
    expect(all.map((a) => [a.outcome, a.duplicate])).toEqual([
      ['REJECTED', true],
      ['ACCEPTED', false],
      ['ACCEPTED', true],
      ['ACCEPTED', false],
      ['REJECTED', false],
    ]);
    expect((await db.store.readStream(id)).map((c) => c.commandId)).toEqual([first.metadata.commandId, items[3].metadata.commandId]);
  });

  it('the same command twice in one fetch (a producer retry) commits once and answers both the same', async () => {
    const cache = new StreamCache<ReleaseState>();
    const id = 'bx-twice';
    const once = item(id, install(id));
    const items = [once, item(id, install(id), once.metadata)];
    const answers = await batch(items, cache);
    expect(answers[0]?.outcome).toBe('ACCEPTED');
    expect(answers[1]).toBeNull();
    const all = await finish(items, answers, cache);
    expect(all.map((a) => [a.outcome, a.duplicate])).toEqual([
      ['ACCEPTED', false],
      ['ACCEPTED', true],
    ]);
    expect((all[1] as { result: unknown }).result).toEqual((all[0] as { result: unknown }).result);
    expect((await db.store.readStream(id)).map((c) => c.commandId)).toEqual([once.metadata.commandId]);
  });

  it('a stale cached stream collides: what came before is stored, nothing after, and the rest is decided once on a fresh read', async () => {
    const cache = new StreamCache<ReleaseState>();
    const [a, b, c] = ['bx-s-a', 'bx-s-b', 'bx-s-c'];
    const installs = [a, b, c].map((id) => item(id, install(id)));
    await batch(installs, cache);
    // Another instance moves b on behind this cache's back.
    await handleCommand(db.store, b, succeeded(b, installs[1].metadata.commandId), meta(), RELEASE_AGGREGATE);
    const items = [
      item(a, succeeded(a, installs[0].metadata.commandId)),
      item(b, succeeded(b, installs[1].metadata.commandId)), // decided on the stale copy: collides at version 2
      item(c, succeeded(c, installs[2].metadata.commandId)),
      item(a, { type: 'UpgradeRelease', data: { releaseId: a, chartVersion: '1.1.0' } }),
    ];
    const answers = await batch(items, cache);
    expect(answers[0]?.outcome).toBe('ACCEPTED');
    expect(answers.slice(1)).toEqual([null, null, null]);
    expect(cache.get(b)).toBeUndefined();
    expect((await db.store.readStream(c)).map((x) => x.version)).toEqual([1]);
    const all = await finish(items, answers, cache);
    // On b's fresh state its operation is no longer pending: a late result changes nothing (no commit).
    expect(all.map((x) => x.outcome === 'ACCEPTED' && (x.commit?.version ?? null))).toEqual([2, null, 2, 3]);
    for (const [id, versions] of [[a, [1, 2, 3]], [b, [1, 2]], [c, [1, 2]]] as const) {
      expect((await db.store.readStream(id)).map((x) => x.version)).toEqual(versions);
    }
    expect((await verifyChain(db.store)).problems).toEqual([]);
  });

  it('holds only so many bytes of streams at once: a pass stops before the first item of a stream it did not load, the next pass goes on, each stream in order', async () => {
    const cache = new StreamCache<ReleaseState>();
    const ids = Array.from({ length: 40 }, (_, i) => `bb-${i}`);
    const installs = ids.map((id) => item(id, install(id)));
    // A stream's items in two places: its install among the first, its result after every other install.
    const items = [...installs, ...ids.map((id, i) => item(id, succeeded(id, installs[i].metadata.commandId)))];
    // A budget of one byte: each pass loads one group of streams and takes the items up to the next stream.
    const first = await decideTogether(db.store, items, RELEASE_AGGREGATE, new StreamCache<ReleaseState>(), 1);
    expect(first.taken).toBe(16);
    expect(first.answers).toHaveLength(16);
    expect(first.answers.every((a) => a?.outcome === 'ACCEPTED')).toBe(true);
    // handleCommands goes on from there (with the rest of the streams new to it) and answers every item, in order.
    const answers = await handleCommands(db.store, items.slice(16), RELEASE_AGGREGATE, cache, 1);
    expect(answers).toHaveLength(items.length - 16);
    expect(answers.map((a) => a.outcome)).toEqual(Array(items.length - 16).fill('ACCEPTED'));
    expect(answers.map((a) => a.duplicate)).toEqual(Array(items.length - 16).fill(false));
    for (const id of ids) {
      const commits = await db.store.readStream(id);
      expect(commits.map((c) => [c.version, c.commandType])).toEqual([[1, 'InstallRelease'], [2, 'RecordOperationResult']]);
    }
    expect((await verifyChain(db.store)).problems).toEqual([]);
  });

  it('catchUpMany writes the views the one-by-one projection writes; a view another instance moved on is read again, not written over', async () => {
    const cache = new StreamCache<ReleaseState>();
    const live = new ReleaseReadModel(db.connection, `live_${uniqueSuffix()}_`, undefined, true);
    const other = new ReleaseReadModel(db.connection.useDb(db.connection.name, { useCache: false }), live.prefix, undefined, true);
    const reference = new ReleaseReadModel(db.connection, `ref_${uniqueSuffix()}_`);
    await Promise.all([live.ensureIndexes(), reference.ensureIndexes()]);
    const ids = ['bx-v-a', 'bx-v-b'];
    const commitsOf = (answers: Array<HandleResult<DecisionSummary> | null>) =>
      answers.flatMap((x) => (x?.outcome === 'ACCEPTED' && x.commit ? [x.commit] : []));
    const same = async () => {
      for (const id of ids) {
        await reference.catchUp(db.store, id);
        expect(await live.get(id)).toEqual(await reference.get(id));
        expect(await live.history(id)).toEqual(await reference.history(id));
      }
    };
    const installs = ids.map((id) => item(id, install(id)));
    const upgrades = ids.map((id) => item(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '1.1.0', values: { x: 2 } } }));
    // Install, its result and an upgrade of each in one batch: a revision added and changed in one write.
    const first = await batch([...installs, ...ids.map((id, i) => item(id, succeeded(id, installs[i].metadata.commandId))), ...upgrades], cache);
    expect(first.every((x) => x?.outcome === 'ACCEPTED')).toBe(true);
    await live.catchUpMany(db.store, commitsOf(first));
    await same();
    const second = await batch(ids.map((id, i) => item(id, succeeded(id, upgrades[i].metadata.commandId))), cache);
    // Another instance projects bx-v-b's new commit first: live remembers version 3, the stored view is at 4.
    await other.catchUp(db.store, 'bx-v-b');
    expect((await other.get('bx-v-b'))?.version).toBe(4);
    await live.catchUpMany(db.store, commitsOf(second));
    await same();
    // The views read again are remembered: the next batch is written in one go again, and still right.
    const third = await batch(ids.map((id) => item(id, { type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1 } })), cache);
    expect(third.map((x) => x?.outcome)).toEqual(['ACCEPTED', 'ACCEPTED']);
    await live.catchUpMany(db.store, commitsOf(third));
    await same();
    expect((await live.history('bx-v-a')).map((r) => [r.revision, r.status])).toEqual([
      [1, 'DEPLOYED'],
      [2, 'DEPLOYED'],
      [3, 'PENDING_ROLLBACK'],
    ]);
  });

  it('dispatchFresh sends the commits of known streams with one send and marks them; others go through dispatchCommit first', async () => {
    const cache = new StreamCache<ReleaseState>();
    const sends: Array<Array<[string, number]>> = [];
    const single: Array<[string, number]> = [];
    const outbox = new OutboxDispatcher(db.store, async (c) => void single.push([c.streamId, c.version]));
    const ids = ['bx-d-a', 'bx-d-b'];
    const installs = ids.map((id) => item(id, install(id)));
    const first = await batch(installs, cache);
    const commits = first.map((x) => (x as { commit: Commit }).commit);
    await outbox.dispatchFresh(commits, async (ready) => void sends.push(ready.map((c) => [c.streamId, c.version])));
    expect(sends).toEqual([[['bx-d-a', 1], ['bx-d-b', 1]]]);
    expect(single).toEqual([]);
    for (const c of commits) expect(await db.store.isDispatched(c)).toBe(true);
    // A stream with a commit this outbox never saw published (another process died before publishing it).
    const gap = await handleCommand(db.store, 'bx-d-b', succeeded('bx-d-b', installs[1].metadata.commandId), meta(), RELEASE_AGGREGATE, cache);
    expect(gap.outcome).toBe('ACCEPTED');
    const next = await batch(ids.map((id) => item(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: '2.0.0' } })), cache);
    const nextCommits = next.flatMap((x) => (x?.outcome === 'ACCEPTED' && x.commit ? [x.commit] : []));
    expect(nextCommits.map((c) => [c.streamId, c.version])).toEqual([['bx-d-b', 3]]);
    await outbox.dispatchFresh(nextCommits, async (ready) => void sends.push(ready.map((c) => [c.streamId, c.version])));
    // bx-d-b's version 2 first, then 3, one at a time; the batch's send carries nothing (but is made, for the decisions).
    expect(single).toEqual([
      ['bx-d-b', 2],
      ['bx-d-b', 3],
    ]);
    expect(sends[1]).toEqual([]);
    expect(await db.store.undispatchedOf('bx-d-b')).toEqual([]);
  });
});
