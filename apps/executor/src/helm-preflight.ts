import { testSeconds, type HelmMadeRevision, type OperationRequested, type RecordOperationResult, type ReleasedLock } from '@app/domain';
import { HelmHistoryEntry, HelmPort, madeByService, operationMarker } from '@app/helm';
import { madeOutside, readHelmMade } from './helm-made';

type Outcome = RecordOperationResult['data'];

export interface PreflightOptions {
  /** A pending Helm revision older than this is a stale lock: a Helm client died in the middle of an operation. */
  lockGraceMs: number;
  /** How often a lock that is still young is looked at again. */
  pollMs: number;
  now?: () => number;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

const latest = (history: HelmHistoryEntry[]): HelmHistoryEntry | undefined =>
  history.reduce<HelmHistoryEntry | undefined>((a, b) => (!a || b.revision > a.revision ? b : a), undefined);

/**
 * What Helm's own history says before an operation runs, so the executor never acts blind on a release
 * others touch too:
 * - the operation already made a Helm revision (its marker is that revision's description): the outcome is
 *   that revision, and Helm is not run again (a redelivery, or a second executor after a rebalance);
 * - Helm's latest revision is pending-* (another client holds Helm's lock): a lock older than the grace is
 *   stale (a client stopped mid-operation) and is released the way Flux does it, then the operation runs
 *   (`released` says what was released, for the record); a younger one is waited for while there is time
 *   left to run before the operation's deadline, then refused, naming the revision, its status and age,
 *   instead of Helm's "another operation is in progress". A refusal ran nothing (notRun).
 * - a first install (the service has no history of the release) where Helm already holds a release of
 *   that namespace and name, made by someone else: refused (RELEASE_EXISTS_IN_CLUSTER), never overwritten;
 *   with `adopt`, its history is read and reported for import instead, and nothing is run;
 * - Helm revisions made outside the service above the newest its history knows of (drift, a lock it just
 *   released): read (`external`), for the outcome to carry, so the history records them before the
 *   operation's own revision.
 * `outcome` undefined: run, with `history` as last read (the rollback needs it too). Uninstalls are not
 * checked: helm uninstall takes no lock.
 */
export const preflight = async (
  helm: HelmPort,
  event: OperationRequested,
  options: PreflightOptions,
  signal?: AbortSignal,
): Promise<{ outcome?: Outcome; released?: ReleasedLock; history?: HelmHistoryEntry[]; external?: HelmMadeRevision[] }> => {
  if (event.type === 'UninstallRequested') return {};
  let released: ReleasedLock | undefined;
  const { releaseId, operationId, name, namespace, timeoutSeconds, deadline } = event.data;
  const now = options.now ?? Date.now;
  // Waiting longer would leave the operation too little of its time before the watchdog fails it.
  const startBy = (Date.parse(deadline) || 0) - (timeoutSeconds + testSeconds(event.data.test)) * 1000;
  for (;;) {
    const history = await helm.history(name, namespace);
    const made = history.find((h) => h.description === operationMarker(operationId));
    if (made) return { outcome: { releaseId, operationId, outcome: 'SUCCEEDED', helmRevision: made.revision } };
    const top = latest(history);
    if (!top || !top.status.startsWith('pending-')) return { ...(await arrival(helm, event, history, top)), history, ...(released ? { released } : {}) };
    const since = Date.parse(top.updated ?? '');
    const age = Number.isFinite(since) ? now() - since : Number.POSITIVE_INFINITY;
    const held = `Helm revision ${top.revision} of ${namespace}/${name} (${top.chart}) is ${top.status}`;
    if (age >= options.lockGraceMs && !released) {
      const lock: ReleasedLock = { helmRevision: top.revision, status: top.status, chart: top.chart, ...(top.updated ? { since: top.updated } : {}), ageSeconds: Math.round(age / 1000) };
      const description = `Released from a stale ${top.status} by helm-rollback-service operation ${operationId}: pending for ${lock.ageSeconds}s, longer than the lock grace`;
      if (await helm.releaseLock(name, namespace, top.revision, top.status, description)) {
        released = lock;
        continue;
      }
      return { outcome: locked(releaseId, operationId, `${held} since ${top.updated ?? 'an unknown time'}, longer than the lock grace of ${Math.round(options.lockGraceMs / 1000)}s, and could not be released (it changed meanwhile); nothing was run`) };
    }
    if (now() + options.pollMs > startBy || signal?.aborted) {
      return { outcome: locked(releaseId, operationId, `${held}: another Helm client is running an operation on it; waited until the operation had no time left; nothing was run`) };
    }
    await sleep(options.pollMs, signal);
  }
};

/**
 * What Helm holds that the service did not make, before anything is applied: a first install onto a Helm
 * release made by someone else is refused (it is not overwritten) or, with `adopt`, imported; any other
 * operation finding revisions made outside since the newest the history knows of reports them (drift).
 */
const arrival = async (
  helm: HelmPort,
  event: OperationRequested,
  history: HelmHistoryEntry[],
  top: HelmHistoryEntry | undefined,
): Promise<{ outcome?: Outcome; external?: HelmMadeRevision[] }> => {
  if (event.type === 'UninstallRequested' || !top) return {};
  const { releaseId, operationId, namespace, name } = event.data;
  const notRun = (error: string): { outcome: Outcome } => ({ outcome: { releaseId, operationId, outcome: 'FAILED', notRun: true, error } });
  // An install whose history knows no Helm revision: whatever Helm holds under the name is someone else's.
  if (event.type === 'InstallRequested' && event.data.knownHelmRevision === undefined && !history.every(madeByService)) {
    const held = `Helm already holds ${namespace}/${name} at revision ${top.revision} (${top.chart}, ${top.status}), not made by this service`;
    if (!event.data.adopt) {
      return notRun(`RELEASE_EXISTS_IN_CLUSTER: ${held}; nothing was run, so it was not overwritten. Adopt it (adopt: true) to take it over with its history, install under another name, or remove it with helm first`);
    }
    const imported = await readHelmMade(helm, name, namespace, history.filter((h) => !h.status.startsWith('pending-')));
    const newest = imported[imported.length - 1];
    if (newest && newest.chartName !== event.data.chart.name) {
      return notRun(`ADOPTION_CHART_MISMATCH: ${held}, of chart ${newest.chartName}, not ${event.data.chart.name}; nothing was adopted`);
    }
    return { outcome: { releaseId, operationId, outcome: 'SUCCEEDED', imported } };
  }
  if (event.data.knownHelmRevision === undefined) return {};
  const outside = madeOutside(history, event.data.knownHelmRevision);
  return outside.length ? { external: await readHelmMade(helm, name, namespace, outside) } : {};
};

const locked = (releaseId: string, operationId: string, why: string): Outcome => ({ releaseId, operationId, outcome: 'FAILED', error: `HELM_LOCKED: ${why}`, notRun: true });
