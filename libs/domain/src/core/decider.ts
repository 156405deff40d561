/**
 * The shape every aggregate in this lib has: a pure `decide` and `evolve` over an initial state.
 * Nothing here does I/O; time, ids and the actor arrive in `CommandMetadata`.
 */
export interface CommandMetadata {
  /** The command's id, also its idempotency key. */
  commandId: string;
  /** ISO-8601 instant at which the command is decided. The domain never reads a clock. */
  now: string;
  /** Who asked (a token subject, a service name, or `system:remediation`). */
  actor: string;
  correlationId: string;
  causationId?: string;
  /** Digest of the command's content, set by the edge: the same id sent again with other content is refused. */
  fingerprint?: string;
}

export interface Decider<State, Command, Event> {
  initialState: () => State;
  decide: (command: Command, state: State, metadata: CommandMetadata) => Event[];
  evolve: (state: State, event: Event) => State;
}

/** Fold a sequence of events into state, starting from `state`. */
export const fold = <State, Event>(
  evolve: (state: State, event: Event) => State,
  state: State,
  events: readonly Event[],
): State => events.reduce(evolve, state);

export const assertNever = (value: never, what = 'value'): never => {
  throw new Error(`Unexpected ${what}: ${JSON.stringify(value)}`);
};

/**
 * Thrown by `decide` (or `evolve`) when the answer depends on history the state it was given does not
 * hold: an aggregate may keep only the recent part of a long history in its snapshots and in memory, so
 * a load costs the same at any length. Not a refusal and not a failure: the command handler folds the
 * whole stream from its first commit and decides again.
 */
export class NeedsFullHistory extends Error {
  constructor(readonly what: string) {
    super(`The decision needs ${what}, which this compacted state does not hold`);
    this.name = 'NeedsFullHistory';
  }
}
