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
  /** A person's retry of a release whose latest revision is not a failed install or upgrade. */
  NOTHING_TO_RETRY: 'NOTHING_TO_RETRY',
  FORBIDDEN: 'FORBIDDEN',
  CLUSTER_UNKNOWN: 'CLUSTER_UNKNOWN',
  /** An install names another cluster than the one its release lives in: a release never moves. */
  RELEASE_IN_ANOTHER_CLUSTER: 'RELEASE_IN_ANOTHER_CLUSTER',
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
