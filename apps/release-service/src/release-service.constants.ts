export { RELEASE_SERVICE_SOURCE as SOURCE } from '@app/contracts';
export const CONSUMER_GROUP = 'release-service';

/** A commit left undispatched this long (a crash, a broker outage) is published by the relay of its partition's owner. */
export const RELAY_AFTER_MS = 5_000;
/**
 * And this long, by any instance's relay: a stream no instance seems to own (a command keyed with another
 * partitioner, an assignment missed) is published late rather than never.
 */
export const RELAY_UNOWNED_AFTER_MS = 60_000;
/**
 * The relay runs after a start and after each partition assignment (when a crashed instance's work
 * arrives), then this often as a safety net. It reads the outbox collection, which holds only commits
 * that may not be on Kafka yet, so it is cheap.
 */
export const RELAY_INTERVAL_MS = 10_000;
/** The watchdog checks the pending operations it holds in memory this often (no query)... */
export const WATCHDOG_INTERVAL_MS = 5_000;
/** ...and every pending release in the read model this often (deadlines are a minute or more away). */
export const WATCHDOG_SWEEP_MS = 60_000;
