import { Inject, Injectable } from '@nestjs/common';
import { MongoEventStore, verifyChain } from '@app/event-store';
import { grantsFor, permits, Scope } from '@app/domain';
import { APP_CONFIG, AppConfig } from '@app/platform';
import { DriftCheckView, HelmInventory, ReleaseReadModel, ReleaseView, RevisionView } from '@app/release-store';

import type { Principal } from './auth.guard';
import { pageOf } from './paging';
import { Problem } from './problem';
import { commitForReader, parseVisiblePaths, Reader, redactText, redactValues } from './redaction';

/** The longest list of valid revisions an error names; a longer history is named as a range. */
const LISTED_REVISIONS = 100;

/**
 * Every read of the API, shaped for its reader (operators see values and error text as they are,
 * everyone else redacted), paged and bounded in bytes. Reads come from the read model, except the raw
 * log, which is read from the event store a page of point reads at a time.
 */
@Injectable()
export class ReleaseQueries {
  private readonly visiblePaths: string[][];

  constructor(
    private readonly readModel: ReleaseReadModel,
    private readonly store: MongoEventStore,
    private readonly inventory: HelmInventory,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.visiblePaths = parseVisiblePaths(config.VALUES_VIEWER_VISIBLE_PATHS);
  }

  /** Who may read values of a release in `scope` sees them and error text as they are; everyone else redacted. */
  reader(principal: Principal, scope: Scope): Reader {
    return { operator: permits(principal.grants, 'values', scope), visible: this.visiblePaths };
  }

  /**
   * The whole log across releases, a page at a time, in the order of recording: the commits of the
   * releases the caller may read (a page may then hold fewer than `limit`; `next` goes on from it).
   */
  async log(page: { limit: number; after?: string }, principal: Principal) {
    const all = await this.store.readAll({ ...(page.after ? { after: page.after } : {}), limit: page.limit });
    const scopes = await this.readModel.scopes([...new Set(all.map((c) => c.streamId))]);
    const readable = all.flatMap((c) => {
      const scope = scopes.get(c.streamId);
      return scope && permits(principal.grants, 'read', scope) ? [{ id: c.id, commit: commitForReader(c, this.reader(principal, scope)) }] : [];
    });
    if (all.length === page.limit && readable.length < page.limit) {
      // The page was full before filtering: the cursor goes on from its last commit, shown or not.
      return { commits: readable.map((p) => p.commit), next: all[all.length - 1].id };
    }
    const { shown, next } = pageOf(
      readable,
      page.limit,
      (p) => p.id,
    );
    return { commits: shown.map((p) => p.commit), next };
  }

  /**
   * The Helm releases of a cluster as its executor last listed them, each with the release that manages it
   * (null: made outside the service, a candidate for adoption). Names, charts and statuses only: no values.
   */
  async helmReleases(cluster: string, page: { limit: number; after?: string; namespace?: string; unmanaged: boolean }, principal: Principal) {
    // Only the namespaces the caller may read: Helm's listing names releases of any team.
    const listed = (await this.inventory.list(cluster, page)).filter((l) => permits(principal.grants, 'read', { cluster, namespace: l.namespace }));
    const managing = await this.readModel.managing(cluster, listed);
    const items = listed.map(({ namespace, name, revision, status, chart, updated, seenAt }) => ({
      namespace,
      name,
      helmRevision: revision,
      status,
      chart,
      updated: updated ?? null,
      seenAt: new Date(seenAt).toISOString(),
      managedBy: managing.get(`${namespace}/${name}`) ?? null,
    }));
    return {
      cluster,
      items: page.unmanaged ? items.filter((i) => i.managedBy === null) : items,
      next: listed.length === page.limit ? listed[listed.length - 1]._id : null,
    };
  }

  /** The releases the caller may read, in `cluster` if given. */
  async list(page: { limit: number; after?: string; status?: string; cluster?: string; namespace?: string; prefix?: string }, principal: Principal) {
    const releases = await this.readModel.list({ ...page, within: grantsFor(principal.grants, 'read') });
    return {
      items: releases.map((r) => releaseEntry(r, this.reader(principal, r))),
      next: releases.length === page.limit ? releases[releases.length - 1].releaseId : null,
    };
  }

  async release(releaseId: string, principal: Principal) {
    const view = await this.existing(releaseId, principal);
    const entry = releaseEntry(view, this.reader(principal, view));
    return { ...entry, drift: { ...entry.drift, ...checkOf(await this.readModel.driftCheck(releaseId)) } };
  }

  async history(releaseId: string, page: { limit: number; afterRevision: number }, principal: Principal) {
    const reader = this.reader(principal, await this.existing(releaseId, principal));
    const revisions = await this.readModel.history(releaseId, page);
    const { shown, next } = pageOf(revisions.map((r) => historyEntry(r, reader)), page.limit, (e) => e.revision);
    return { releaseId, revisions: shown, nextAfterRevision: next };
  }

  async revision(releaseId: string, revision: number, principal: Principal) {
    const reader = this.reader(principal, await this.existing(releaseId, principal));
    const view = await this.readModel.revision(releaseId, revision);
    if (!view) {
      const valid = await this.validRevisions(releaseId, principal);
      throw new Problem('REVISION_NOT_FOUND', `Revision ${revision} is not in the history of '${releaseId}'; valid revisions: ${valid.text}`, valid.extra, 404);
    }
    const values = JSON.parse(view.valuesJson);
    return {
      releaseId,
      ...historyEntry(view, reader),
      chartDigest: view.chartDigest,
      operationId: view.operationId,
      atomic: view.atomic,
      values: reader.operator ? values : redactValues(values, reader.visible),
      valuesRedacted: !reader.operator,
    };
  }

  async events(releaseId: string, page: { limit: number; afterVersion: number }, principal: Principal) {
    const reader = this.reader(principal, await this.existing(releaseId, principal));
    // The page by point reads of its versions: the cost of a page, whatever the length of the history.
    const commits = await this.store.readTail(releaseId, page.afterVersion, page.afterVersion + page.limit);
    const { shown, next } = pageOf(commits.map((c) => commitForReader(c, reader)), page.limit, (c) => c.version);
    return { releaseId, commits: shown, nextAfterVersion: next };
  }

  /** The release's hash chain, checked now over its stored commits (a cursor: memory stays flat on a long history). */
  async verification(releaseId: string, principal: Principal) {
    await this.existing(releaseId, principal);
    const result = await verifyChain(this.store, { streamId: releaseId });
    return { releaseId, commits: result.commits, intact: result.problems.length === 0, problems: result.problems.map(({ version, problem, detail }) => ({ version, problem, detail })) };
  }

  /**
   * The revisions a release has, from its view alone: revisions are numbered 1..currentRevision without
   * gaps, so naming them needs no read of the history.
   */
  async validRevisions(releaseId: string, principal: Principal): Promise<{ text: string; extra: Record<string, unknown> }> {
    const last = (await this.existing(releaseId, principal)).currentRevision;
    if (last === 0) return { text: 'none', extra: { validRevisions: [] } };
    if (last <= LISTED_REVISIONS) {
      const list = Array.from({ length: last }, (_, i) => i + 1);
      return { text: list.join(', '), extra: { validRevisions: list } };
    }
    return { text: `1 to ${last}`, extra: { validRevisionRange: { first: 1, last } } };
  }

  /** The release's view, if the caller may read it: one it may not is "not found", so its existence does not leak. */
  private async existing(releaseId: string, principal: Principal): Promise<ReleaseView> {
    const view = await this.readModel.get(releaseId);
    if (!view || !permits(principal.grants, 'read', view)) throw new Problem('RELEASE_NOT_FOUND', `Release '${releaseId}' does not exist`);
    return view;
  }
}

const historyEntry = (r: RevisionView, reader: Reader) => ({
  revision: r.revision,
  operation: r.operation,
  chartVersion: r.chartVersion,
  status: r.status,
  rollbackOf: r.rollbackOf,
  causedByRevision: r.causedByRevision,
  trigger: r.trigger,
  requestedBy: r.requestedBy,
  unauthenticated: r.unauthenticated ?? false,
  breakGlass: r.breakGlass ?? null,
  // Helm's own description of a revision made outside the service can quote what failed, values too.
  reason: r.reason && !reader.operator && (r.operation === 'IMPORTED' || r.operation === 'EXTERNAL') ? redactText(r.reason) : r.reason,
  requestedAt: r.requestedAt,
  completedAt: r.completedAt,
  error: r.error && !reader.operator ? redactText(r.error) : r.error,
  helmRevision: r.helmRevision,
  warnings: r.tests?.ignored ? [...r.warnings, 'helm test failed; the revision stays DEPLOYED because the test policy ignores failures (see error)'] : r.warnings,
  remediation: r.remediation ?? null,
  reportedFailure: r.reportedFailure ?? null,
  options: r.options ?? {},
  tests: r.tests ?? null,
  timeoutSeconds: r.timeoutSeconds ?? null,
  attempt: r.attempt ?? null,
});

const releaseEntry = (view: ReleaseView, reader: Reader) => ({
  releaseId: view.releaseId,
  cluster: view.cluster,
  name: view.name,
  namespace: view.namespace,
  chart: view.chart,
  status: view.status,
  autoRollback: view.autoRollback,
  currentRevision: view.currentRevision,
  lastSuccessfulRevision: view.lastSuccessfulRevision,
  pendingOperationId: view.pendingOperationId,
  lastError: view.lastError && !reader.operator ? redactText(view.lastError) : view.lastError,
  // Views written before drift was checked hold neither field: record, and nothing found.
  drift: { policy: view.drift ?? 'record', inSync: view.inSync ?? true },
  test: view.test ?? { enable: false },
  remediation: view.remediation ?? null,
  scheduledRetry: view.retry ?? null,
  createdAt: view.createdAt,
  updatedAt: view.updatedAt,
});

/** The last drift check of a release, for its view: when, and how many revisions made outside it found. */
const checkOf = (check: DriftCheckView | null) => ({ checkedAt: check?.checkedAt ?? null, lastCheckFound: check?.found ?? null });
