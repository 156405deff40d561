import diff from 'microdiff';
import { useEffect, useState } from 'preact/hooks';
import { getRevision, ProblemError, type RevisionEntry } from './api';
import { shown } from './format';

export interface Change {
  type: 'CREATE' | 'REMOVE' | 'CHANGE';
  path: string;
  oldValue?: unknown;
  value?: unknown;
}

/** A values diff as a table: one row per changed path, what it was and what it becomes. */
export const ChangeTable = ({ changes, label }: { changes: Change[]; label: string }) =>
  changes.length === 0 ? (
    <p class="muted">No values differ.</p>
  ) : (
    <table class="diff" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Path</th>
          <th scope="col">Change</th>
          <th scope="col">From</th>
          <th scope="col">To</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr class={c.type.toLowerCase()} data-path={c.path}>
            <th scope="row">
              <code>{c.path}</code>
            </th>
            <td>{c.type === 'CREATE' ? 'added' : c.type === 'REMOVE' ? 'removed' : 'changed'}</td>
            <td>
              <code>{shown(c.oldValue)}</code>
            </td>
            <td>
              <code>{shown(c.value)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );

/**
 * The values of any two revisions side by side, as the API shows them to the caller: a viewer compares
 * redacted values (keys and types; what the operator made visible), never the secrets.
 */
export const ValuesDiff = ({ releaseId, revisions }: { releaseId: string; revisions: RevisionEntry[] }) => {
  const numbers = revisions.map((r) => r.revision);
  const last = numbers[numbers.length - 1] ?? 1;
  const [from, setFrom] = useState(numbers.length > 1 ? numbers[numbers.length - 2] : last);
  const [to, setTo] = useState(last);
  const [result, setResult] = useState<{ changes: Change[]; redacted: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let current = true;
    setError(null);
    Promise.all([getRevision(releaseId, from), getRevision(releaseId, to)])
      .then(([a, b]) => {
        if (!current) return;
        const changes = diff(a.values, b.values).map((d) => ({ ...d, path: d.path.join('.') }) as Change);
        setResult({ changes, redacted: a.valuesRedacted || b.valuesRedacted });
      })
      .catch((e) => current && setError(e instanceof ProblemError ? e.problem.detail : String(e)));
    return () => {
      current = false;
    };
  }, [releaseId, from, to]);

  const picker = (label: string, value: number, set: (n: number) => void, name: string) => (
    <label>
      {label}
      <select name={name} value={String(value)} onChange={(e) => set(Number(e.currentTarget.value))}>
        {numbers.map((n) => (
          <option value={String(n)}>revision {n}</option>
        ))}
      </select>
    </label>
  );

  return (
    <section aria-labelledby="diff-title" class="card">
      <h2 id="diff-title">Compare values</h2>
      <div class="row">
        {picker('From', from, setFrom, 'diff-from')}
        {picker('To', to, setTo, 'diff-to')}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <>
          {result.redacted && <p class="muted">Values are redacted for your role: you see keys and types, and only the values the operator made visible.</p>}
          <ChangeTable changes={result.changes} label={`Values of revision ${from} against revision ${to}`} />
        </>
      )}
    </section>
  );
};
