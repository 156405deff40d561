/** Queries on a release's revisions, and how a long history is kept out of its state (compaction). */
import { canonicalJson, Values } from './release.events';
import { ExistingRelease, newestRevisionWhere, ReleaseState, Revision } from './release';

export const isQuarantined = (state: ExistingRelease, chartVersion: string, values: Values): boolean => {
  const key = canonicalJson(values);
  return state.quarantined.some((q) => q.chartVersion === chartVersion && q.values === key);
};

export const latestRevision = (state: ExistingRelease): Revision | undefined =>
  state.revisions[state.revisions.length - 1];

/** Whether a revision deployed and its tests, if any ran, did not fail (an ignored failure still counts). */
export const succeeded = (r: Revision): boolean => r.status === 'DEPLOYED' && r.tests?.result !== 'FAILED';

/** The highest revision that deployed successfully (and passed its tests): the safe rollback target. */
export const lastSuccessfulRevision = (state: ExistingRelease): Revision | undefined =>
  newestRevisionWhere(state, succeeded, 'the last successful revision');

/**
 * How many revisions a compacted release state holds at least. Helm itself keeps 10 by default
 * (--history-max), so rollbacks nearly always target one of these; an older target costs a read of the
 * archived revisions (see compactRelease).
 */
export const RELEASE_HISTORY_WINDOW = 100;
/** Revisions leave a compacted state in whole chunks of this many, each archived once and never changed. */
export const RELEASE_HISTORY_CHUNK = 100;

/**
 * The release state as kept in snapshots and in memory: its oldest revisions cut off in whole chunks of
 * `chunk`, keeping at least the newest `keep`, and counted in `archivedRevisions`. This bounds a load (see
 * docs/benchmarks.md for what a whole history costs). Every rule that needs a revision left out throws
 * NeedsFullHistory, so decisions do not change; `restoreRelease` puts the archived revisions back. A
 * revision is left out only once it can no longer change (every event changes the latest revision), and
 * only a state whose revisions are numbered without gaps is compacted (the count then names them).
 */
export const compactRelease = (state: ReleaseState, keep = RELEASE_HISTORY_WINDOW, chunk = RELEASE_HISTORY_CHUNK): ReleaseState => {
  if (state.status === 'NONE') return state;
  const archived = state.archivedRevisions ?? 0;
  const target = Math.floor(Math.max(0, archived + state.revisions.length - keep) / chunk) * chunk;
  if (target <= archived || !state.revisions.every((r, i) => r.revision === archived + i + 1)) return state;
  return { ...state, revisions: state.revisions.slice(target - archived), archivedRevisions: target };
};

/** A compacted state with its archived revisions (1..archivedRevisions, in order) put back: the whole state. */
export const restoreRelease = (state: ReleaseState, archived: Revision[]): ReleaseState => {
  if (state.status === 'NONE' || !state.archivedRevisions) return state;
  if (archived.length !== state.archivedRevisions || !archived.every((r, i) => r.revision === i + 1)) {
    throw new Error(`Archived revisions of release '${state.releaseId}' do not match: expected 1..${state.archivedRevisions}`);
  }
  const { archivedRevisions: _left, ...rest } = state;
  return { ...rest, revisions: [...archived, ...state.revisions] };
};
