/**
 * Drift check requests on `helm.release.drift-checks`: the release service names a release and the newest
 * Helm revision its history knows of; the executor, which alone reads Helm, answers on the commands topic
 * with a RecordDriftCheck. CloudEvents in structured JSON mode, key = releaseId.
 */
import { z } from 'zod';
import { MessageLimits } from './commands';
import { envelopeSchema, parseEnvelope, systemEvent } from './envelopes';
import { LEGACY_CLUSTER } from '@app/domain';
import { ClusterNameSchema, NamespaceSchema, ReleaseIdSchema } from './schemas';

export const DRIFT_CHECK_TYPE = 'helm.release.drift-check';

export const DriftCheckRequestSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  // A request sent before releases had clusters is of the one cluster there was.
  cluster: ClusterNameSchema.default(LEGACY_CLUSTER),
  name: ReleaseIdSchema,
  namespace: NamespaceSchema,
  knownHelmRevision: z.number().int().min(1).optional(),
});
export type DriftCheckRequest = z.infer<typeof DriftCheckRequestSchema>;

export const driftCheckEvent = (request: DriftCheckRequest, context: { id: string; source: string }) => systemEvent(DRIFT_CHECK_TYPE, request.releaseId, request, context);

const EnvelopeSchema = envelopeSchema(DRIFT_CHECK_TYPE, DriftCheckRequestSchema).extend({ subject: ReleaseIdSchema });

/** Parses a drift check request, bounded and validated; never throws. */
export const parseDriftCheckRequest = (
  value: Buffer | string | null,
  limits?: MessageLimits,
): { ok: true; id: string; request: DriftCheckRequest } | { ok: false; code: 'INVALID_MESSAGE'; reason: string } => {
  const parsed = parseEnvelope(value, EnvelopeSchema, 'drift check', limits);
  if (!parsed.ok) return parsed;
  const { id, subject, data } = parsed.envelope;
  if (subject !== data.releaseId) return { ok: false, code: 'INVALID_MESSAGE', reason: 'subject must equal data.releaseId' };
  return { ok: true, id, request: data };
};
