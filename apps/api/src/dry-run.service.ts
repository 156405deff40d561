import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import diff from 'microdiff';
import { isDomainError, ReleaseCommandMetadata, planRollback, RollbackRelease, RollbackToLastSuccessful } from '@app/domain';
import { MongoEventStore, planOnStream } from '@app/event-store';
import { RELEASE_AGGREGATE } from '@app/release-store';

import type { Principal } from './auth.guard';
import { Problem } from './problem';

/** Rollback dry runs: the plan the release service would decide, with a values diff; nothing is appended. */
@Injectable()
export class DryRunService {
  constructor(private readonly store: MongoEventStore) {}

  /** Planned with the caller's grants, as the decision would be: a caller who may not roll back gets no plan. */
  async planRollback(command: RollbackRelease | RollbackToLastSuccessful, principal: Principal, correlationId: string = randomUUID()) {
    const metadata: ReleaseCommandMetadata = {
      commandId: 'dry-run',
      now: new Date().toISOString(),
      actor: principal.subject,
      correlationId,
      access: { subject: principal.subject, authenticated: true, grants: principal.grants },
    };
    try {
      const plan = await planOnStream(this.store, command.data.releaseId, RELEASE_AGGREGATE, (state) => planRollback(command, state, metadata));
      return {
        dryRun: true,
        ...plan,
        valuesDiff: diff(plan.values.from ?? {}, plan.values.to).map((d) => ({ ...d, path: d.path.join('.') })),
      };
    } catch (error) {
      if (isDomainError(error)) throw new Problem(error.code, error.message, error.details);
      throw error;
    }
  }
}
