import { openIn, sealIn } from '@app/contracts';
import { Connection, Model, Types } from 'mongoose';
import { ConcurrencyError, DuplicateCommandError } from './errors';
import { duplicateOn, duplicateWriteErrors, isDuplicateKey } from './mongo-errors';
import { OutboxStore } from './outbox-store';
import { RejectionStore } from './rejection-store';
import { SnapshotStore } from './snapshot-store';
import { storeModels } from './store-models';
import {
  AppendInput,
  ArchiveChunkDoc,
  Commit,
  CommitDoc,
  commitHash,
  commitKey,
  DispatchedDoc,
  EventStoreOptions,
  OutboxDoc,
  PreparedCommit,
  RecordedRejection,
  RejectionDoc,
  SnapshotDoc,
  StoredEvent,
} from './store-records';
import { upcast } from './upcasting';

/**
 * Event store on MongoDB through mongoose, built to run on FerretDB 1.x as well: no multi-document
 * transactions, no change streams. Each decision is ONE commit document holding all its events, so a
 * single insert is atomic; unique indexes give optimistic concurrency and command idempotency.
 *
 * Event data, decisions and snapshot state are stored as JSON strings: Helm values are arbitrary JSON whose
 * keys may contain '.' or start with '$' (annotations, for one), which MongoDB-wire servers restrict in
 * field names. A string keeps the exact JSON, byte for byte.
 *
 * Every hot-path read is an `_id` point lookup: a commit's `_id` is `streamId@version`, a snapshot's is
 * the stream's latest. FerretDB 1.24 on SQLite pushes nothing down to SQL but `_id` equality, so any other
 * filter scans the whole collection; reads by stream therefore walk versions by `_id` instead of filtering.
 * The secondary indexes still enforce uniqueness (and serve real MongoDB).
 *
 * This class is the commit log (append, read, the hash chain) and the one door to the store: refusals
 * (rejection-store.ts), snapshots and archived history (snapshot-store.ts) and the outbox with its
 * dispatched markers (outbox-store.ts) are stores of their own, over the collections of store-models.ts.
 */

export class MongoEventStore {
  readonly commits: Model<CommitDoc>;
  readonly rejections: Model<RejectionDoc>;
  readonly snapshots: Model<SnapshotDoc>;
  readonly dispatched: Model<DispatchedDoc>;
  /** Chunks of history a compacted snapshot leaves out (see AggregateOptions.history). */
  readonly archive: Model<ArchiveChunkDoc>;
  /** Commits that may not be on Kafka yet (see OutboxDoc). */
  readonly outbox: Model<OutboxDoc>;
  private readonly rejectionStore: RejectionStore;
  private readonly snapshotStore: SnapshotStore;
  private readonly outboxStore: OutboxStore;

  constructor(
    readonly connection: Connection,
    private readonly options: EventStoreOptions,
  ) {
    const models = storeModels(connection, options.prefix);
    ({ commits: this.commits, rejections: this.rejections, snapshots: this.snapshots, archive: this.archive, outbox: this.outbox, dispatched: this.dispatched } = models);
    this.rejectionStore = new RejectionStore(models.rejections);
    this.snapshotStore = new SnapshotStore(models.snapshots, models.archive, options.cipher);
    this.outboxStore = new OutboxStore(models.outbox, models.dispatched, models.commits, (doc) => this.toCommit(doc));
  }

  /** Creates the indexes the guarantees rest on; called once at start, and it fails loudly. */
  async ensureIndexes(): Promise<void> {
    await this.commits.createIndexes();
  }

  /**
   * Appends one commit. Throws ConcurrencyError when the version is taken and DuplicateCommandError when
   * the command was already recorded on the stream.
   */
  async append(input: AppendInput): Promise<Commit> {
    const { doc } = this.prepare(input);
    await this.outboxStore.noteUndispatched([doc]);
    try {
      await this.commits.collection.insertOne(doc as never);
    } catch (error) {
      if (isDuplicateKey(error)) {
        const on = duplicateOn(error);
        if (on === 'command') throw new DuplicateCommandError(input.streamId, input.commandId);
        if (on === 'version') throw new ConcurrencyError(input.streamId, doc.version);
        // FerretDB does not say which unique index was violated. The version is the common case and a
        // point lookup tells: taken by this very command (a racing redelivery) or by another one.
        const holder = await this.commits.findById(doc._id, { commandId: 1 }).lean<{ commandId: string }>();
        if (holder) {
          if (holder.commandId === input.commandId) throw new DuplicateCommandError(input.streamId, input.commandId);
          throw new ConcurrencyError(input.streamId, doc.version);
        }
        // The version is free, so the command id was taken, at an older version.
        throw new DuplicateCommandError(input.streamId, input.commandId);
      }
      throw error;
    }
    return this.appended(doc, input);
  }

  /**
   * Appends commits in one insert, in order, stopping at the first that collides (a version taken, a
   * command already recorded). Returns the commits stored, a prefix of `prepared`; `collided` is the index
   * of the first one not stored, or null when all were. The caller decides the rest again: per stream,
   * only after a fresh read. Commits of one stream chain: each prepared on the one before (version, hash).
   */
  async appendMany(prepared: PreparedCommit[]): Promise<{ commits: Commit[]; collided: number | null }> {
    if (prepared.length === 0) return { commits: [], collided: null };
    const docs = prepared.map((p) => p.doc);
    const inputs = prepared.map((p) => p.input);
    await this.outboxStore.noteUndispatched(docs);
    try {
      await this.commits.collection.insertMany(docs as never[], { ordered: true });
      return { commits: docs.map((d, i) => this.appended(d, inputs[i])), collided: null };
    } catch (error) {
      const duplicates = duplicateWriteErrors(error);
      if (!isDuplicateKey(error) || !duplicates) throw error;
      // Ordered: everything before the first error is stored, nothing after it.
      const collided = duplicates[0].index;
      return { commits: docs.slice(0, collided).map((d, i) => this.appended(d, inputs[i])), collided };
    }
  }

  /** The commit just stored, from its input: its events are current already (no parse, no unsealing). */
  private appended(doc: CommitDoc, input: AppendInput): Commit {
    return {
      ...this.toCommit({ ...doc, events: [] }),
      events: input.events.map((e, i) => ({ ...e, eventId: doc.events[i].eventId, schemaVersion: doc.events[i].schemaVersion })),
      result: input.result ?? null,
    };
  }

  /** The commit document of an input, as it will be stored: event ids, sealed data, the hash chain link. */
  prepare(input: AppendInput): PreparedCommit {
    const version = input.expectedVersion + 1;
    const events: StoredEvent[] = input.events.map((e, index) => ({
      eventId: `${input.streamId}:${version}:${index}`,
      type: e.type,
      schemaVersion: this.schemaVersionOf(e.type),
      data: JSON.stringify(sealIn(this.options.cipher, e.data)),
    }));
    const body = {
      streamId: input.streamId,
      version,
      commandId: input.commandId,
      commandType: input.commandType,
      events,
      result: JSON.stringify(input.result ?? null),
      metadata: {
        actor: input.metadata.actor,
        correlationId: input.metadata.correlationId,
        ...(input.metadata.causationId ? { causationId: input.metadata.causationId } : {}),
        now: input.metadata.now,
        ...(input.metadata.fingerprint ? { fingerprint: input.metadata.fingerprint } : {}),
      },
      prevHash: input.prevHash,
    };
    const doc: CommitDoc = {
      _id: commitKey(input.streamId, version),
      pos: new Types.ObjectId(),
      ...body,
      recordedAt: new Date(),
      dispatched: false,
      hash: commitHash(body),
    };
    return { doc, input };
  }

  /** A stream's commit of a command. Filters by field, so on FerretDB it scans: off the hot path only. */
  async findByCommand(streamId: string, commandId: string): Promise<Commit | null> {
    const doc = await this.commits.findOne({ streamId, commandId }).lean<CommitDoc>();
    return doc ? this.toCommit(doc) : null;
  }

  /** One commit by stream and version (a point lookup). */
  async readCommit(streamId: string, version: number): Promise<Commit | null> {
    const doc = await this.commits.findById(commitKey(streamId, version)).lean<CommitDoc>();
    return doc ? this.toCommit(doc) : null;
  }

  /**
   * The commits of a stream after `afterVersion`, up to `uptoVersion` or the stream's end, by point
   * lookups a few at a time: the cost follows the number of commits read, not the size of the log.
   */
  async readTail(streamId: string, afterVersion = 0, uptoVersion = Number.MAX_SAFE_INTEGER): Promise<Commit[]> {
    const out: Commit[] = [];
    let next = afterVersion + 1;
    for (let batch = 4; next <= uptoVersion; batch = Math.min(batch * 2, 32)) {
      const versions = Array.from({ length: Math.min(batch, uptoVersion - next + 1) }, (_, i) => next + i);
      const docs = await Promise.all(versions.map((v) => this.commits.findById(commitKey(streamId, v)).lean<CommitDoc>()));
      for (const doc of docs) {
        if (!doc) return out;
        out.push(this.toCommit(doc));
      }
      next += versions.length;
    }
    return out;
  }

  /** Commits of a stream after `afterVersion`, in order. */
  async readStream(streamId: string, afterVersion = 0): Promise<Commit[]> {
    const docs = await this.commits
      .find({ streamId, version: { $gt: afterVersion } })
      .sort({ version: 1 })
      .lean<CommitDoc[]>();
    return docs.map((d) => this.toCommit(d));
  }

  /**
   * The whole log in a stable order (insertion order by ObjectId), a page at a time. Per stream the
   * order is always the version order.
   */
  async readAll(options: { after?: string; limit?: number; streamId?: string } = {}): Promise<Commit[]> {
    const filter: Record<string, unknown> = {};
    if (options.after) filter.pos = { $gt: new Types.ObjectId(options.after) };
    if (options.streamId) filter.streamId = options.streamId;
    const docs = await this.commits
      .find(filter)
      .sort({ pos: 1 })
      .limit(options.limit ?? 500)
      .lean<CommitDoc[]>();
    return docs.map((d) => this.toCommit(d));
  }

  /**
   * Every commit, in no particular order, through one cursor: one pass over the collection (paging with a
   * sort would scan it once per page on FerretDB). For readers that order per stream themselves.
   */
  async *scanAll(batchSize = 1000): AsyncGenerator<Commit> {
    const cursor = this.commits.collection.find({}, { batchSize });
    for await (const doc of cursor) yield this.toCommit(doc as unknown as CommitDoc);
  }

  // Refusals, snapshots and the outbox live in stores of their own; the store answers for all of them.

  recordRejection(commandId: string, streamId: string, commandType: string, error: unknown, fingerprint?: string): Promise<RecordedRejection> {
    return this.rejectionStore.record(commandId, streamId, commandType, error, fingerprint);
  }

  findRejection(streamId: string, commandId: string): Promise<RecordedRejection | null> {
    return this.rejectionStore.find(streamId, commandId);
  }

  findRejections(commands: Array<{ streamId: string; commandId: string }>): Promise<Map<string, RecordedRejection>> {
    return this.rejectionStore.findMany(commands);
  }

  latestSnapshot(streamId: string, schemaVersion: number): Promise<{ version: number; state: unknown } | null> {
    return this.snapshotStore.latest(streamId, schemaVersion);
  }

  saveSnapshot(streamId: string, version: number, schemaVersion: number, state: unknown): Promise<void> {
    return this.snapshotStore.save(streamId, version, schemaVersion, state);
  }

  saveArchiveChunks(streamId: string, schemaVersion: number, chunks: Array<{ index: number; items: unknown[] }>): Promise<void> {
    return this.snapshotStore.saveArchiveChunks(streamId, schemaVersion, chunks);
  }

  readArchive(streamId: string, schemaVersion: number, count: number): Promise<unknown[][] | null> {
    return this.snapshotStore.readArchive(streamId, schemaVersion, count);
  }

  undispatchedOf(streamId: string, uptoVersion?: number): Promise<Commit[]> {
    return this.outboxStore.undispatchedOf(streamId, uptoVersion);
  }

  streamsWithUndispatched(olderThan: Date, limit?: number): Promise<string[]> {
    return this.outboxStore.streamsWithUndispatched(olderThan, limit);
  }

  forgetOutboxEntries(commits: Array<Pick<Commit, 'streamId' | 'version'>>): Promise<void> {
    return this.outboxStore.forget(commits);
  }

  isDispatched(commit: Pick<Commit, 'streamId' | 'version' | 'dispatched'>): Promise<boolean> {
    return this.outboxStore.isDispatched(commit);
  }

  markDispatched(commit: Pick<Commit, 'streamId' | 'version'>): Promise<void> {
    return this.outboxStore.markDispatched(commit);
  }

  markDispatchedMany(commits: Array<Pick<Commit, 'streamId' | 'version'>>): Promise<void> {
    return this.outboxStore.markDispatchedMany(commits);
  }

  private schemaVersionOf(type: string): number {
    const version = this.options.schemas.current[type];
    if (version === undefined) throw new Error(`No schema version declared for event type '${type}'`);
    return version;
  }

  private toCommit(doc: CommitDoc): Commit {
    return {
      id: doc.pos.toString(),
      streamId: doc.streamId,
      version: doc.version,
      commandId: doc.commandId,
      commandType: doc.commandType,
      events: doc.events.map((e) => ({
        eventId: e.eventId,
        schemaVersion: e.schemaVersion,
        ...upcast(this.options.schemas, { type: e.type, schemaVersion: e.schemaVersion, data: openIn(this.options.cipher, JSON.parse(e.data)) }, doc),
      })),
      result: JSON.parse(doc.result ?? 'null'),
      metadata: doc.metadata,
      recordedAt: doc.recordedAt,
      dispatched: doc.dispatched,
      prevHash: doc.prevHash,
      hash: doc.hash,
    };
  }
}
