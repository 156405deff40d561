import { MIB } from './approximate-size';
import { LruMap } from './lru';
import type { MongoEventStore } from './mongo-event-store';
import { Commit } from './store-records';

/**
 * The outbox: a commit is undispatched until its events are on Kafka and a dispatched marker says so
 * (MongoEventStore.markDispatched). Commits are published in version order per stream, each marked after the broker acknowledged it, so "commit v is dispatched"
 * implies every earlier commit of the stream is too. Delivery is at least once; consumers deduplicate by
 * event id.
 */
/** What the dispatcher needs of the store: the outbox, the dispatched markers, and point reads of commits. */
export type OutboxStorePort = Pick<
  MongoEventStore,
  'readCommit' | 'isDispatched' | 'markDispatched' | 'markDispatchedMany' | 'forgetOutboxEntries' | 'undispatchedOf' | 'streamsWithUndispatched'
>;

export class OutboxDispatcher {
  /** One chain per stream in this process, so two paths never publish the same stream at once. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** The highest version this process knows to be dispatched, per stream: saves a lookup per commit. */
  private readonly dispatchedUpTo: LruMap<number>;

  constructor(
    private readonly store: OutboxStorePort,
    private readonly publish: (commit: Commit) => Promise<void>,
    /** About how many bytes the dispatched versions may take (a release's id and a number each). */
    memoryBytes = 2 * MIB,
  ) {
    this.dispatchedUpTo = new LruMap({ maxBytes: memoryBytes });
  }

  /**
   * Publishes a commit just appended (or found again for a redelivered command), after any older commit
   * of its stream still undispatched (a crash or a broker outage in between). Returns how many it published.
   * `fresh`: the commit was appended just now, so it cannot be dispatched yet (saves a lookup).
   */
  dispatchCommit(commit: Commit, fresh = false): Promise<number> {
    return this.chain(commit.streamId, async () => {
      const known = this.dispatchedUpTo.get(commit.streamId) ?? 0;
      if (commit.version <= known) return 0;
      if (fresh ? commit.dispatched : await this.store.isDispatched(commit)) {
        // Marked, but maybe still in the outbox: the removal after the marker failed (the database went
        // away in between) and this is the retry.
        if (!fresh) await this.store.forgetOutboxEntries([commit]);
        this.dispatchedUpTo.set(commit.streamId, commit.version);
        return 0;
      }
      const pending = [commit];
      // Walk back, by point lookups, to the oldest undispatched commit this process does not know about.
      for (let v = commit.version - 1; v > known; v -= 1) {
        const older = await this.store.readCommit(commit.streamId, v);
        if (!older || (await this.store.isDispatched(older))) break;
        pending.unshift(older);
      }
      return this.publishInOrder(pending);
    });
  }

  /**
   * Publishes commits this process just appended (several streams, consecutive versions per stream) with
   * one `send`, which also carries whatever the caller adds (the decisions), then marks them all with one
   * insert. A stream whose earlier commits this process does not know to be dispatched, or that another
   * path is publishing right now, goes through dispatchCommit first, one commit at a time. `send` is
   * called exactly once, with the commits left for it (maybe none).
   */
  async dispatchFresh(commits: Commit[], send: (commits: Commit[]) => Promise<void>): Promise<void> {
    const byStream = new Map<string, Commit[]>();
    for (const commit of commits) byStream.set(commit.streamId, [...(byStream.get(commit.streamId) ?? []), commit]);
    const ready: Commit[] = [];
    const others: Commit[][] = [];
    for (const [streamId, own] of byStream) {
      const known = this.dispatchedUpTo.get(streamId) ?? 0;
      if (!this.chains.has(streamId) && own[0].version === known + 1) ready.push(...own);
      else others.push(own);
    }
    await Promise.all(others.map(async (own) => {
      for (const commit of own) await this.dispatchCommit(commit, true);
    }));
    const run = (async () => {
      await send(ready);
      await this.store.markDispatchedMany(ready);
      for (const commit of ready) this.dispatchedUpTo.set(commit.streamId, commit.version);
      return ready.length;
    })();
    // Hold the streams' chains meanwhile, so the relay does not publish the same commits at the same time.
    for (const streamId of new Set(ready.map((c) => c.streamId))) this.hold(streamId, run);
    await run;
  }

  /** Publishes the stream's undispatched commits up to `uptoVersion`, oldest first (the relay's path). */
  dispatchStream(streamId: string, uptoVersion?: number): Promise<number> {
    return this.chain(streamId, async () => this.publishInOrder(await this.store.undispatchedOf(streamId, uptoVersion)));
  }

  /**
   * The relay: finds streams whose commits were left undispatched (a crash, a broker outage) for longer
   * than `olderThanMs`, and publishes them. Returns how many commits it published.
   */
  async sweep(olderThanMs: number, now: () => number = Date.now): Promise<number> {
    let published = 0;
    for (const streamId of await this.store.streamsWithUndispatched(new Date(now() - olderThanMs))) {
      published += await this.dispatchStream(streamId);
    }
    return published;
  }

  private chain(streamId: string, task: () => Promise<number>): Promise<number> {
    const previous = this.chains.get(streamId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(task);
    this.hold(streamId, run);
    return run;
  }

  /** Makes `run` the stream's chain until it settles: later tasks of the stream wait for it. */
  private hold(streamId: string, run: Promise<number>): void {
    this.chains.set(streamId, run);
    void run
      .finally(() => {
        if (this.chains.get(streamId) === run) this.chains.delete(streamId);
      })
      .catch(() => undefined);
  }

  private async publishInOrder(pending: Commit[]): Promise<number> {
    for (const commit of pending) {
      // Mark only after the broker acknowledged: a crash in between republishes, never loses.
      await this.publish(commit);
      await this.store.markDispatched(commit);
      this.dispatchedUpTo.set(commit.streamId, commit.version);
    }
    return pending.length;
  }
}
