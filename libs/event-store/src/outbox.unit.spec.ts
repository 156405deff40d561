import type { Commit } from './store-records';
import { OutboxDispatcher, OutboxStorePort } from './outbox';

// The dispatcher's ordering and marking rules on their own, over an in-memory outbox (its Mongo
// counterpart is exercised by the integration and fault tiers).
const commit = (streamId: string, version: number): Commit =>
  ({ id: `${streamId}-${version}`, streamId, version, commandId: `c${version}`, commandType: 'X', events: [], result: null, metadata: { actor: 'a', correlationId: 'c', now: '' }, recordedAt: new Date(0), dispatched: false, prevHash: '', hash: '' }) as Commit;

class MemoryOutbox implements OutboxStorePort {
  readonly commits = new Map<string, Commit>();
  readonly marked = new Set<string>();
  readonly markOrder: string[] = [];
  private key = (c: Pick<Commit, 'streamId' | 'version'>) => `${c.streamId}@${c.version}`;
  add(...cs: Commit[]) {
    for (const c of cs) this.commits.set(this.key(c), c);
  }
  async readCommit(streamId: string, version: number) {
    return this.commits.get(`${streamId}@${version}`) ?? null;
  }
  async isDispatched(c: Pick<Commit, 'streamId' | 'version' | 'dispatched'>) {
    return this.marked.has(this.key(c));
  }
  async markDispatched(c: Pick<Commit, 'streamId' | 'version'>) {
    this.marked.add(this.key(c));
    this.markOrder.push(this.key(c));
  }
  async markDispatchedMany(cs: Array<Pick<Commit, 'streamId' | 'version'>>) {
    for (const c of cs) await this.markDispatched(c);
  }
  async forgetOutboxEntries() {}
  async undispatchedOf(streamId: string, upto = Number.MAX_SAFE_INTEGER) {
    return [...this.commits.values()].filter((c) => c.streamId === streamId && c.version <= upto && !this.marked.has(this.key(c))).sort((a, b) => a.version - b.version);
  }
  async streamsWithUndispatched() {
    return [...new Set([...this.commits.values()].filter((c) => !this.marked.has(this.key(c))).map((c) => c.streamId))];
  }
}

const setup = () => {
  const store = new MemoryOutbox();
  const published: string[] = [];
  let failNext = 0;
  const dispatcher = new OutboxDispatcher(store, async (c) => {
    await new Promise((resolve) => setImmediate(resolve));
    if (failNext > 0) {
      failNext -= 1;
      throw new Error('broker away');
    }
    published.push(`${c.streamId}@${c.version}`);
  });
  return { store, published, dispatcher, failOnce: () => (failNext = 1) };
};

describe('OutboxDispatcher', () => {
  it('publishes the older commits a dead process left undispatched first, in version order, each marked after it is published', async () => {
    const { store, published, dispatcher } = setup();
    store.add(commit('web', 1), commit('web', 2), commit('web', 3));
    await store.markDispatched(commit('web', 1));
    expect(await dispatcher.dispatchCommit(commit('web', 3))).toBe(2);
    expect(published).toEqual(['web@2', 'web@3']);
    expect(store.markOrder).toEqual(['web@1', 'web@2', 'web@3']);
  });

  it('a publish that fails leaves the commit unmarked, and the next dispatch publishes it again', async () => {
    const { store, published, dispatcher, failOnce } = setup();
    store.add(commit('web', 1));
    failOnce();
    await expect(dispatcher.dispatchCommit(commit('web', 1), true)).rejects.toThrow('broker away');
    expect(store.marked.has('web@1')).toBe(false);
    expect(await dispatcher.dispatchStream('web')).toBe(1);
    expect(published).toEqual(['web@1']);
  });

  it('should be idempotent if run twice: a commit already dispatched is not published again', async () => {
    const { store, published, dispatcher } = setup();
    store.add(commit('web', 1));
    await dispatcher.dispatchCommit(commit('web', 1), true);
    expect(await dispatcher.dispatchCommit(commit('web', 1))).toBe(0);
    expect(await dispatcher.sweep(0)).toBe(0);
    expect(published).toEqual(['web@1']);
  });

  it('one stream at a time: concurrent dispatches of a stream publish each commit once, in order', async () => {
    const { store, published, dispatcher } = setup();
    const commits = [1, 2, 3, 4, 5].map((v) => commit('web', v));
    store.add(...commits);
    await Promise.all([...commits].reverse().map((c) => dispatcher.dispatchCommit(c)).concat([dispatcher.dispatchStream('web'), dispatcher.sweep(0)]));
    expect(published).toEqual(['web@1', 'web@2', 'web@3', 'web@4', 'web@5']);
  });

  it('dispatchFresh sends the commits it may in one send and marks them; a stream with unknown earlier commits goes one by one first', async () => {
    const { store, published, dispatcher } = setup();
    store.add(commit('a', 1), commit('b', 1), commit('b', 2), commit('c', 1), commit('c', 2));
    await dispatcher.dispatchCommit(commit('b', 1), true);
    const sends: string[][] = [];
    // a@1 is new; b@2 follows b@1, known dispatched; c@2 has an undispatched c@1 this process never saw.
    await dispatcher.dispatchFresh([commit('a', 1), commit('b', 2), commit('c', 2)], async (ready) => {
      sends.push(ready.map((c) => `${c.streamId}@${c.version}`));
    });
    expect(sends).toEqual([['a@1', 'b@2']]);
    expect(published).toEqual(['b@1', 'c@1', 'c@2']);
    expect(await store.streamsWithUndispatched()).toEqual([]);
  });
});
