import type { Model } from 'mongoose';
import { insertManyIgnoringDuplicates, isDuplicateKey } from './mongo-errors';
import { Commit, CommitDoc, commitKey, DispatchedDoc, OutboxDoc } from './store-records';

/** In the outbox collection: the commits written before it existed were scanned once (see migrate). */
const OUTBOX_MIGRATED = '#migrated';
/** An outbox entry whose commit never came (its writer died between the two inserts) is dropped after this. */
const ORPHAN_AFTER_MS = 10 * 60_000;

/**
 * The outbox (commits that may not be on Kafka yet) and the dispatched markers (commits that are). A commit
 * gets its entry before it is inserted and loses it after its marker, so a stored commit is always in one
 * of the two, whenever a writer dies.
 */
export class OutboxStore {
  constructor(
    private readonly outbox: Model<OutboxDoc>,
    private readonly dispatched: Model<DispatchedDoc>,
    private readonly commits: Model<CommitDoc>,
    private readonly toCommit: (doc: CommitDoc) => Commit,
  ) {}

  /**
   * Outbox entries for commits about to be inserted: first, so a commit stored is always either marked
   * dispatched or in the outbox, whenever the writer dies. An entry whose insert then collides points at
   * another command's commit under the same key, which its own writer publishes; the relay drops it.
   */
  async noteUndispatched(docs: CommitDoc[]): Promise<void> {
    const entries = docs.map((d) => ({ _id: d._id, streamId: d.streamId, at: d.recordedAt }));
    // An entry under the key is there already (from a writer that lost the key, or died before its
    // commit): made fresh, so the relay, which drops an old orphan only if it is unchanged, leaves it.
    for (const index of await insertManyIgnoringDuplicates(this.outbox, entries)) {
      const entry = entries[index];
      const { matchedCount } = await this.outbox.collection.updateOne({ _id: entry._id } as never, { $set: { at: entry.at } });
      if (matchedCount === 0) await insertManyIgnoringDuplicates(this.outbox, [entry]);
    }
  }

  /** Undispatched commits of one stream up to a version, in version order (the relay's path), from the outbox. */
  async undispatchedOf(streamId: string, uptoVersion = Number.MAX_SAFE_INTEGER): Promise<Commit[]> {
    const keys = (await this.outbox.find({ streamId }, { _id: 1 }).lean<Array<{ _id: string }>>()).map((e) => e._id).sort();
    const [commits, marked] = await Promise.all([
      Promise.all(keys.map((key) => this.commits.findById(key).lean<CommitDoc>())),
      Promise.all(keys.map(async (key) => (await this.dispatched.exists({ _id: key })) !== null)),
    ]);
    // Entries of commits already marked: the writer died between the marker and the entry's removal.
    await this.drop(keys.filter((_, i) => marked[i]));
    return commits
      .filter((doc, i): doc is CommitDoc => doc !== null && !marked[i] && !doc.dispatched && doc.version <= uptoVersion)
      .map((doc) => this.toCommit(doc));
  }

  /**
   * Streams with commits in the outbox since before `olderThan` and not marked dispatched: the relay's
   * work list, read from the outbox (a handful of entries normally), never from the whole log. Drops
   * entries of marked commits and, after ORPHAN_AFTER_MS, entries whose commit never came.
   */
  async streamsWithUndispatched(olderThan: Date, limit = 100): Promise<string[]> {
    await this.migrate();
    const entries = (await this.outbox.find({}).lean<OutboxDoc[]>()).filter((e) => e._id !== OUTBOX_MIGRATED && e.at < olderThan);
    const streams = new Set<string>();
    const drop: string[] = [];
    const orphanBefore = olderThan.getTime() - ORPHAN_AFTER_MS;
    for (let from = 0; from < entries.length && streams.size < limit; from += 32) {
      const group = entries.slice(from, from + 32);
      const found = await Promise.all(
        group.map(async (e) => ({
          entry: e,
          marked: (await this.dispatched.exists({ _id: e._id })) !== null,
          stored: (await this.commits.exists({ _id: e._id })) !== null,
        })),
      );
      for (const { entry, marked, stored } of found) {
        if (marked) drop.push(entry._id);
        // Only if unchanged since read: a writer about to store this commit has made its entry fresh.
        else if (!stored && entry.at.getTime() < orphanBefore) await this.outbox.collection.deleteOne({ _id: entry._id, at: entry.at } as never);
        else if (stored && streams.size < limit) streams.add(entry.streamId);
      }
    }
    await this.drop(drop);
    return [...streams];
  }

  /**
   * Once per database: commits written before the outbox existed and never marked dispatched get an entry
   * (two scans of the whole log, the way the relay used to find them every time).
   */
  private async migrate(): Promise<void> {
    if (await this.outbox.exists({ _id: OUTBOX_MIGRATED })) return;
    const [commits, marked] = await Promise.all([
      this.commits.find({ dispatched: false }, { _id: 1, streamId: 1, recordedAt: 1 }).lean<Array<{ _id: string; streamId: string; recordedAt: Date }>>(),
      this.dispatched.find({}, { _id: 1 }).lean<Array<{ _id: string }>>(),
    ]);
    const done = new Set(marked.map((d) => d._id));
    await insertManyIgnoringDuplicates(
      this.outbox,
      commits.filter((c) => !done.has(c._id)).map((c) => ({ _id: c._id, streamId: c.streamId, at: c.recordedAt })),
    );
    await insertManyIgnoringDuplicates(this.outbox, [{ _id: OUTBOX_MIGRATED, streamId: '', at: new Date() }]);
  }

  private async drop(keys: string[]): Promise<void> {
    if (keys.length) await this.outbox.collection.deleteMany({ _id: { $in: keys } } as never);
  }

  /** Removes the outbox entries of commits known to be marked dispatched. */
  async forget(commits: Array<Pick<Commit, 'streamId' | 'version'>>): Promise<void> {
    await this.drop(commits.map((c) => commitKey(c.streamId, c.version)));
  }

  /** Whether a commit's events are known to be on Kafka (a point lookup). */
  async isDispatched(commit: Pick<Commit, 'streamId' | 'version' | 'dispatched'>): Promise<boolean> {
    return commit.dispatched || (await this.dispatched.exists({ _id: commitKey(commit.streamId, commit.version) })) !== null;
  }

  async markDispatched(commit: Pick<Commit, 'streamId' | 'version'>): Promise<void> {
    const key = commitKey(commit.streamId, commit.version);
    try {
      await this.dispatched.collection.insertOne({ _id: key, streamId: commit.streamId, at: new Date() } as never);
    } catch (error) {
      // Published twice (at least once delivery): already marked.
      if (!isDuplicateKey(error)) throw error;
    }
    // Only after the marker: a commit is never out of both.
    await this.outbox.collection.deleteOne({ _id: key } as never);
  }

  /** Marks several commits dispatched in one insert; ones already marked stay as they are. */
  async markDispatchedMany(commits: Array<Pick<Commit, 'streamId' | 'version'>>): Promise<void> {
    const at = new Date();
    await insertManyIgnoringDuplicates(
      this.dispatched,
      commits.map((c) => ({ _id: commitKey(c.streamId, c.version), streamId: c.streamId, at })),
    );
    await this.forget(commits);
  }
}
