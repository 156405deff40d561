/**
 * Helm revisions the service did not make: imported when a release is adopted, recorded as drift when
 * found later, and, under the `correct` policy, answered with a rollback to the recorded desired state.
 * Nothing that happens to a release goes unrecorded; automation never fights a person without bound.
 */
import { CommandMetadata } from '../core/decider';
import type { ActiveFreeze } from './release.access';
import { DriftPolicy, HelmMadeRevision, RecordedHelmRevision, ReleaseEvent } from './release.events';
import { evolve, ExistingRelease, newestRevisionWhere, Revision } from './release';
import { isQuarantined, succeeded } from './release.history';
import { RecordDriftCheck } from './release.commands';
import { Decision, knownHelmRevision, nextRevision, requireRelease, rollbackTo } from './release.rules';

/** How many drift corrections in a row (with no change through the service between) before automation stops. */
export const MAX_DRIFT_CORRECTIONS = 3;
/** The reason a drift correction carries: how it is told apart from other automatic rollbacks. */
export const DRIFT_CORRECTION_REASON = 'drift correction: restoring the recorded desired state';

/** Helm-made revisions numbered from `first`, in Helm's order. */
const numbered = (revisions: HelmMadeRevision[], first: number): RecordedHelmRevision[] =>
  [...revisions].sort((a, b) => a.helmRevision - b.helmRevision).map((r, i) => ({ ...r, revision: first + i }));

/**
 * An adopting install found Helm's release: its revisions replace the install's (which never ran), from
 * the install's number on, and the release continues from Helm's latest.
 */
export const adoptionEvents = (release: ExistingRelease, revisions: HelmMadeRevision[], now: string): ReleaseEvent[] => {
  const pending = release.pending!;
  return [
    {
      type: 'ReleaseAdopted',
      data: {
        releaseId: release.releaseId,
        operationId: pending.operationId,
        replacesRevision: pending.revision!,
        revisions: numbered(revisions, pending.revision!),
        completedAt: now,
      },
    },
  ];
};

/** Drift corrections since the last revision a person or pipeline asked for through the service. */
const correctionsInARow = (release: ExistingRelease): number => {
  let count = 0;
  for (let i = release.revisions.length - 1; i >= 0; i -= 1) {
    const r = release.revisions[i];
    if (r.trigger === 'MANUAL') break;
    if (r.reason === DRIFT_CORRECTION_REASON) count += 1;
  }
  return count;
};

/** The desired state to restore: the newest revision the service applied or adopted that deployed, outside quarantine. */
const desiredRevision = (release: ExistingRelease): Revision | undefined =>
  newestRevisionWhere(
    release,
    (r) => r.operation !== 'EXTERNAL' && succeeded(r) && !isQuarantined(release, r.chartVersion, r.values),
    'the newest deployed revision made by the service',
  );

/**
 * The events of Helm revisions found outside the service on an idle release: DriftDetected with them as
 * EXTERNAL revisions, then, under `correct`, a rollback to the desired state (trigger AUTOMATIC, caused by
 * the newest of them), unless automation already corrected MAX_DRIFT_CORRECTIONS times in a row or has
 * nothing safe to restore, or a freeze window in force stops automatic changes (`frozen`): then the drift
 * is only recorded, and DriftDetected says why.
 */
export const driftEvents = (release: ExistingRelease, found: HelmMadeRevision[], metadata: CommandMetadata, frozen?: ActiveFreeze): ReleaseEvent[] => {
  const known = knownHelmRevision(release) ?? 0;
  const fresh = found.filter((r) => r.helmRevision > known);
  if (fresh.length === 0) return [];
  const policy: DriftPolicy = release.drift ?? 'record';
  const revisions = numbered(fresh, nextRevision(release));
  const newest = revisions[revisions.length - 1].revision;
  const detected = (correction: string): ReleaseEvent => ({
    type: 'DriftDetected',
    data: { releaseId: release.releaseId, revisions, policy, correction, at: metadata.now },
  });
  if (policy === 'record') return [detected('recorded (drift policy record)')];
  // A freeze window that stops automatic changes stops this one too; the drift is recorded all the same.
  if (frozen) return [detected(`not corrected: changes are frozen by window '${frozen.window}' until ${frozen.endsAt}; left as recorded: correct it by hand`)];
  const after = evolve(release, detected('')) as ExistingRelease;
  if (correctionsInARow(after) >= MAX_DRIFT_CORRECTIONS) {
    return [
      detected(
        `not corrected: corrected ${MAX_DRIFT_CORRECTIONS} times in a row and changed outside the service again; ` +
          'left as recorded so automation does not fight whoever changes it: correct it by hand',
      ),
    ];
  }
  const target = desiredRevision(after);
  if (!target) return [detected('not corrected: no deployed revision made or adopted by the service, outside quarantine, to restore')];
  return [
    detected(`corrected: rolling back to revision ${target.revision}`),
    ...rollbackTo(after, target, { releaseId: release.releaseId, reason: DRIFT_CORRECTION_REASON }, metadata, 'AUTOMATIC', newest),
  ];
};

/**
 * Helm revisions made outside the service that an operation found before it ran (a stale lock it released,
 * a person's upgrade): recorded before the operation's revision, which moves after them, so the history
 * keeps Helm's order. The operation itself applies the service's desired state, so there is nothing to
 * correct.
 */
export const driftBeforeOperation = (release: ExistingRelease, found: HelmMadeRevision[], now: string): ReleaseEvent[] => {
  const pending = release.pending;
  const known = knownHelmRevision(release) ?? 0;
  const fresh = found.filter((r) => r.helmRevision > known);
  if (!pending || pending.revision === undefined || fresh.length === 0) return [];
  const revisions = numbered(fresh, pending.revision);
  return [
    {
      type: 'DriftDetected',
      data: {
        releaseId: release.releaseId,
        revisions,
        policy: release.drift ?? 'record',
        correction: `recorded before operation ${pending.operationId}, which ran after them`,
        at: now,
        pendingMoved: { revision: pending.revision, movedTo: pending.revision + revisions.length },
      },
    },
  ];
};

/**
 * A drift check's report. A release with an operation pending is left alone: the operation's own check,
 * before it runs, sees the same revisions. A release uninstalled, or never in Helm, has nothing to drift.
 */
export const recordDriftCheck: Decision<RecordDriftCheck> = ({ data }, state, metadata) => {
  const release = requireRelease(state, data.releaseId);
  // A release whose history knows no Helm revision never reached Helm: what Helm holds is not its drift.
  if (release.pending !== null || release.status === 'UNINSTALLED' || knownHelmRevision(release) === undefined) return [];
  const freeze = metadata.freezeAt?.({ cluster: release.cluster, namespace: release.namespace });
  return driftEvents(release, data.revisions, metadata, freeze && !freeze.allowAutomatic ? freeze : undefined);
};
