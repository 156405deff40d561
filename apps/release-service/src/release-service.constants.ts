export const EVENT_STORE = Symbol('EVENT_STORE');
export const READ_MODEL = Symbol('READ_MODEL');
export const OUTBOX = Symbol('OUTBOX');

export const SOURCE = 'urn:helm-rollback-service:release-service';
export const CONSUMER_GROUP = 'release-service';

/** A commit left undispatched this long (a crash, a broker outage) is published by the relay. */
export const RELAY_AFTER_MS = 5_000;
export const RELAY_INTERVAL_MS = 60_000;
export const WATCHDOG_INTERVAL_MS = 5_000;
