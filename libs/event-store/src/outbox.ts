import { LruMap } from './lru';
import { Commit, MongoEventStore } from './mongo-event-store';

/**
 * The outbox: a commit is undispatched until its events are on Kafka and a dispatched marker says so
 * (MongoEventStore.markDispatched). Commits are published in
 * version order per stream, each marked after the broker acknowledged it, so "commit v is dispatched"
 * implies every earlier commit of the stream is too. Delivery is at least once; consumers deduplicate by
 * event id.
 */
export class OutboxDispatcher {
  /** One chain per stream in this process, so two paths never publish the same stream at once. */
  private readonly chains = new Map<string, Promise<unknown>>();
  /** The highest version this process knows to be dispatched, per stream: saves a lookup per commit. */
  private readonly dispatchedUpTo: LruMap<number>;

  constructor(
    private readonly store: MongoEventStore,
    private readonly publish: (commit: Commit) => Promise<void>,
    memory = 10_000,
  ) {
    this.dispatchedUpTo = new LruMap(memory);
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
    this.chains.set(streamId, run);
    void run
      .finally(() => {
        if (this.chains.get(streamId) === run) this.chains.delete(streamId);
      })
      .catch(() => undefined);
    return run;
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
