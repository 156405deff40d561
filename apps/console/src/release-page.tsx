import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { permits } from '@app/grants';
import { getHistory, getRelease, ProblemError, watchRelease, type Release, type RevisionEntry, type Session } from './api';
import { AuditLog } from './audit-log';
import { when } from './format';
import { RollbackPanel } from './rollback-panel';
import { StatusBadge } from './status-badge';
import { Timeline } from './timeline';
import { ValuesDiff } from './values-diff';

/**
 * One release: its state, its revisions, a values diff, a rollback with its preview, and the audit log.
 * The page follows the release's events and reads it again at each, so a PENDING_ROLLBACK turns DEPLOYED
 * without a reload.
 */
export const ReleasePage = ({ releaseId, session }: { releaseId: string; session: Session }) => {
  const [release, setRelease] = useState<Release | null>(null);
  const [revisions, setRevisions] = useState<RevisionEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<'connecting' | 'live' | string>('connecting');
  const loading = useRef<Promise<void> | null>(null);
  const again = useRef(false);

  // One read at a time; events that arrive during it ask for one more read after it, not one each.
  const load = useCallback(() => {
    if (loading.current) {
      again.current = true;
      return;
    }
    loading.current = Promise.all([getRelease(releaseId), getHistory(releaseId)])
      .then(([r, h]) => {
        setRelease(r);
        setRevisions(h);
        setError(null);
      })
      .catch((e) => setError(e instanceof ProblemError ? e.problem.detail : String(e)))
      .finally(() => {
        loading.current = null;
        if (again.current) {
          again.current = false;
          load();
        }
      });
  }, [releaseId]);

  useEffect(() => {
    const stop = new AbortController();
    load();
    watchRelease(
      releaseId,
      {
        onReady: () => {
          setLive('live');
          load();
        },
        onEvent: () => load(),
        onDown: (why) => setLive(why),
      },
      stop.signal,
    );
    return () => stop.abort();
  }, [releaseId, load]);

  if (error && !release)
    return (
      <main class="page">
        <p class="error" role="alert">
          {error}
        </p>
        <a href="#/">All releases</a>
      </main>
    );
  if (!release)
    return (
      <main class="page">
        <p role="status">Loading {releaseId}…</p>
      </main>
    );

  const scope = { cluster: release.cluster, namespace: release.namespace };
  const mayRollBack = permits(session.grants, 'rollback', scope);
  const pending = release.pendingOperationId !== null;

  return (
    <main class="page">
      <nav aria-label="Breadcrumb">
        <a href="#/">All releases</a>
      </nav>
      <h1>
        {release.releaseId} <StatusBadge status={release.status} />
      </h1>
      <p class="live" role="status" data-live={live === 'live' ? 'live' : 'down'}>
        {live === 'live' ? 'Live: this page follows the release as it changes.' : live === 'connecting' ? 'Connecting to live updates…' : live}
      </p>
      <dl class="facts">
        <dt>Cluster</dt>
        <dd>{release.cluster}</dd>
        <dt>Namespace</dt>
        <dd>{release.namespace}</dd>
        <dt>Chart</dt>
        <dd>
          {release.chart.name} <span class="muted">from {release.chart.repository}</span>
        </dd>
        <dt>Current revision</dt>
        <dd data-testid="current-revision">{release.currentRevision}</dd>
        <dt>Last successful</dt>
        <dd>{release.lastSuccessfulRevision ?? '—'}</dd>
        <dt>In sync</dt>
        <dd>{release.drift.inSync ? 'yes' : <strong class="warn">drifted from the recorded revision</strong>}</dd>
        <dt>Updated</dt>
        <dd>
          <time dateTime={release.updatedAt}>{when(release.updatedAt)}</time>
        </dd>
        {release.lastError && (
          <>
            <dt>Last error</dt>
            <dd class="error-text">{release.lastError}</dd>
          </>
        )}
      </dl>
      <div class="columns">
        <section aria-labelledby="timeline-title" class="card">
          <h2 id="timeline-title">Revisions</h2>
          <Timeline revisions={revisions} lastSuccessful={release.lastSuccessfulRevision} />
        </section>
        <div>
          {mayRollBack && revisions.length > 0 && <RollbackPanel releaseId={releaseId} revisions={revisions} busy={pending} onDone={load} />}
          {revisions.length > 0 && <ValuesDiff releaseId={releaseId} revisions={revisions} />}
        </div>
      </div>
      <AuditLog releaseId={releaseId} refreshKey={release.updatedAt} />
    </main>
  );
};
