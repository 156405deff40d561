import { randomUUID } from 'node:crypto';
import { AppConfig, loadConfig } from '@app/platform';

/** A short random suffix, so each test file has its own topics and database on the shared servers. */
export const uniqueSuffix = (): string => randomUUID().slice(0, 8);

export const testKafkaBrokers = (): string[] => {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: the jest global setup should have set it');
  return brokers.split(',');
};

/** The MongoDB URI of the test server with its database replaced by `database`. */
export const testMongoUri = (database: string): string => {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is not set: the jest global setup should have set it');
  const url = new URL(uri);
  url.pathname = `/${database}`;
  return url.toString();
};

/** An app config pointing at the test servers, isolated by topic prefix and database name. */
export const testConfig = (overrides: Partial<Record<string, string>> = {}): AppConfig => {
  const suffix = uniqueSuffix();
  return loadConfig({
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    KAFKA_BROKERS: testKafkaBrokers().join(','),
    KAFKA_TOPIC_PREFIX: `t${suffix}.`,
    KAFKA_TOPIC_PARTITIONS: '3',
    MONGODB_URI: testMongoUri(`test_${suffix}`),
    API_PORT: '0',
    RELEASE_SERVICE_PORT: '0',
    EXECUTOR_PORT: '0',
    // The tests' chart repositories listen on loopback, on ports of their own: written out, so allowed.
    CHART_REPOSITORIES: 'http://127.0.0.1:*',
    // The tests stand in for the executor and remediation when they inject outcomes over Kafka.
    KAFKA_SYSTEM_SOURCES: 'urn:helm-rollback-service:*,urn:test*,urn:executor',
    ...overrides,
  });
};

export const waitFor = async <T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 20_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
};
