/** Revision events on `helm.release.events`: CloudEvents, key = releaseId, in order per release. */
import { CloudEvent } from 'cloudevents';
import { LEGACY_CLUSTER, type ReleaseEvent, type ReleaseEventType } from '@app/domain';
import { z } from 'zod';
import { checkValues } from './bounds';
import { DEFAULT_MESSAGE_LIMITS, MessageLimits, parseBoundedJson, ParseOptions } from './commands';
import { describeIssues } from './issues';
import { envelopeSchema, parseEnvelope } from './envelopes';
import { ChartRefSchema, ClusterNameSchema, ChartVersionSchema, NamespaceSchema, OperationOptionsSchema, ReleaseIdSchema, TestPolicySchema, UpgradeFailedSignalSchema, ValuesSchema } from './schemas';
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

const operationId = z.string().min(1).max(200);
const revision = z.number().int().min(1);
const instant = z.iso.datetime({ offset: true });
const OperationRequestSchema = z.looseObject({
  releaseId: ReleaseIdSchema,
  operationId,
  // An event published before releases had clusters is of the one cluster there was.
  cluster: ClusterNameSchema.default(LEGACY_CLUSTER),
  name: ReleaseIdSchema,
  namespace: NamespaceSchema,
  requestedBy: z.string().max(200),
  requestedAt: instant,
  trigger: z.enum(['MANUAL', 'AUTOMATIC']),
  timeoutSeconds: z.number().int().min(1).max(3600),
  deadline: instant,
});
const DesiredRevisionSchema = OperationRequestSchema.extend({
  revision,
  chart: ChartRefSchema,
  chartVersion: ChartVersionSchema,
  values: ValuesSchema,
  atomic: z.boolean(),
  // The executor turns these into Helm's flags and a `helm test`: checked as strictly as a command's.
  options: OperationOptionsSchema.optional(),
  test: TestPolicySchema.optional(),
});

/**
 * The events a consumer acts on, validated before anyone acts: the executor runs Helm on the first four,
 * remediation issues rollbacks on the last two. Other types are passed on unchecked, for consumers to skip.
 * Objects are loose: a newer release service may add fields, and consumers read only these.
 */
export const ACTIONABLE_EVENT_SCHEMAS: Partial<Record<ReleaseEventType, z.ZodType>> = {
  InstallRequested: DesiredRevisionSchema,
  UpgradeRequested: DesiredRevisionSchema,
  RollbackRequested: DesiredRevisionSchema.extend({
    rollbackOf: revision,
    chartDigest: z.string().max(200).optional(),
    targetHelmRevision: revision.optional(),
  }),
  UninstallRequested: OperationRequestSchema,
  RevisionFailed: z.looseObject({
    releaseId: ReleaseIdSchema,
    revision,
    operationId,
    error: z.string().max(64 * 1024),
    remediate: z.boolean(),
    strategy: z.enum(['rollback', 'uninstall']).optional(),
  }),
  UpgradeFailureReported: z.looseObject({ releaseId: ReleaseIdSchema, revision, reason: z.string().max(2048), reportedBy: z.string().max(200), remediate: z.boolean() }),
};

const EventEnvelopeSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(200),
  type: z.string().min(1).max(200),
  subject: ReleaseIdSchema,
  streamversion: z.coerce.number().int().min(1),
  correlationid: z.string().max(200).optional(),
  causationid: z.string().max(200).optional(),
  data: z.unknown().optional(),
});

export type EventParseResult = { ok: true; received: ReceivedReleaseEvent | null } | { ok: false; code: 'INVALID_MESSAGE'; reason: string };

/**
 * Parses an event message, bounded and validated like a command: never throws. Unknown types are
 * `received: null`, so old consumers skip what is new; an event that fails its schema is refused with the
 * reason, for the dead-letter topic.
 */
export const parseReleaseEvent = (value: Buffer | string | null, options: ParseOptions = {}): EventParseResult => {
  const invalid = (reason: string): EventParseResult => ({ ok: false, code: 'INVALID_MESSAGE', reason });
  try {
    if (!value || value.length === 0) return invalid('empty message');
    const parsed = parseBoundedJson(value, options.limits ?? DEFAULT_MESSAGE_LIMITS);
    if (!parsed.ok) return invalid(parsed.reason);
    const envelope = EventEnvelopeSchema.safeParse(parsed.json);
    if (!envelope.success) return invalid(`not a release event: ${describeIssues(envelope.error)}`);
    const raw = envelope.data;
    const type = domainEventType(raw.type) as ReleaseEventType | undefined;
    if (!type) return { ok: true, received: null };
    let data = openIn(options.cipher, raw.data);
    const schema = ACTIONABLE_EVENT_SCHEMAS[type];
    if (schema) {
      const values = (data as { values?: unknown } | null)?.values;
      const bounded = values === undefined ? ({ ok: true } as const) : checkValues(values, (options.limits ?? DEFAULT_MESSAGE_LIMITS).values);
      if (!bounded.ok) return invalid(`invalid ${raw.type} data: ${bounded.reason}`);
      const checked = schema.safeParse(data);
      if (!checked.success) return invalid(`invalid ${raw.type} data: ${describeIssues(checked.error)}`);
      if ((data as { releaseId: string }).releaseId !== raw.subject) return invalid('subject must equal data.releaseId');
      data = checked.data;
    }
    return {
      ok: true,
      received: {
        id: raw.id,
        releaseId: raw.subject,
        streamVersion: raw.streamversion,
        ...(raw.correlationid ? { correlationId: raw.correlationid } : {}),
        ...(raw.causationid ? { causationId: raw.causationid } : {}),
        event: { type, data } as ReleaseEvent,
      },
    };
  } catch (error) {
    return invalid(`unreadable event: ${(error as Error)?.message ?? String(error)}`);
  }
};

/** What a watcher of a release is told of one of its events: which, and where in the stream; never its data. */
export interface ReleaseEventNotice {
  releaseId: string;
  type: string;
  streamVersion: number;
  time: string | null;
}

const NoticeEnvelopeSchema = EventEnvelopeSchema.pick({ type: true, subject: true, streamversion: true }).extend({ time: z.string().max(64).optional() });

/**
 * The notice of an event message, bounded like every consumer's input; never throws. Its data is not read,
 * so a notice carries no values, sealed or not, whoever watches.
 */
export const parseReleaseEventNotice = (value: Buffer | string | null, limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): ReleaseEventNotice | null => {
  if (!value || value.length === 0) return null;
  const parsed = parseBoundedJson(value, limits);
  if (!parsed.ok) return null;
  const envelope = NoticeEnvelopeSchema.safeParse(parsed.json);
  if (!envelope.success) return null;
  const type = domainEventType(envelope.data.type);
  if (!type) return null;
  return { releaseId: envelope.data.subject, type, streamVersion: envelope.data.streamversion, time: envelope.data.time ?? null };
};

const SignalEnvelopeSchema = envelopeSchema('helm.release.upgrade-failed', UpgradeFailedSignalSchema).extend({ source: z.string().min(1).max(500) });
export type UpgradeFailedSignal = z.infer<typeof SignalEnvelopeSchema>;

/** Parses an upgrade-failed signal of another service, bounded and validated; never throws. */
export const parseUpgradeFailedSignal = (
  value: Buffer | string | null,
  limits: MessageLimits = DEFAULT_MESSAGE_LIMITS,
): { ok: true; signal: UpgradeFailedSignal } | { ok: false; code: 'INVALID_MESSAGE'; reason: string } => {
  const parsed = parseEnvelope(value, SignalEnvelopeSchema, 'signal', limits);
  return parsed.ok ? { ok: true, signal: parsed.envelope } : parsed;
};
