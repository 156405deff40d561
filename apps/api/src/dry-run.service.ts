import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import diff from 'microdiff';
import { CommandMetadata, isDomainError, planRollback, RollbackRelease, RollbackToLastSuccessful } from '@app/domain';
import { MongoEventStore, planOnStream } from '@app/event-store';
import { RELEASE_AGGREGATE } from '@app/release-store';
import { EVENT_STORE } from './api.constants';
import { Problem } from './problem';

/** Rollback dry runs: the plan the release service would decide, with a values diff; nothing is appended. */
@Injectable()
export class DryRunService {
  constructor(@Inject(EVENT_STORE) private readonly store: MongoEventStore) {}

  async planRollback(command: RollbackRelease | RollbackToLastSuccessful, actor: string, correlationId: string = randomUUID()) {
    const metadata: CommandMetadata = { commandId: 'dry-run', now: new Date().toISOString(), actor, correlationId };
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
