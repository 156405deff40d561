import type { ChartRef, Operation, ReleaseEvent, ReleaseStatus, RevisionStatus, Trigger } from '@app/domain';
import { assertNever } from '@app/domain';
import { openText, sealText, ValuesCipher } from '@app/contracts';
import { Connection, Model, Schema } from 'mongoose';
import { LruMap } from './lru';
import { MongoEventStore } from './mongo-event-store';
import { insertManyIgnoringDuplicates } from './mongo-errors';
import { Commit } from './store-records';

/**
 * The read model of releases: one document per release (status, current and last successful revision)
 * and one per revision, so a release with ten thousand revisions never nears the document size limit.
 * Updated idempotently by stream version and rebuildable from the log at any time.
 */
export interface ReleaseView {
  _id: string;
  releaseId: string;
  /** The stream version this view reflects; a commit at or below it is already applied. */
  version: number;
  name: string;
  namespace: string;
  chart: ChartRef;
  autoRollback: boolean;
  status: ReleaseStatus;
  currentRevision: number;
  lastSuccessfulRevision: number | null;
  pendingOperationId: string | null;
  /** When the pending operation may be failed by the watchdog. */
  pendingDeadline: string | null;
  /**
   * Present (true) exactly while an operation is pending. The watchdog's query is an equality on it, which
   * FerretDB hands to PostgreSQL; a range or $ne filter it evaluates in Go over every release (measured
   * at 10,000 releases: 734 ms against 20 ms).
   */
  pending?: true;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RevisionView {
  _id: string;
  releaseId: string;
  revision: number;
  operation: Operation;
  chartVersion: string;
  /** Exact JSON of the values (see the note on JSON strings in mongo-event-store.ts). */
  valuesJson: string;
  chartDigest: string | null;
  status: RevisionStatus;
  rollbackOf: number | null;
  causedByRevision: number | null;
  trigger: Trigger;
  requestedBy: string;
  reason: string | null;
  requestedAt: string;
  completedAt: string | null;
  error: string | null;
  helmRevision: number | null;
  operationId: string;
  atomic: boolean;
  warnings: string[];
  remediation: string | null;
  reportedFailure: string | null;
}

/** A revision write of the projection: a new revision, or fields of an existing one. */
type RevisionOp = { insert: RevisionView } | { id: string; set: Partial<RevisionView> };

const revisionKey = (releaseId: string, revision: number) => `${releaseId}:${String(revision).padStart(8, '0')}`;

export class ReleaseReadModel {
  private readonly views?: LruMap<ReleaseView>;
  readonly releases: Model<ReleaseView>;
  readonly revisions: Model<RevisionView>;

  constructor(
    readonly connection: Connection,
    readonly prefix = '',
    /** Seals each revision's values at rest; read methods return them opened. */
    private readonly cipher?: ValuesCipher,
    /**
     * Remember the views this instance writes (the release service, which projects the releases of its
     * own partitions): saves reading the view back before each projection.
     */
    remember = false,
  ) {
    this.views = remember ? new LruMap() : undefined;
    const releaseSchema = new Schema<ReleaseView>(
      {
        _id: String,
        releaseId: String,
        version: Number,
        name: String,
        namespace: String,
        chart: { _id: false, name: String, repository: String },
        autoRollback: Boolean,
        status: String,
        currentRevision: Number,
        lastSuccessfulRevision: Number,
        pendingOperationId: String,
        pendingDeadline: String,
        pending: Boolean,
        lastError: String,
        createdAt: String,
        updatedAt: String,
      },
      { versionKey: false, collection: `${prefix}releases` },
    );
    const revisionSchema = new Schema<RevisionView>(
      {
        _id: String,
        releaseId: String,
        revision: Number,
        operation: String,
        chartVersion: String,
        valuesJson: String,
        chartDigest: String,
        status: String,
        rollbackOf: Number,
        causedByRevision: Number,
        trigger: String,
        requestedBy: String,
        reason: String,
        requestedAt: String,
        completedAt: String,
        error: String,
        helmRevision: Number,
        operationId: String,
        atomic: Boolean,
        warnings: [String],
        remediation: String,
        reportedFailure: String,
      },
      { versionKey: false, collection: `${prefix}revisions` },
    );
    revisionSchema.index({ releaseId: 1, revision: 1 }, { unique: true, name: 'release_revision' });
    this.releases = connection.model<ReleaseView>(`${prefix}ReleaseView`, releaseSchema);
    this.revisions = connection.model<RevisionView>(`${prefix}RevisionView`, revisionSchema);
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
    return modifiedCount;
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
      const { view, revisionOps } = this.project(current, own);
      if (!view) {
        slow.push(releaseId);
        continue;
      }
      for (const op of revisionOps) {
        if ('insert' in op) revisionInserts.push(op.insert);
        else revisionSets.push(op);
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
   * New revisions are inserts, not upserts: FerretDB 1.24 runs an update by scanning the collection
   * (measured: 50 ms at 10,000 documents, against 1 ms for an insert), and revisions is the largest
   * collection of the read model.
   */
  async applyCommits(current: ReleaseView | null, commits: Commit[]): Promise<ReleaseView | null> {
    const { view, revisionOps } = this.project(current, commits);
    if (!view) return null;
    for (const op of revisionOps) {
      if ('insert' in op) {
        try {
          await this.revisions.collection.insertOne(op.insert as never);
        } catch (error) {
          // Projected before (a repeated projection): the request's fields never change.
          if ((error as { code?: number }).code !== 11000) throw error;
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

  /** The view after `commits` and the revision writes that go with it; no I/O. */
  private project(current: ReleaseView | null, commits: Commit[]): { view: ReleaseView | null; revisionOps: RevisionOp[] } {
    let view = current;
    const revisionOps: RevisionOp[] = [];
    for (const commit of commits) {
      if (view && commit.version <= view.version) continue;
      for (const event of commit.events as unknown as ReleaseEvent[]) {
        view = this.evolveView(view, event, commit, revisionOps);
      }
      if (view) view = withPendingFlag({ ...view, version: commit.version, updatedAt: commit.metadata.now });
    }
    return { view, revisionOps };
  }

  private evolveView(
    view: ReleaseView | null,
    event: ReleaseEvent,
    commit: Commit,
    revisionOps: RevisionOp[],
  ): ReleaseView | null {
    const setRevision = (releaseId: string, revision: number, set: Partial<RevisionView>) =>
      revisionOps.push({ id: revisionKey(releaseId, revision), set });
    switch (event.type) {
      case 'InstallRequested':
      case 'UpgradeRequested':
      case 'RollbackRequested': {
        const d = event.data;
        const operation: Operation =
          event.type === 'InstallRequested' ? 'INSTALL' : event.type === 'UpgradeRequested' ? 'UPGRADE' : 'ROLLBACK';
        const rollback = event.type === 'RollbackRequested' ? event.data : undefined;
        const insert: RevisionView = {
          _id: revisionKey(d.releaseId, d.revision),
          releaseId: d.releaseId,
          revision: d.revision,
          operation,
          chartVersion: d.chartVersion,
          valuesJson: sealText(this.cipher, JSON.stringify(d.values)),
          chartDigest: rollback?.chartDigest ?? null,
          status: `PENDING_${operation}`,
          rollbackOf: rollback?.rollbackOf ?? null,
          causedByRevision: rollback?.causedByRevision ?? null,
          trigger: d.trigger,
          requestedBy: d.requestedBy,
          reason: d.reason ?? null,
          requestedAt: d.requestedAt,
          completedAt: null,
          error: null,
          helmRevision: null,
          operationId: d.operationId,
          atomic: d.atomic,
          warnings: rollback?.warnings ?? (event.type === 'UpgradeRequested' ? (event.data.warnings ?? []) : []),
          remediation: null,
          reportedFailure: null,
        };
        revisionOps.push({ insert });
        const base: ReleaseView = view ?? {
          _id: d.releaseId,
          releaseId: d.releaseId,
          version: 0,
          name: d.name,
          namespace: d.namespace,
          chart: d.chart,
          autoRollback: false,
          status: 'PENDING_INSTALL',
          currentRevision: 0,
          lastSuccessfulRevision: null,
          pendingOperationId: null,
          pendingDeadline: null,
          lastError: null,
          createdAt: commit.metadata.now,
          updatedAt: commit.metadata.now,
        };
        return {
          ...base,
          name: d.name,
          namespace: d.namespace,
          chart: d.chart,
          ...(event.type === 'InstallRequested' ? { autoRollback: event.data.autoRollback } : {}),
          status: `PENDING_${operation}`,
          currentRevision: d.revision,
          pendingOperationId: d.operationId,
          pendingDeadline: d.deadline,
        };
      }
      case 'RevisionDeployed': {
        const d = event.data;
        setRevision(d.releaseId, d.revision, {
          status: 'DEPLOYED',
          completedAt: d.completedAt,
          ...(d.helmRevision !== undefined ? { helmRevision: d.helmRevision } : {}),
          ...(d.chartDigest !== undefined ? { chartDigest: d.chartDigest } : {}),
        });
        const v = view!;
        return {
          ...v,
          status: 'DEPLOYED',
          lastSuccessfulRevision: Math.max(v.lastSuccessfulRevision ?? 0, d.revision),
          pendingOperationId: null,
          pendingDeadline: null,
          lastError: null,
        };
      }
      case 'RevisionFailed': {
        const d = event.data;
        setRevision(d.releaseId, d.revision, {
          status: 'FAILED',
          completedAt: d.completedAt,
          error: sealText(this.cipher, d.error),
          ...(d.helmRevision !== undefined ? { helmRevision: d.helmRevision } : {}),
        });
        return { ...view!, status: 'FAILED', pendingOperationId: null, pendingDeadline: null, lastError: sealText(this.cipher, d.error) };
      }
      case 'UninstallRequested':
        return {
          ...view!,
          status: 'PENDING_UNINSTALL',
          pendingOperationId: event.data.operationId,
          pendingDeadline: event.data.deadline,
        };
      case 'ReleaseUninstalled':
        return { ...view!, status: 'UNINSTALLED', pendingOperationId: null, pendingDeadline: null };
      case 'UninstallFailed':
        return { ...view!, status: 'FAILED', pendingOperationId: null, pendingDeadline: null, lastError: sealText(this.cipher, event.data.error) };
      case 'UpgradeFailureReported':
        setRevision(event.data.releaseId, event.data.revision, { reportedFailure: event.data.reason });
        return view;
      case 'AutomaticRollbackImpossible':
        setRevision(event.data.releaseId, event.data.causedByRevision, {
          remediation: `automatic rollback impossible: ${event.data.reason}`,
        });
        return view;
      default:
        return assertNever(event, 'release event');
    }
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
      const projected = this.project(null, commits);
      if (projected.view) views.push(projected.view);
      // The projection's inserts and $set updates, merged in order, are the final documents.
      for (const op of projected.revisionOps) {
        if ('insert' in op) revisions.set(op.insert._id, op.insert);
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

  async list(options: { limit?: number; after?: string; status?: string } = {}): Promise<ReleaseView[]> {
    const filter: Record<string, unknown> = {};
    if (options.after) filter._id = { $gt: options.after };
    if (options.status) filter.status = options.status;
    return (await this.releases.find(filter).sort({ _id: 1 }).limit(options.limit ?? 100).lean<ReleaseView[]>().exec()).map((v) => this.openRelease(v));
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

const withPendingFlag = (view: ReleaseView): ReleaseView => {
  const { pending: _, ...rest } = view;
  return view.pendingOperationId !== null ? { ...rest, pending: true } : rest;
};

/**
 * Statements per update command. FerretDB 1.24 keeps every statement's query, and the PostgreSQL
 * connection under it, open until the whole command ends: a command of more statements than its pool has
 * connections (50) waits forever, and blocks the server with it. scripts/infra/ferretdb.sh patches that
 * out; an unpatched FerretDB (the Docker image) is safe with small commands from three partitions at once.
 */
const UPDATES_PER_COMMAND = 10;

const chunks = <T>(items: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
