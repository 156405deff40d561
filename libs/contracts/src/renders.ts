/**
 * Render requests on `helm.release.render-requests`: the API asks an executor of the release's cluster for
 * the diff of its manifests as Helm holds them now against those a rollback would apply (its chart version
 * and values, rendered by Helm); the executor answers on `helm.release.render-results`. CloudEvents in
 * structured JSON mode, key = releaseId; values and the diff sealed when a values key is set.
 */
import { z } from 'zod';
import { MessageLimits } from './commands';
import { envelopeSchema, parseEnvelope, systemEvent } from './envelopes';
import { ChartRefSchema, ChartVersionSchema, ClusterNameSchema, NamespaceSchema, ReleaseIdSchema, ValuesSchema } from './schemas';
import { openIn, openText, sealIn, sealText, ValuesCipher } from './values-cipher';

export const RENDER_REQUEST_TYPE = 'helm.release.render-request';
export const RENDER_RESULT_TYPE = 'helm.release.render-result';
/** The largest diff an executor sends: a bigger one is cut, and says so. */
export const MAX_RENDERED_DIFF_BYTES = 256 * 1024;

export const RenderRequestSchema = z.strictObject({
  requestId: z.string().min(1).max(200),
  releaseId: ReleaseIdSchema,
  cluster: ClusterNameSchema,
  name: ReleaseIdSchema,
  namespace: NamespaceSchema,
  chart: ChartRefSchema,
  chartVersion: ChartVersionSchema,
  /** The digest the target revision recorded: the rendered chart must be that archive. */
  chartDigest: z.string().max(200).optional(),
  values: ValuesSchema,
});
export type RenderRequest = z.infer<typeof RenderRequestSchema>;

const counts = z.strictObject({ changed: z.number().int().min(0), added: z.number().int().min(0), removed: z.number().int().min(0) });
export const RenderResultSchema = z.discriminatedUnion('ok', [
  z.strictObject({ requestId: z.string().min(1).max(200), ok: z.literal(true), diff: z.string().max(2 * MAX_RENDERED_DIFF_BYTES), resources: counts, truncated: z.boolean() }),
  z.strictObject({ requestId: z.string().min(1).max(200), ok: z.literal(false), reason: z.string().max(4096) }),
]);
export type RenderResult = z.infer<typeof RenderResultSchema>;

export const renderRequestEvent = (request: RenderRequest, context: { id: string; source: string }, cipher?: ValuesCipher) =>
  systemEvent(RENDER_REQUEST_TYPE, request.releaseId, sealIn(cipher, request), context);

export const renderResultEvent = (releaseId: string, result: RenderResult, context: { id: string; source: string }, cipher?: ValuesCipher) =>
  systemEvent(RENDER_RESULT_TYPE, releaseId, result.ok ? { ...result, diff: sealText(cipher, result.diff) } : result, context);

const RequestEnvelope = envelopeSchema(RENDER_REQUEST_TYPE, z.unknown()).extend({ subject: ReleaseIdSchema });
const ResultEnvelope = envelopeSchema(RENDER_RESULT_TYPE, z.unknown()).extend({ subject: ReleaseIdSchema });

type Parsed<T> = { ok: true; value: T } | { ok: false; code: 'INVALID_MESSAGE'; reason: string };

const parseData = <T>(data: unknown, schema: z.ZodType<T>, what: string): Parsed<T> => {
  const checked = schema.safeParse(data);
  return checked.success ? { ok: true, value: checked.data } : { ok: false, code: 'INVALID_MESSAGE', reason: `invalid ${what}: ${checked.error.issues[0]?.message ?? 'unreadable'}` };
};

/** Parses a render request, bounded and validated (values opened first); never throws. */
export const parseRenderRequest = (value: Buffer | string | null, limits?: MessageLimits, cipher?: ValuesCipher): Parsed<RenderRequest> => {
  const parsed = parseEnvelope(value, RequestEnvelope, 'render request', limits);
  if (!parsed.ok) return parsed;
  try {
    const request = parseData(openIn(cipher, parsed.envelope.data), RenderRequestSchema, 'render request');
    if (request.ok && request.value.releaseId !== parsed.envelope.subject) return { ok: false, code: 'INVALID_MESSAGE', reason: 'subject must equal data.releaseId' };
    return request;
  } catch (error) {
    return { ok: false, code: 'INVALID_MESSAGE', reason: `unreadable render request: ${(error as Error).message}` };
  }
};

/** Parses a render result, bounded and validated (its diff opened); never throws. */
export const parseRenderResult = (value: Buffer | string | null, limits?: MessageLimits, cipher?: ValuesCipher): Parsed<RenderResult> => {
  const parsed = parseEnvelope(value, ResultEnvelope, 'render result', limits);
  if (!parsed.ok) return parsed;
  try {
    const result = parseData(parsed.envelope.data, RenderResultSchema, 'render result');
    return result.ok && result.value.ok ? { ok: true, value: { ...result.value, diff: openText(cipher, result.value.diff) } } : result;
  } catch (error) {
    return { ok: false, code: 'INVALID_MESSAGE', reason: `unreadable render result: ${(error as Error).message}` };
  }
};
