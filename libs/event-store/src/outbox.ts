import { Commit, MongoEventStore } from './mongo-event-store';

/**
 * The outbox: a commit is `dispatched: false` until its events are on Kafka. Publishing a stream always
 * starts from its oldest undispatched commit, so events leave in version order per stream even after a
 * crash between insert and publish. Delivery is at least once; consumers deduplicate by event id.
 */
export class OutboxDispatcher {
  /** One chain per stream in this process, so two paths never publish the same stream at once. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: MongoEventStore,
    private readonly publish: (commit: Commit) => Promise<void>,
  ) {}

  /** Publishes the stream's undispatched commits up to `uptoVersion`, oldest first. */
  dispatchStream(streamId: string, uptoVersion?: number): Promise<number> {
    const previous = this.chains.get(streamId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.drain(streamId, uptoVersion));
    this.chains.set(streamId, run);
    void run.finally(() => {
      if (this.chains.get(streamId) === run) this.chains.delete(streamId);
    }).catch(() => undefined);
    return run;
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

  private async drain(streamId: string, uptoVersion?: number): Promise<number> {
    const pending = await this.store.undispatchedOf(streamId, uptoVersion);
    for (const commit of pending) {
      // Mark only after the broker acknowledged: a crash in between republishes, never loses.
      await this.publish(commit);
      await this.store.markDispatched(commit);
    }
    return pending.length;
  }
}
