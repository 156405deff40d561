import { Inject, Injectable } from '@nestjs/common';
import { MongoEventStore } from '@app/event-store';
import { APP_CONFIG, AppConfig } from '@app/platform';
import { DriftCheckView, HelmInventory, ReleaseReadModel, ReleaseView, RevisionView } from '@app/release-store';
import { EVENT_STORE, HELM_INVENTORY, READ_MODEL } from './api.constants';
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
    @Inject(READ_MODEL) private readonly readModel: ReleaseReadModel,
    @Inject(EVENT_STORE) private readonly store: MongoEventStore,
    @Inject(HELM_INVENTORY) private readonly inventory: HelmInventory,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.visiblePaths = parseVisiblePaths(config.VALUES_VIEWER_VISIBLE_PATHS);
  }

  /** Operators see values and error text as they are; everyone else sees them redacted. */
  reader(principal: Principal | undefined): Reader {
    return { operator: principal?.role === 'operator', visible: this.visiblePaths };
  }

  /** The whole log across releases, a page at a time, in the order of recording. */
  async log(page: { limit: number; after?: string }, reader: Reader) {
    const commits = await this.store.readAll({ ...(page.after ? { after: page.after } : {}), limit: page.limit });
    const { shown, next } = pageOf(
      commits.map((c) => ({ id: c.id, commit: commitForReader(c, reader) })),
      page.limit,
      (p) => p.id,
    );
    return { commits: shown.map((p) => p.commit), next };
  }

  /**
   * The Helm releases of a cluster as its executor last listed them, each with the release that manages it
   * (null: made outside the service, a candidate for adoption). Names, charts and statuses only: no values.
   */
  async helmReleases(cluster: string, page: { limit: number; after?: string; namespace?: string; unmanaged: boolean }) {
    const listed = await this.inventory.list(cluster, page);
    const managing = await this.readModel.managing(listed);
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

  async list(page: { limit: number; after?: string; status?: string }, reader: Reader) {
    const releases = await this.readModel.list(page);
    return {
      items: releases.map((r) => releaseEntry(r, reader)),
      next: releases.length === page.limit ? releases[releases.length - 1].releaseId : null,
    };
  }

  async release(releaseId: string, reader: Reader) {
    const entry = releaseEntry(await this.existing(releaseId), reader);
    return { ...entry, drift: { ...entry.drift, ...checkOf(await this.readModel.driftCheck(releaseId)) } };
  }

  async history(releaseId: string, page: { limit: number; afterRevision: number }, reader: Reader) {
    const revisions = await this.readModel.history(releaseId, page);
    if (revisions.length === 0 && page.afterRevision === 0) await this.existing(releaseId);
    const { shown, next } = pageOf(revisions.map((r) => historyEntry(r, reader)), page.limit, (e) => e.revision);
    return { releaseId, revisions: shown, nextAfterRevision: next };
  }

  async revision(releaseId: string, revision: number, reader: Reader) {
    const view = await this.readModel.revision(releaseId, revision);
    if (!view) {
      const valid = await this.validRevisions(releaseId);
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

  async events(releaseId: string, page: { limit: number; afterVersion: number }, reader: Reader) {
    // The page by point reads of its versions: the cost of a page, whatever the length of the history.
    const commits = await this.store.readTail(releaseId, page.afterVersion, page.afterVersion + page.limit);
    if (commits.length === 0 && page.afterVersion === 0) await this.existing(releaseId);
    const { shown, next } = pageOf(commits.map((c) => commitForReader(c, reader)), page.limit, (c) => c.version);
    return { releaseId, commits: shown, nextAfterVersion: next };
  }

  /**
   * The revisions a release has, from its view alone: revisions are numbered 1..currentRevision without
   * gaps, so naming them needs no read of the history.
   */
  async validRevisions(releaseId: string): Promise<{ text: string; extra: Record<string, unknown> }> {
    const last = (await this.existing(releaseId)).currentRevision;
    if (last === 0) return { text: 'none', extra: { validRevisions: [] } };
    if (last <= LISTED_REVISIONS) {
      const list = Array.from({ length: last }, (_, i) => i + 1);
      return { text: list.join(', '), extra: { validRevisions: list } };
    }
    return { text: `1 to ${last}`, extra: { validRevisionRange: { first: 1, last } } };
  }

  private async existing(releaseId: string): Promise<ReleaseView> {
    const view = await this.readModel.get(releaseId);
    if (!view) throw new Problem('RELEASE_NOT_FOUND', `Release '${releaseId}' does not exist`);
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
