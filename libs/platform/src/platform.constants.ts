export const APP_CONFIG = Symbol('APP_CONFIG');
export const APP_NAME = Symbol('APP_NAME');
export const KAFKA = Symbol('KAFKA');
export const KAFKA_PRODUCER = Symbol('KAFKA_PRODUCER');
export const KAFKA_ADMIN_HEALTH = Symbol('KAFKA_ADMIN_HEALTH');
export const LOGGER = Symbol('LOGGER');
export const MONGO_CONNECTION = Symbol('MONGO_CONNECTION');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
/** The ValuesCipher of VALUES_ENCRYPTION_KEY, or null when values are stored as they are. */
export const VALUES_CIPHER = Symbol('VALUES_CIPHER');
/** Route metadata: the route needs no token (probes, the metrics scrape). Every other route does. */
export const IS_PUBLIC = 'helm-rollback-service:public';
/** Checks an app adds to its readiness (ReadinessCheck[]), beside Kafka and MongoDB. */
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
