/** Decisions on `helm.release.command-results`: one per command, keyed by releaseId. */
import { CloudEvent } from 'cloudevents';
import type { DecisionSummary, ErrorCode } from '@app/domain';

export const COMMAND_RESULT_TYPE = 'helm.release.command-result';
export const COMMAND_RESULT_SCHEMA_VERSION = 1;

/** Codes that only the edges produce, beside the domain's own. */
export const EDGE_ERROR_CODES = [
  'INVALID_MESSAGE',
  'TIMEOUT',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'REPOSITORY_NOT_ALLOWED',
  'IDEMPOTENCY_KEY_REUSED',
  'RENDER_NEEDS_DRY_RUN',
  'INTERNAL',
  'UNAVAILABLE',
] as const;
export type EdgeErrorCode = (typeof EDGE_ERROR_CODES)[number];

export interface RejectedError {
  code: ErrorCode | EdgeErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type CommandResult =
  | { commandId: string; releaseId: string; outcome: 'ACCEPTED'; decision: DecisionSummary }
  | { commandId: string; releaseId?: string; outcome: 'REJECTED'; error: RejectedError };

export const commandResultEvent = (
  result: CommandResult,
  context: { source: string; correlationId?: string; time?: string },
) =>
  new CloudEvent({
    specversion: '1.0',
    // One result per command: deriving the id from the command id lets consumers deduplicate.
    id: `result:${result.commandId}`,
    source: context.source,
    type: COMMAND_RESULT_TYPE,
    ...(result.releaseId ? { subject: result.releaseId } : {}),
    time: context.time ?? new Date().toISOString(),
    datacontenttype: 'application/json',
    causationid: result.commandId,
    ...(context.correlationId ? { correlationid: context.correlationId } : {}),
    schemaversion: COMMAND_RESULT_SCHEMA_VERSION,
    data: result,
  });
