import { ProblemError } from './api';

/** What a refusal means for the person at the console, by code; the service's own detail follows it. */
const MEANING: Record<string, string> = {
  OPERATION_IN_PROGRESS: 'Another operation on this release is still running. Wait for it to finish.',
  NO_SUCCESSFUL_REVISION: 'This release has no successful revision to go back to.',
  ALREADY_AT_LAST_SUCCESSFUL: 'The release already runs its last successful revision.',
  RELEASE_UNINSTALLED: 'The release is uninstalled.',
  CHANGE_FREEZE: 'A change freeze is in force for this release.',
  CONFIGURATION_QUARANTINED: 'That configuration failed before and is quarantined.',
  REVISION_NOT_FOUND: 'That revision is not in the history.',
  VALIDATION_FAILED: 'The request was not accepted as written.',
  FORBIDDEN: 'Your grants do not allow this here.',
  NAMESPACE_NOT_ALLOWED: 'Your grants do not allow this in this namespace.',
  UNAVAILABLE: 'The service is busy. Try again shortly.',
  TIMEOUT: 'The service did not decide in time. The change may still happen: look at the history before trying again.',
};

export const describeProblem = (error: unknown): { code: string; text: string } => {
  if (!(error instanceof ProblemError)) return { code: 'ERROR', text: String(error) };
  const { code, detail, status } = error.problem;
  const meaning = MEANING[code] ?? (status === 409 ? 'The release is not in a state that allows this.' : status === 422 ? 'The service cannot do this as asked.' : '');
  return { code, text: meaning ? `${meaning} ${detail}` : detail };
};
