/**
 * Drift check requests on `helm.release.drift-checks`: the release service names a release and the newest
 * Helm revision its history knows of; the executor, which alone reads Helm, answers on the commands topic
 * with a RecordDriftCheck. CloudEvents in structured JSON mode, key = releaseId.
 */
import { CloudEvent } from 'cloudevents';
import { z } from 'zod';
import { DEFAULT_MESSAGE_LIMITS, MessageLimits, parseBoundedJson } from './commands';
import { describeIssues } from './issues';
import { NamespaceSchema, ReleaseIdSchema } from './schemas';

export const DRIFT_CHECK_TYPE = 'helm.release.drift-check';

export const DriftCheckRequestSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  name: ReleaseIdSchema,
  namespace: NamespaceSchema,
  knownHelmRevision: z.number().int().min(1).optional(),
});
export type DriftCheckRequest = z.infer<typeof DriftCheckRequestSchema>;

export const driftCheckEvent = (request: DriftCheckRequest, context: { id: string; source: string }) =>
  new CloudEvent({
    specversion: '1.0',
    id: context.id,
    source: context.source,
    type: DRIFT_CHECK_TYPE,
    subject: request.releaseId,
    datacontenttype: 'application/json',
    data: request,
  });

const EnvelopeSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(200),
  type: z.literal(DRIFT_CHECK_TYPE),
  subject: ReleaseIdSchema,
  data: DriftCheckRequestSchema,
});

/** Parses a drift check request, bounded and validated; never throws. */
export const parseDriftCheckRequest = (
  value: Buffer | string | null,
  limits: MessageLimits = DEFAULT_MESSAGE_LIMITS,
): { ok: true; id: string; request: DriftCheckRequest } | { ok: false; code: 'INVALID_MESSAGE'; reason: string } => {
  try {
    const parsed = parseBoundedJson(value ?? '', limits);
    if (!parsed.ok) return { ok: false, code: 'INVALID_MESSAGE', reason: parsed.reason };
    const envelope = EnvelopeSchema.safeParse(parsed.json);
    if (!envelope.success) return { ok: false, code: 'INVALID_MESSAGE', reason: describeIssues(envelope.error) };
    if (envelope.data.subject !== envelope.data.data.releaseId) return { ok: false, code: 'INVALID_MESSAGE', reason: 'subject must equal data.releaseId' };
    return { ok: true, id: envelope.data.id, request: envelope.data.data };
  } catch (error) {
    return { ok: false, code: 'INVALID_MESSAGE', reason: `unreadable drift check: ${(error as Error)?.message ?? String(error)}` };
  }
};
