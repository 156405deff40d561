import { useEffect, useState } from 'preact/hooks';
import { getCommits, ProblemError, verify, type Commits, type Verification } from './api';
import { when } from './format';

/** The release's log as recorded (commits, their events, their hash chain), and the chain checked by the service now. */
/** Read again whenever `refreshKey` (the release's last change) moves. */
export const AuditLog = ({ releaseId, refreshKey }: { releaseId: string; refreshKey: string }) => {
  const [commits, setCommits] = useState<Commits['commits']>([]);
  const [next, setNext] = useState<number | null>(null);
  const [check, setCheck] = useState<Verification | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    Promise.all([getCommits(releaseId), verify(releaseId)])
      .then(([page, verification]) => {
        if (!current) return;
        setCommits(page.commits);
        setNext(page.nextAfterVersion);
        setCheck(verification);
      })
      .catch((e) => current && setError(e instanceof ProblemError ? e.problem.detail : String(e)));
    return () => {
      current = false;
    };
  }, [releaseId, refreshKey]);

  const more = async () => {
    if (next === null) return;
    const page = await getCommits(releaseId, next);
    setCommits([...commits, ...page.commits]);
    setNext(page.nextAfterVersion);
  };

  return (
    <section aria-labelledby="audit-title" class="card">
      <h2 id="audit-title">Audit log</h2>
      {check && (
        <p class={check.intact ? 'ok-text' : 'error'} data-testid="chain" data-intact={String(check.intact)} role="status">
          {check.intact
            ? `Hash chain intact: ${check.commits} commits verified.`
            : `Hash chain broken: ${check.problems.map((p) => `version ${p.version} ${p.problem.toLowerCase().replace('_', ' ')} (${p.detail})`).join('; ')}`}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <table class="audit">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Command</th>
            <th scope="col">Events</th>
            <th scope="col">Recorded</th>
            <th scope="col">Hash</th>
          </tr>
        </thead>
        <tbody>
          {commits.map((c) => (
            <tr data-version={c.version}>
              <td>{c.version}</td>
              <td>{c.commandType}</td>
              <td>{c.events.map((e) => e.type).join(', ')}</td>
              <td>
                <time dateTime={c.recordedAt}>{when(c.recordedAt)}</time>
              </td>
              <td>
                <code title={c.hash}>{c.hash.slice(0, 12)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <button type="button" class="secondary" onClick={more}>
          Later commits
        </button>
      )}
    </section>
  );
};
