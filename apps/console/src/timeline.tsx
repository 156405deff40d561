import type { RevisionEntry } from './api';
import { duration, when } from './format';
import { StatusBadge } from './status-badge';

/**
 * The revisions, newest first: what each did, to which chart version, why and by whom. The last successful
 * one is marked (a rollback to last successful goes there), and so are failed configurations, which the
 * service quarantines: no automatic change applies them again.
 */
export const Timeline = ({ revisions, lastSuccessful }: { revisions: RevisionEntry[]; lastSuccessful: number | null }) => (
  <ol class="timeline" reversed aria-label="Revisions, newest first">
    {[...revisions].reverse().map((r) => {
      const last = r.revision === lastSuccessful;
      const quarantined = r.status === 'FAILED';
      return (
        <li class={`revision${last ? ' last-successful' : ''}${quarantined ? ' quarantined' : ''}`} data-revision={r.revision} data-status={r.status}>
          <div class="revision-head">
            <strong>Revision {r.revision}</strong>
            <span>{r.operation}{r.rollbackOf ? ` of revision ${r.rollbackOf}` : ''}</span>
            <span>chart {r.chartVersion}</span>
            <StatusBadge status={r.status} />
            {last && <span class="tag ok">last successful</span>}
            {quarantined && <span class="tag bad" title="Automatic changes never apply this chart version and values again">quarantined configuration</span>}
          </div>
          <dl class="revision-facts">
            <dt>Trigger</dt>
            <dd>{r.trigger}</dd>
            <dt>By</dt>
            <dd>
              {r.requestedBy}
              {r.unauthenticated ? ' (claimed, not verified)' : ''}
            </dd>
            <dt>Requested</dt>
            <dd>
              <time dateTime={r.requestedAt}>{when(r.requestedAt)}</time>
            </dd>
            <dt>Took</dt>
            <dd>{duration(r.requestedAt, r.completedAt)}</dd>
            {r.reason && (
              <>
                <dt>Why</dt>
                <dd>{r.reason}</dd>
              </>
            )}
            {r.error && (
              <>
                <dt>Error</dt>
                <dd class="error-text">{r.error}</dd>
              </>
            )}
            {r.warnings.length > 0 && (
              <>
                <dt>Warnings</dt>
                <dd>{r.warnings.join('; ')}</dd>
              </>
            )}
          </dl>
        </li>
      );
    })}
  </ol>
);
