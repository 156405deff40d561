import { useEffect, useState } from 'preact/hooks';
import { listReleases, ProblemError, type ListFilter, type ReleasePage } from './api';
import { StatusBadge } from './status-badge';

const STATUSES = ['DEPLOYED', 'FAILED', 'PENDING_INSTALL', 'PENDING_UPGRADE', 'PENDING_ROLLBACK', 'PENDING_UNINSTALL', 'UNINSTALLED'];
const PAGE_SIZE = 25;

/** Every release the caller may read, across clusters: filtered on the server, a page at a time. */
export const ReleasesPage = () => {
  const [filter, setFilter] = useState<ListFilter>({});
  const [draft, setDraft] = useState<ListFilter>({});
  // The `after` of each page shown so far: the way back.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<ReleasePage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const after = cursors[cursors.length - 1];

  useEffect(() => {
    let current = true;
    setError(null);
    listReleases({ ...filter, after, limit: PAGE_SIZE })
      .then((p) => current && setPage(p))
      .catch((e) => current && setError(e instanceof ProblemError ? e.problem.detail : String(e)));
    return () => {
      current = false;
    };
  }, [filter, after]);

  const apply = (event: Event) => {
    event.preventDefault();
    setCursors([undefined]);
    setFilter({ ...draft });
  };
  const field = (name: keyof ListFilter) => ({
    value: (draft[name] as string | undefined) ?? '',
    onInput: (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) => setDraft({ ...draft, [name]: e.currentTarget.value.trim() || undefined }),
  });

  return (
    <main class="page">
      <h1>Releases</h1>
      <form class="filters" onSubmit={apply} role="search">
        <label>
          Release id starts with
          <input type="search" name="prefix" {...field('prefix')} />
        </label>
        <label>
          Status
          <select name="status" {...field('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Cluster
          <input name="cluster" {...field('cluster')} />
        </label>
        <label>
          Namespace
          <input name="namespace" {...field('namespace')} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && (
        <>
          <table class="releases">
            <caption class="visually-hidden">Releases</caption>
            <thead>
              <tr>
                <th scope="col">Release</th>
                <th scope="col">Cluster</th>
                <th scope="col">Namespace</th>
                <th scope="col">Chart</th>
                <th scope="col">Status</th>
                <th scope="col">Current</th>
                <th scope="col">Last successful</th>
                <th scope="col">In sync</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => (
                <tr data-release={r.releaseId}>
                  <th scope="row">
                    <a href={`#/releases/${r.releaseId}`}>{r.releaseId}</a>
                  </th>
                  <td>{r.cluster}</td>
                  <td>{r.namespace}</td>
                  <td>{r.chart.name}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{r.currentRevision}</td>
                  <td>{r.lastSuccessfulRevision ?? '—'}</td>
                  <td>{r.drift.inSync ? 'yes' : <strong class="warn">drifted</strong>}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {page.items.length === 0 && <p class="muted">No release matches.</p>}
          <nav class="pager" aria-label="Pages">
            <button type="button" class="secondary" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
              Previous page
            </button>
            <span class="muted">Page {cursors.length}</span>
            <button type="button" class="secondary" disabled={!page.next} onClick={() => setCursors([...cursors, page.next ?? undefined])}>
              Next page
            </button>
          </nav>
        </>
      )}
    </main>
  );
};
