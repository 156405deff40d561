/**
 * Stable error codes of the release domain. They travel unchanged through Kafka command results and are
 * mapped to HTTP statuses only at the edge (apps/api).
 */
export const ErrorCode = {
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  RELEASE_NOT_FOUND: 'RELEASE_NOT_FOUND',
  REVISION_NOT_FOUND: 'REVISION_NOT_FOUND',
  OPERATION_IN_PROGRESS: 'OPERATION_IN_PROGRESS',
  NO_SUCCESSFUL_REVISION: 'NO_SUCCESSFUL_REVISION',
  ALREADY_AT_LAST_SUCCESSFUL: 'ALREADY_AT_LAST_SUCCESSFUL',
  RELEASE_EXISTS: 'RELEASE_EXISTS',
  RELEASE_NAME_TAKEN: 'RELEASE_NAME_TAKEN',
  RELEASE_EXISTS_IN_CLUSTER: 'RELEASE_EXISTS_IN_CLUSTER',
  RELEASE_UNINSTALLED: 'RELEASE_UNINSTALLED',
  OPERATION_NOT_FOUND: 'OPERATION_NOT_FOUND',
  OPERATION_NOT_EXPIRED: 'OPERATION_NOT_EXPIRED',
  AUTOMATIC_ROLLBACK_NOT_ALLOWED: 'AUTOMATIC_ROLLBACK_NOT_ALLOWED',
  CONFIGURATION_QUARANTINED: 'CONFIGURATION_QUARANTINED',
  RETRY_NOT_SCHEDULED: 'RETRY_NOT_SCHEDULED',
  RETRY_NOT_DUE: 'RETRY_NOT_DUE',
  FORBIDDEN: 'FORBIDDEN',
  CLUSTER_UNKNOWN: 'CLUSTER_UNKNOWN',
  NAMESPACE_NOT_ALLOWED: 'NAMESPACE_NOT_ALLOWED',
  CHANGE_FREEZE: 'CHANGE_FREEZE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;
