/** Revision events on `helm.release.events`: CloudEvents, key = releaseId, in order per release. */
import { CloudEvent } from 'cloudevents';
import type { ReleaseEvent, ReleaseEventType } from '@app/domain';
import { openIn, sealIn, ValuesCipher } from './values-cipher';

export const EVENT_SCHEMA_VERSION = 1;
export const EVENT_TYPE_PREFIX = 'helm.release.event.';

export const eventWireType = (type: ReleaseEventType): string => `${EVENT_TYPE_PREFIX}${type}`;
export const domainEventType = (wireType: string): string | undefined =>
  wireType.startsWith(EVENT_TYPE_PREFIX) ? wireType.slice(EVENT_TYPE_PREFIX.length) : undefined;

export interface EventContext {
  /** Deterministic (`<releaseId>:<version>:<index>`), so a republished event keeps its id. */
  eventId: string;
  releaseId: string;
  /** The commit version of the release stream that holds the event. */
  streamVersion: number;
  time: string;
  source: string;
  correlationId: string;
  causationId: string;
  actor: string;
}

export const releaseEventMessage = (event: ReleaseEvent, context: EventContext, cipher?: ValuesCipher) =>
  new CloudEvent({
    specversion: '1.0',
    id: context.eventId,
    source: context.source,
    type: eventWireType(event.type),
    subject: context.releaseId,
    time: context.time,
    datacontenttype: 'application/json',
    correlationid: context.correlationId,
    causationid: context.causationId,
    actor: context.actor,
    streamversion: context.streamVersion,
    schemaversion: EVENT_SCHEMA_VERSION,
    data: sealIn(cipher, event.data),
  });

export interface ReceivedReleaseEvent {
  id: string;
  releaseId: string;
  streamVersion: number;
  correlationId?: string;
  causationId?: string;
  event: ReleaseEvent;
}

/** Parses an event message; unknown types are returned as null so old consumers skip what is new. */
export const parseReleaseEvent = (value: Buffer | string | null, cipher?: ValuesCipher): ReceivedReleaseEvent | null => {
  if (!value) return null;
  const raw = JSON.parse(value.toString()) as Record<string, unknown>;
  const type = domainEventType(String(raw.type ?? ''));
  if (!type) return null;
  return {
    id: String(raw.id),
    releaseId: String(raw.subject),
    streamVersion: Number(raw.streamversion),
    ...(raw.correlationid ? { correlationId: String(raw.correlationid) } : {}),
    ...(raw.causationid ? { causationId: String(raw.causationid) } : {}),
    event: { type, data: openIn(cipher, raw.data) } as ReleaseEvent,
  };
};
