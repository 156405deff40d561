import { useState } from 'preact/hooks';
import { planRollback, rollback, type Decision, type Plan, type RevisionEntry, type RollbackTarget } from './api';
import { describeProblem } from './problems';
import { RenderedDiff } from './rendered-diff';
import { ChangeTable, type Change } from './values-diff';

/**
 * A rollback in two steps: the plan first (a dry run: the new revision, the chart change, the values
 * diff, warnings and, when asked, the rendered manifests' diff), then the rollback with a reason. Only
 * shown to a caller whose grants allow rollbacks of this release.
 */
export const RollbackPanel = ({ releaseId, revisions, busy, onDone }: { releaseId: string; revisions: RevisionEntry[]; busy: boolean; onDone: () => void }) => {
  const [target, setTarget] = useState<string>('last-successful');
  const [render, setRender] = useState(true);
  const [plan, setPlan] = useState<Plan | null>(null);
  const [reason, setReason] = useState('');
  const [working, setWorking] = useState(false);
  const [problem, setProblem] = useState<{ code: string; text: string } | null>(null);
  const [decision, setDecision] = useState<Decision | null>(null);
  const chosen = (): RollbackTarget => (target === 'last-successful' ? 'last-successful' : { revision: Number(target) });

  const preview = async (event: Event) => {
    event.preventDefault();
    setWorking(true);
    setProblem(null);
    setPlan(null);
    setDecision(null);
    try {
      setPlan(await planRollback(releaseId, chosen(), render));
    } catch (error) {
      setProblem(describeProblem(error));
    } finally {
      setWorking(false);
    }
  };
  const confirm = async (event: Event) => {
    event.preventDefault();
    setWorking(true);
    setProblem(null);
    try {
      setDecision(await rollback(releaseId, chosen(), reason.trim()));
      setPlan(null);
      setReason('');
      onDone();
    } catch (error) {
      setProblem(describeProblem(error));
    } finally {
      setWorking(false);
    }
  };
  const p = plan as (Plan & { revision: number; targetRevision: number; chartVersion: { from?: string; to: string }; warnings: string[]; valuesRedacted?: boolean; rendered?: unknown }) | null;

  return (
    <section aria-labelledby="rollback-title" class="card">
      <h2 id="rollback-title">Roll back</h2>
      <form onSubmit={preview} class="row">
        <label>
          Target
          <select name="target" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            <option value="last-successful">the last successful revision</option>
            {[...revisions].reverse().map((r) => (
              <option value={String(r.revision)}>
                revision {r.revision} (chart {r.chartVersion}, {r.status})
              </option>
            ))}
          </select>
        </label>
        <label class="inline">
          <input type="checkbox" name="render" checked={render} onChange={(e) => setRender(e.currentTarget.checked)} />
          Diff the rendered manifests
        </label>
        <button type="submit" disabled={working || busy}>
          Preview rollback
        </button>
      </form>
      {busy && <p class="muted">An operation is in progress; a rollback can be planned once it finishes.</p>}
      {problem && (
        <p class="error" role="alert" data-code={problem.code}>
          <strong>{problem.code}</strong>: {problem.text}
        </p>
      )}
      {p && (
        <div class="plan" data-testid="plan">
          <h3>Plan</h3>
          <p>
            Revision <strong data-testid="plan-revision">{p.revision}</strong> will roll back to revision <strong>{p.targetRevision}</strong>, chart{' '}
            {p.chartVersion.from && p.chartVersion.from !== p.chartVersion.to ? (
              <>
                <code>{p.chartVersion.from}</code> → <code>{p.chartVersion.to}</code>
              </>
            ) : (
              <code>{p.chartVersion.to}</code>
            )}
            .
          </p>
          {p.warnings.length > 0 && (
            <ul class="warnings" aria-label="Warnings">
              {p.warnings.map((w) => (
                <li>{w}</li>
              ))}
            </ul>
          )}
          <h4>Values</h4>
          {p.valuesRedacted && <p class="muted">Values are redacted for your role.</p>}
          <ChangeTable changes={p.valuesDiff as Change[]} label="Values now against the rollback's" />
          {render && <RenderedDiff rendered={p.rendered} />}
          <form onSubmit={confirm}>
            <label for="reason">Reason (recorded in the history)</label>
            <textarea id="reason" name="reason" required minLength={3} maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            <button type="submit" class="danger" disabled={working || reason.trim().length < 3}>
              Confirm rollback to revision {p.targetRevision}
            </button>
          </form>
        </div>
      )}
      {decision && (
        <p role="status" class="ok-text" data-testid="decision">
          Accepted: revision {decision.revision} is {decision.status}.
        </p>
      )}
    </section>
  );
};
