/** Another writer appended at the same stream version first: reload, decide again. */
export class ConcurrencyError extends Error {
  constructor(readonly streamId: string, readonly version: number) {
    super(`Stream '${streamId}' already has version ${version}`);
    this.name = 'ConcurrencyError';
  }
}

/** The command was already recorded on this stream (a redelivery): answer with the first decision. */
export class DuplicateCommandError extends Error {
  constructor(readonly streamId: string, readonly commandId: string) {
    super(`Command '${commandId}' was already recorded on stream '${streamId}'`);
    this.name = 'DuplicateCommandError';
  }
}

/** The log holds an event this code cannot read. Never skipped: a silent skip would corrupt state. */
export class UnknownEventError extends Error {
  constructor(
    readonly eventType: string,
    readonly schemaVersion: number,
    readonly streamId: string,
    readonly version: number,
  ) {
    super(
      `Cannot read event '${eventType}' with schema version ${schemaVersion} in stream '${streamId}' at version ${version}: ` +
        'no upcaster knows it (is this service older than the log?)',
    );
    this.name = 'UnknownEventError';
  }
}

export class ConcurrencyRetriesExhaustedError extends Error {
  constructor(readonly streamId: string, attempts: number) {
    super(`Gave up on stream '${streamId}' after ${attempts} conflicting attempts`);
    this.name = 'ConcurrencyRetriesExhaustedError';
  }
}
