import { openText, sealText, ValuesCipher } from '@app/contracts';
import { Commit, insertManyIgnoringDuplicates, LruMap, MIB, MongoEventStore } from '@app/event-store';
import { Grant, LEGACY_CLUSTER, patternRegex } from '@app/domain';
import { Connection, Model, Schema } from 'mongoose';
import { projectCommits, ReleaseView, revisionKey, RevisionView } from './release-projection';
import { viewSchemas } from './release-view.schemas';

export interface DriftCheckView {
  _id: string;
  checkedAt: string;
  found: number;
}

/** The views the release service remembers unless told otherwise (VIEW_CACHE_MIB). */
export const DEFAULT_VIEW_CACHE_BYTES = 16 * MIB;

/**
 * The read model's store: the release and revision documents, written by projecting commits (the pure
 * projection is release-projection.ts), read by the API, rebuilt from the log by replay.
 */
export class ReleaseReadModel {
  private readonly views?: LruMap<ReleaseView>;
  private readonly seal: (text: string) => string;
  readonly releases: Model<ReleaseView>;
  readonly revisions: Model<RevisionView>;
  /** When each release's drift was last checked: kept beside its view, which projection replaces whole. */
  readonly driftChecks: Model<DriftCheckView>;

  constructor(
    readonly connection: Connection,
    readonly prefix = '',
    /** Seals each revision's values at rest; read methods return them opened. */
    private readonly cipher?: ValuesCipher,
    /**
     * Remember the views this instance writes (the release service, which projects the releases of its
     * own partitions): saves reading the view back before each projection. A number: at most that many
     * bytes of them (approximately); true: DEFAULT_VIEW_CACHE_BYTES.
     */
    remember: boolean | number = false,
  ) {
    const bytes = remember === true ? DEFAULT_VIEW_CACHE_BYTES : remember;
    this.views = bytes ? new LruMap({ maxBytes: bytes }) : undefined;
    this.seal = (text) => sealText(cipher, text);
    const { releaseSchema, revisionSchema } = viewSchemas(prefix);
    this.releases = connection.model<ReleaseView>(`${prefix}ReleaseView`, releaseSchema);
    this.revisions = connection.model<RevisionView>(`${prefix}RevisionView`, revisionSchema);
    this.driftChecks = connection.model<DriftCheckView>(
      `${prefix}DriftCheckView`,
      new Schema<DriftCheckView>({ _id: String, checkedAt: String, found: Number }, { versionKey: false, collection: `${prefix}drift_checks` }),
    );
  }

  /** Notes a drift check of a release: when, and how many Helm revisions made outside the service it found. */
  async noteDriftCheck(releaseId: string, checkedAt: string, found: number): Promise<void> {
    await this.driftChecks.collection.replaceOne({ _id: releaseId } as never, { checkedAt, found }, { upsert: true });
  }

  async driftCheck(releaseId: string): Promise<DriftCheckView | null> {
    return this.driftChecks.findById(releaseId).lean<DriftCheckView>().exec();
  }

  async ensureIndexes(): Promise<void> {
    await this.revisions.createIndexes();
  }

  /**
   * Brings views written by older versions up to today's shape, once at start (the release service, the
   * one writer): views written before the `pending` flag existed get it, or the watchdog's sweep would
   * never see their pending operations. One scan of the releases; returns how many views changed.
   */
  async upgradeStoredViews(): Promise<number> {
    const { modifiedCount } = await this.releases.collection.updateMany(
      { pendingOperationId: { $ne: null }, pending: { $ne: true } } as never,
      { $set: { pending: true } } as never,
    );
    // Views written before releases had clusters are of the one cluster there was.
    const clustered = await this.releases.collection.updateMany({ cluster: { $exists: false } } as never, { $set: { cluster: LEGACY_CLUSTER } } as never);
    return modifiedCount + clustered.modifiedCount;
  }

  /**
   * Brings one release's view up to date with its stream: applies every commit it has not seen. `latest`,
   * a commit the caller already holds (the one just appended), saves reading it again; the commits between
   * the view and it, if any, are read by version.
   */
  async catchUp(store: MongoEventStore, releaseId: string, latest?: Commit): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      // The view this process wrote last, if it remembers one: a stale copy is caught by the conditional
      // write below (it matches nothing), and then the view is read again.
      const cached = attempt === 1 ? this.views?.get(releaseId) : undefined;
      const view = cached ?? (await this.releases.findById(releaseId).lean<ReleaseView>());
      const seen = view?.version ?? 0;
      if (latest && latest.version <= seen) return 0;
      const commits = latest
        ? [...(latest.version > seen + 1 ? await store.readTail(releaseId, seen, latest.version - 1) : []), latest]
        : await store.readTail(releaseId, seen);
      if (commits.length === 0) return 0;
      const written = await this.applyCommits(view, commits);
      if (written) {
        this.views?.set(releaseId, written);
        return commits.length;
      }
      this.views?.delete(releaseId);
      if (!cached) return commits.length;
    }
  }

  /**
   * `catchUp` for the commits of a batch (several releases, consecutive versions per release), with one
   * write per collection instead of two or three per commit. Where the batch cannot be applied as it is
   * (a view not remembered or not right before its commits, a conditional write that matched nothing),
   * those releases go through `catchUp`, which reads what is stored.
   */
  async catchUpMany(store: MongoEventStore, commits: Commit[]): Promise<void> {
    const byRelease = new Map<string, Commit[]>();
    for (const commit of commits) byRelease.set(commit.streamId, [...(byRelease.get(commit.streamId) ?? []), commit]);
    const slow: string[] = [];
    const revisionInserts: RevisionView[] = [];
    const revisionSets: Array<{ id: string; set: Partial<RevisionView> }> = [];
    const releaseInserts: ReleaseView[] = [];
    const releaseReplaces: Array<{ readVersion: number; view: ReleaseView }> = [];
    for (const [releaseId, own] of byRelease) {
      const current = this.views?.get(releaseId) ?? null;
      const first = own[0].version;
      if (first === 1 ? current !== null : current?.version !== first - 1) {
        slow.push(releaseId);
        continue;
      }
      const { view, revisionOps } = projectCommits(current, own, this.seal);
      // A moved revision is copied from what is stored: catchUp does that, in order.
      if (!view || revisionOps.some((op) => 'move' in op)) {
        slow.push(releaseId);
        continue;
      }
      for (const op of revisionOps) {
        if ('insert' in op) revisionInserts.push(op.insert);
        else if ('set' in op) revisionSets.push(op);
      }
      if (current) releaseReplaces.push({ readVersion: current.version, view });
      else releaseInserts.push(view);
    }
    // Revisions first, as in applyCommits: the release view never points at a revision not yet written.
    // Inserts before changes, and changes in order: a commit may change a revision the one before it added.
    await insertManyIgnoringDuplicates(this.revisions, revisionInserts);
    for (const part of chunks(revisionSets, UPDATES_PER_COMMAND)) {
      await this.revisions.collection.bulkWrite(
        part.map((op) => ({ updateOne: { filter: { _id: op.id } as never, update: { $set: op.set } } })),
        { ordered: true },
      );
    }
    const inserted = releaseInserts.length - (await insertManyIgnoringDuplicates(this.releases, releaseInserts)).length;
    let replaced = 0;
    for (const part of chunks(releaseReplaces, UPDATES_PER_COMMAND)) {
      const { matchedCount } = await this.releases.collection.bulkWrite(
        part.map(({ readVersion, view }) => ({
          replaceOne: { filter: { _id: view._id, version: readVersion } as never, replacement: view as never },
        })),
        { ordered: false },
      );
      replaced += matchedCount;
    }
    const written = [...releaseInserts, ...releaseReplaces.map((r) => r.view)];
    if (inserted === releaseInserts.length && replaced === releaseReplaces.length) {
      for (const view of written) this.views?.set(view._id, view);
    } else {
      // Some view had moved on (which one, a bulk write does not say): read each of them again.
      for (const view of written) {
        this.views?.delete(view._id);
        slow.push(view._id);
      }
    }
    for (const releaseId of slow) {
      const own = byRelease.get(releaseId)!;
      await this.catchUp(store, releaseId, own[own.length - 1]);
    }
  }

  /**
   * Applies commits (in version order, starting right after the view's version) to the views. Revision
   * documents are written first, idempotently (a new revision is inserted once; later changes are plain
   * $set); the release document last, conditioned on the version it was read at, so a concurrent or
   * repeated projection changes nothing twice.
   *
   * New revisions are inserts, not upserts: FerretDB 1.24 runs an update by scanning the collection, and
   * revisions is the largest collection of the read model.
   */
  async applyCommits(current: ReleaseView | null, commits: Commit[]): Promise<ReleaseView | null> {
    const { view, revisionOps } = projectCommits(current, commits, this.seal);
    if (!view) return null;
    for (const op of revisionOps) {
      if ('insert' in op) {
        try {
          await this.revisions.collection.insertOne(op.insert as never);
        } catch (error) {
          // Projected before (a repeated projection): the request's fields never change.
          if ((error as { code?: number }).code !== 11000) throw error;
        }
      } else if ('move' in op) {
        // Copied before its old number is rewritten, so a projection repeated after a crash finds the
        // copy made (a duplicate insert) instead of copying what replaced it.
        const moved = await this.revisions.collection.findOne({ _id: op.move.from } as never);
        if (moved) {
          await this.revisions.collection.insertOne({ ...moved, _id: op.move.to, revision: op.move.revision } as never).catch((error: { code?: number }) => {
            if (error.code !== 11000) throw error;
          });
        }
      } else {
        await this.revisions.collection.updateOne({ _id: op.id } as never, { $set: op.set });
      }
    }
    const readVersion = current?.version ?? 0;
    if (!current) {
      try {
        await this.releases.collection.insertOne(view as never);
        return view;
      } catch (error) {
        if ((error as { code?: number }).code !== 11000) throw error;
        // Someone projected the same release first; theirs is at least as new as ours for version 1.
        return null;
      }
    }
    // Returns the view written, or null when the stored one had moved on (someone else projected).
    const { matchedCount } = await this.releases.replaceOne({ _id: view._id, version: readVersion }, view);
    return matchedCount === 1 ? view : null;
  }


  /**
   * Rebuilds every view from the whole log into this model's collections, which should be empty: one
   * pass over the log, projection in memory, then plain batched inserts (no per-document upserts).
   */
  async rebuild(store: MongoEventStore, onProgress?: (commits: number) => void): Promise<number> {
    const byStream = new Map<string, Commit[]>();
    let total = 0;
    for await (const commit of store.scanAll()) {
      const list = byStream.get(commit.streamId) ?? [];
      list.push(commit);
      byStream.set(commit.streamId, list);
      total += 1;
      if (total % 1000 === 0) onProgress?.(total);
    }
    onProgress?.(total);
    const views: ReleaseView[] = [];
    const revisions = new Map<string, RevisionView>();
    const flush = async () => {
      if (revisions.size) await this.revisions.collection.insertMany([...revisions.values()] as never[], { ordered: false });
      if (views.length) await this.releases.collection.insertMany(views.splice(0) as never[], { ordered: false });
      revisions.clear();
    };
    for (const commits of byStream.values()) {
      commits.sort((a, b) => a.version - b.version);
      const projected = projectCommits(null, commits, this.seal);
      if (projected.view) views.push(projected.view);
      // The projection's inserts and $set updates, merged in order, are the final documents.
      for (const op of projected.revisionOps) {
        if ('insert' in op) revisions.set(op.insert._id, op.insert);
        else if ('move' in op) revisions.set(op.move.to, { ...revisions.get(op.move.from)!, _id: op.move.to, revision: op.move.revision });
        else revisions.set(op.id, { ...revisions.get(op.id)!, ...op.set });
      }
      if (revisions.size >= 2000) await flush();
    }
    await flush();
    return total;
  }

  async get(releaseId: string): Promise<ReleaseView | null> {
    const view = await this.releases.findById(releaseId).lean<ReleaseView>().exec();
    return view ? this.openRelease(view) : null;
  }

  /**
   * A page of releases by id. `within`: only those in the scopes of these grants (the caller's grants
   * that let it read); an empty list matches nothing.
   */
  async list(
    options: { limit?: number; after?: string; status?: string; cluster?: string; namespace?: string; prefix?: string; within?: readonly Grant[] } = {},
  ): Promise<ReleaseView[]> {
    const filter: Record<string, unknown> = {};
    // A search by the start of the id is a range of the primary key: served by its index, paged the same way.
    if (options.after || options.prefix) {
      filter._id = { ...(options.after ? { $gt: options.after } : {}), ...(options.prefix ? { $gte: options.prefix, $lt: `${options.prefix}\uffff` } : {}) };
    }
    if (options.status) filter.status = options.status;
    if (options.cluster) filter.cluster = options.cluster;
    if (options.namespace) filter.namespace = options.namespace;
    if (options.within) {
      if (options.within.length === 0) return [];
      // Equality where a pattern has no `*`, an anchored $regex where it has (what FerretDB evaluates too).
      const match = (pattern: string) => (pattern.includes('*') ? { $regex: patternRegex(pattern).source } : pattern);
      filter.$or = options.within.flatMap((g) => g.clusters.flatMap((c) => g.namespaces.map((n) => ({ cluster: match(c), namespace: match(n) }))));
    }
    return (await this.releases.find(filter).sort({ _id: 1 }).limit(options.limit ?? 100).lean<ReleaseView[]>().exec()).map((v) => this.openRelease(v));
  }

  /** The cluster and namespace of each of these releases (ones never installed are absent). */
  async scopes(releaseIds: string[]): Promise<Map<string, { cluster: string; namespace: string }>> {
    if (releaseIds.length === 0) return new Map();
    const found = await this.releases.find({ _id: { $in: releaseIds } }, { _id: 1, cluster: 1, namespace: 1 }).lean<ReleaseView[]>().exec();
    return new Map(found.map((v) => [v._id, { cluster: v.cluster ?? LEGACY_CLUSTER, namespace: v.namespace }]));
  }

  /** The release driving each Helm release of `helmReleases` in `cluster`, by `namespace/name` (unmanaged ones are absent). */
  async managing(cluster: string, helmReleases: Array<{ namespace: string; name: string }>): Promise<Map<string, string>> {
    if (helmReleases.length === 0) return new Map();
    const found = await this.releases.find({ cluster, $or: helmReleases.map(({ namespace, name }) => ({ namespace, name })) }, { _id: 1, namespace: 1, name: 1 }).lean<ReleaseView[]>().exec();
    return new Map(found.map((v) => [`${v.namespace}/${v.name}`, v._id]));
  }

  /** Releases whose scheduled retry is due at `now` (an equality query on the flag, then the time). */
  async retriesDue(now: string, limit = 100): Promise<ReleaseView[]> {
    const retrying = await this.releases.find({ retrying: true }).lean<ReleaseView[]>().exec();
    return retrying.filter((v) => v.retry && v.pendingOperationId === null && v.retry.notBefore <= now).slice(0, limit);
  }

  /** Releases whose pending operation is past its deadline: the watchdog's work list. */
  async overdue(now: string, limit = 100): Promise<ReleaseView[]> {
    const pending = await this.releases.find({ pending: true }).lean<ReleaseView[]>().exec();
    return pending.filter((v) => v.pendingOperationId !== null && v.pendingDeadline !== null && v.pendingDeadline < now).slice(0, limit);
  }

  /** A release's revisions, oldest first: all of them, or a page of `limit` after `afterRevision`. */
  async history(releaseId: string, page: { afterRevision?: number; limit?: number } = {}): Promise<RevisionView[]> {
    const filter = page.afterRevision ? { releaseId, revision: { $gt: page.afterRevision } } : { releaseId };
    const query = this.revisions.find(filter).sort({ revision: 1 });
    if (page.limit !== undefined) query.limit(page.limit);
    return (await query.lean<RevisionView[]>().exec()).map((r) => this.openRevision(r));
  }

  async revision(releaseId: string, revision: number): Promise<RevisionView | null> {
    const view = await this.revisions.findById(revisionKey(releaseId, revision)).lean<RevisionView>().exec();
    return view ? this.openRevision(view) : null;
  }

  /** A revision document as stored, with its values and error text opened (they may be sealed at rest). */
  openRevision(view: RevisionView): RevisionView {
    return { ...view, valuesJson: openText(this.cipher, view.valuesJson), error: view.error === null || view.error === undefined ? view.error : openText(this.cipher, view.error) };
  }

  /** A release document as stored, with its last error text opened (it may be sealed at rest). */
  openRelease(view: ReleaseView): ReleaseView {
    return view.lastError ? { ...view, lastError: openText(this.cipher, view.lastError) } : view;
  }
}


/**
 * Statements per update command. FerretDB 1.24 keeps every statement's query, and the PostgreSQL
 * connection under it, open until the whole command ends: a command of more statements than its pool has
 * connections (50) waits forever, and blocks the server with it. scripts/infra/ferretdb.sh patches that
 * out; an unpatched FerretDB (the Docker image) is safe with small commands from three partitions at once.
 */
const UPDATES_PER_COMMAND = 10;

const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
