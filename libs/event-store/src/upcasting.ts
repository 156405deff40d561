import { UnknownEventError } from './errors';

/** An event as the domain sees it. */
export interface DomainEvent {
  type: string;
  data: unknown;
}

/**
 * Reads stored events into the current domain shape. `current` gives the schema version written today for
 * each known type; `steps[type][v]` turns version v's data into version v+1's. A type or version with no
 * path to the current one is an error, never skipped.
 */
export interface EventSchemas {
  current: Record<string, number>;
  steps?: Record<string, Record<number, (data: unknown) => unknown>>;
}

export const upcast = (
  schemas: EventSchemas,
  stored: { type: string; schemaVersion: number; data: unknown },
  where: { streamId: string; version: number },
): DomainEvent => {
  const target = schemas.current[stored.type];
  if (target === undefined || stored.schemaVersion > target || stored.schemaVersion < 1) {
    throw new UnknownEventError(stored.type, stored.schemaVersion, where.streamId, where.version);
  }
  let data = stored.data;
  for (let v = stored.schemaVersion; v < target; v += 1) {
    const step = schemas.steps?.[stored.type]?.[v];
    if (!step) throw new UnknownEventError(stored.type, stored.schemaVersion, where.streamId, where.version);
    data = step(data);
  }
  return { type: stored.type, data };
};
