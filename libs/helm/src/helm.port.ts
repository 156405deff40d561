import type { ChartRef, OperationOptions, Values } from '@app/domain';

/** The desired state of a release, as the executor applies it. */
export interface DesiredRelease {
  name: string;
  namespace: string;
  chart: ChartRef;
  chartVersion: string;
  values: Values;
  /** Helm's newest revision before this apply, when known: a failed apply above it made the failed revision. */
  helmRevisionBefore?: number;
  /** When known (a rollback target): the fetched chart must have this digest, or nothing is applied. */
  expectedDigest?: string;
  timeoutSeconds: number;
  /** The operation this apply is, written into the Helm revision's description (operationMarker). */
  operationId?: string;
  /** Helm's flags for the operation; absent: --wait and nothing else. */
  options?: OperationOptions;
}

/** What `helm test` said: passed or not, and its output (the test pods' phases, bounded). */
export interface TestRun {
  passed: boolean;
  output: string;
}

/**
 * The description a Helm revision made by the service carries: Helm keeps it on the revision once it
 * deployed (a failed one gets Helm's error instead), so Helm's own history says which operation made
 * which revision, and a redelivered operation is found there instead of being run twice.
 */
export const operationMarker = (operationId: string): string => `${SERVICE_MARK}${operationId}`;
/** What every description the service writes into Helm starts with: a revision without it was made outside. */
export const SERVICE_MARK = 'helm-rollback-service operation ';
/** Whether a Helm revision was made by the service (see operationMarker; a failed one keeps Helm's error after it). */
export const madeByService = (entry: { description?: string }): boolean => (entry.description ?? '').startsWith(SERVICE_MARK);

export interface AppliedRelease {
  /** Helm's own revision number after the operation. */
  helmRevision: number;
  /** sha256 of the chart archive that was applied. */
  chartDigest: string;
}

export interface HelmHistoryEntry {
  revision: number;
  status: string;
  chart: string;
  app_version?: string;
  description?: string;
  updated?: string;
}

/** One Helm release as `helm list` shows it: its newest revision. */
export interface HelmListedRelease {
  name: string;
  namespace: string;
  revision: number;
  status: string;
  chart: string;
  updated?: string;
}

/** A failed Helm operation, with Helm's own message and whether a failed atomic install was purged. */
export class HelmError extends Error {
  constructor(
    message: string,
    readonly helmRevision?: number,
    readonly purged = false,
  ) {
    super(message);
    this.name = 'HelmError';
  }
}

/**
 * What the executor needs of Helm. The real adapter runs the `helm` CLI; the port keeps the executor's
 * logic testable without it and open to another implementation (the Helm SDK through a sidecar, say).
 */
export interface HelmPort {
  /** `helm upgrade --install` of exactly this chart version and values (install when absent). */
  apply(desired: DesiredRelease, options: { atomic: boolean; signal?: AbortSignal }): Promise<AppliedRelease>;
  /** `helm rollback NAME H`: Helm restores the stored manifest of its revision H. */
  rollback(
    name: string,
    namespace: string,
    helmRevision: number,
    timeoutSeconds: number,
    options?: { signal?: AbortSignal; operationId?: string; helmRevisionBefore?: number; flags?: OperationOptions },
  ): Promise<number>;
  /** `helm test`: runs the chart's test hooks against the deployed release; a failing test is a result, not an error. */
  test(name: string, namespace: string, timeoutSeconds: number, signal?: AbortSignal): Promise<TestRun>;
  /** `helm uninstall --keep-history`. */
  uninstall(name: string, namespace: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void>;
  history(name: string, namespace: string): Promise<HelmHistoryEntry[]>;
  /** The Helm releases of every namespace, in any status (`helm list --all-namespaces --all`), at most `max`. */
  list(max: number): Promise<HelmListedRelease[]>;
  /** The user-supplied values of Helm revision `revision` (`helm get values --revision H -o json`). */
  values(name: string, namespace: string, revision: number): Promise<Values>;
  /** The chart name and version of Helm revision `revision` (`helm get metadata --revision H -o json`). */
  metadata(name: string, namespace: string, revision: number): Promise<{ chart: string; version: string }>;
  /**
   * Marks Helm revision `revision`, left in `staleStatus` (pending-*) by a client that stopped, failed in
   * Helm's storage with `description`, so Helm's lock is released. False: it was not in that status any more.
   */
  releaseLock(name: string, namespace: string, revision: number, staleStatus: string, description: string): Promise<boolean>;
  /** The manifest Helm holds for the release's current revision (`helm get manifest`, no hooks); '' when Helm has none. */
  manifest(name: string, namespace: string): Promise<string>;
  /** What `desired` renders to (`helm template` of its chart archive, with its digest checked, and values; no hooks). Applies nothing. */
  template(desired: DesiredRelease): Promise<string>;
}
