/**
 * The CloudEvents the services send each other besides commands and release events (drift checks,
 * inventory reports, upgrade-failed signals): built one way, and parsed one way, bounded and never throwing.
 */
import { CloudEvent } from 'cloudevents';
import { z } from 'zod';
import { DEFAULT_MESSAGE_LIMITS, MessageLimits, parseBoundedJson } from './commands';
import { describeIssues } from './issues';

export type EnvelopeResult<T> = { ok: true; envelope: T } | { ok: false; code: 'INVALID_MESSAGE'; reason: string };

/** A CloudEvent in structured JSON mode of one of the services' own types. */
export const systemEvent = (type: string, subject: string, data: object, context: { id: string; source: string }) =>
  new CloudEvent({ specversion: '1.0', id: context.id, source: context.source, type, subject, datacontenttype: 'application/json', data });

/** The envelope of a message of `type` whose data `data` reads; a schema extends it with what else it checks. */
export const envelopeSchema = <T extends z.ZodType>(type: string, data: T) =>
  z.object({ specversion: z.literal('1.0'), id: z.string().min(1).max(200), type: z.literal(type), data });

/**
 * A message's envelope as `schema` (which checks its data too) reads it, after bounding its size and depth;
 * `what` names it in the reason of a failure. Never throws, whatever the bytes.
 */
export const parseEnvelope = <T>(value: Buffer | string | null, schema: z.ZodType<T>, what: string, limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): EnvelopeResult<T> => {
  try {
    const parsed = parseBoundedJson(value ?? '', limits);
    if (!parsed.ok) return { ok: false, code: 'INVALID_MESSAGE', reason: parsed.reason };
    const envelope = schema.safeParse(parsed.json);
    return envelope.success ? { ok: true, envelope: envelope.data } : { ok: false, code: 'INVALID_MESSAGE', reason: describeIssues(envelope.error) };
  } catch (error) {
    return { ok: false, code: 'INVALID_MESSAGE', reason: `unreadable ${what}: ${(error as Error)?.message ?? String(error)}` };
  }
};
