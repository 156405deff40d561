/** What the executor answers for `render=true`: the unified diff of the manifests, or why there is none. */
type Rendered = { ok: true; diff: string; resources: { changed: number; added: number; removed: number } } | { ok: false; reason: string };

/** The diff of the rendered Kubernetes manifests (what helm-diff shows): now against the rollback's. Secrets come masked. */
export const RenderedDiff = ({ rendered }: { rendered: unknown }) => {
  const r = rendered as Rendered | undefined;
  if (!r) return null;
  return (
    <section aria-label="Rendered manifests" class="rendered" data-testid="rendered">
      <h4>Rendered manifests</h4>
      {!r.ok ? (
        <p class="warn" role="status">
          No rendered diff: {r.reason}
        </p>
      ) : r.diff === '' ? (
        <p class="muted">The rendered manifests do not change.</p>
      ) : (
        <>
          <p class="muted">
            {r.resources.changed} changed, {r.resources.added} added, {r.resources.removed} removed; Secret data masked.
          </p>
          <pre class="patch" tabIndex={0} aria-label="Unified diff of the rendered manifests">
            {r.diff.split('\n').map((line) => (
              <span class={line.startsWith('+') && !line.startsWith('+++') ? 'add' : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : ''}>
                {line}
                {'\n'}
              </span>
            ))}
          </pre>
        </>
      )}
    </section>
  );
};
