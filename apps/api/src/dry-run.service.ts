import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import diff from 'microdiff';
import { SECRET_KEY } from '@app/contracts';
import { ChartRef, heldRevision, isDomainError, ReleaseCommandMetadata, planRollback, RollbackRelease, RollbackToLastSuccessful, Scope } from '@app/domain';
import { MongoEventStore, planOnStream } from '@app/event-store';
import { RELEASE_AGGREGATE } from '@app/release-store';

import type { Principal } from './auth.guard';
import { Problem } from './problem';
import { redactValues } from './redaction';
import { ReleaseQueries } from './release-queries.service';
import { RenderClient } from './render-client.service';

/** Rollback dry runs: the plan the release service would decide, with a values diff; nothing is appended. */
@Injectable()
export class DryRunService {
  constructor(
    private readonly store: MongoEventStore,
    private readonly queries: ReleaseQueries,
    private readonly renders: RenderClient,
  ) {}

  /**
   * Planned with the caller's grants, as the decision would be: a caller who may not roll back gets no plan.
   * Values are shown as a revision read shows them: a rollbacker without the values right sees them
   * redacted, and of the diff, where the values differ, never what they are. With `render`, the plan also
   * holds the diff of the rendered manifests, from an executor of the release's cluster: for a caller who
   * may read values only, as manifests hold them.
   */
  async planRollback(command: RollbackRelease | RollbackToLastSuccessful, principal: Principal, correlationId: string = randomUUID(), render = false) {
    const metadata: ReleaseCommandMetadata = {
      commandId: 'dry-run',
      now: new Date().toISOString(),
      actor: principal.subject,
      correlationId,
      access: { subject: principal.subject, authenticated: true, grants: principal.grants },
    };
    try {
      let release: (Scope & { name: string; chart: ChartRef; chartDigest?: string }) | undefined;
      const plan = await planOnStream(this.store, command.data.releaseId, RELEASE_AGGREGATE, (state) => {
        const planned = planRollback(command, state, metadata);
        if (state.status !== 'NONE') {
          const { cluster, namespace, name, chart } = state;
          release = { cluster, namespace, name, chart, chartDigest: heldRevision(state, planned.targetRevision)?.chartDigest };
        }
        return planned;
      });
      const reader = this.queries.reader(principal, release!);
      const changes = diff(plan.values.from ?? {}, plan.values.to);
      const rendered = !render
        ? {}
        : {
            rendered: reader.operator
              ? await this.renders.render({
                  releaseId: plan.releaseId,
                  cluster: release!.cluster,
                  namespace: release!.namespace,
                  name: release!.name,
                  chart: release!.chart,
                  chartVersion: plan.chartVersion.to,
                  ...(release!.chartDigest ? { chartDigest: release!.chartDigest } : {}),
                  values: plan.values.to,
                })
              : { ok: false, reason: "the rendered manifests hold the release's values, which your grants do not let you read" },
          };
      if (reader.operator) return { dryRun: true, ...plan, valuesDiff: changes.map((d) => ({ ...d, path: d.path.join('.') })), ...rendered };
      const shown = (value: unknown, path: Array<string | number>) =>
        redactValues(value, reader.visible, path.map(String), path.some((p) => SECRET_KEY.test(String(p))));
      return {
        dryRun: true,
        ...plan,
        values: { ...(plan.values.from ? { from: redactValues(plan.values.from, reader.visible) } : {}), to: redactValues(plan.values.to, reader.visible) },
        valuesRedacted: true,
        valuesDiff: changes.map((d) => ({
          type: d.type,
          path: d.path.join('.'),
          ...('oldValue' in d ? { oldValue: shown(d.oldValue, d.path) } : {}),
          ...('value' in d ? { value: shown(d.value, d.path) } : {}),
        })),
        ...rendered,
      };
    } catch (error) {
      if (isDomainError(error)) throw new Problem(error.code, error.message, error.details);
      throw error;
    }
  }
}
