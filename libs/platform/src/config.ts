/**
 * Configuration from the environment, validated once at start. A bad value stops the process with one
 * message naming every problem, instead of failing later on first use.
 */
import { z } from 'zod';
import { DEFAULT_VALUE_LIMITS, MAX_VALUE_LIMITS, MessageLimits, ParseOptions, ValuesCipher } from '@app/contracts';

const boolean = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const Role = { viewer: 'viewer', operator: 'operator' } as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface TokenGrant {
  token: string;
  role: Role;
  subject: string;
}

/**
 * AUTH_TOKENS is a comma-separated list of `role:subject:token` (the token last, so it may contain ':').
 * Tokens are secrets: errors never echo them.
 */
const tokens = z.string().transform((raw, ctx): TokenGrant[] => {
  const grants: TokenGrant[] = [];
  for (const [i, entry] of raw.split(',').map((s) => s.trim()).filter(Boolean).entries()) {
    const [role, subject, ...rest] = entry.split(':');
    const token = rest.join(':');
    if ((role !== 'viewer' && role !== 'operator') || !subject || token.length < 16) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${i + 1} must be role:subject:token with role viewer|operator and a token of 16+ characters`,
      });
      continue;
    }
    grants.push({ role, subject, token });
  }
  return grants;
});

const TopicPrefixSchema = z.string().regex(/^[a-zA-Z0-9._-]*$/).default('');

export const ConfigSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:39092')
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'must be host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().default('helm-rollback-service'),
  /** Topic name prefix, so several test runs or tenants can share one broker. */
  KAFKA_TOPIC_PREFIX: TopicPrefixSchema,
  KAFKA_TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  /**
   * How long the group waits for a silent consumer before giving its partitions to another: the time a
   * crashed instance's partitions stay unserved. The broker's default minimum is 6 s.
   */
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(30_000),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'must be a mongodb:// URI')
    .default('mongodb://127.0.0.1:37017/helm_releases'),
  API_PORT: port(8080),
  RELEASE_SERVICE_PORT: port(8081),
  EXECUTOR_PORT: port(8082),
  REMEDIATION_PORT: port(8083),
  HTTP_HOST: z.string().default('127.0.0.1'),
  AUTH_TOKENS: tokens.default([]),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /** The helm binary the executor runs (scripts/infra/helm.sh builds one). */
  HELM_BIN: z.string().min(1).default('helm'),
  /**
   * Base64 of 32 random bytes (`openssl rand -base64 32`). When set, Helm values are sealed with
   * AES-256-GCM in the event store, the read model and the messages on Kafka. Every app needs the same key.
   */
  VALUES_ENCRYPTION_KEY: z
    .string()
    .refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === 32, 'must be base64 of exactly 32 bytes (openssl rand -base64 32)')
    .optional(),
  /** Kubeconfig naming the target cluster; unset means Helm's own default. */
  KUBECONFIG: z.string().min(1).optional(),
  /** Helm's cache/config/data directories of the executor. */
  EXECUTOR_HELM_HOME: z.string().min(1).optional(),
  /** Largest message any consumer reads; a larger one is dead-lettered unread. */
  KAFKA_MESSAGE_MAX_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  /** How deep Helm values may nest and how large they may be, at every edge (HTTP and Kafka). */
  VALUES_MAX_DEPTH: z.coerce.number().int().min(2).max(MAX_VALUE_LIMITS.maxDepth).default(DEFAULT_VALUE_LIMITS.maxDepth),
  VALUES_MAX_BYTES: z.coerce.number().int().min(1024).max(MAX_VALUE_LIMITS.maxBytes).default(DEFAULT_VALUE_LIMITS.maxBytes),
  /**
   * Chart repositories releases may use: comma-separated exact URLs or patterns with `*`
   * (`https://charts.example.com/stable*`, `oci://registry.example.com/*`). Empty: none.
   */
  CHART_REPOSITORIES: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^(https?|oci):\/\/[^\s@]+$/, 'must be an http(s):// or oci:// URL or pattern, without credentials'))),
  /**
   * Whether a repository host may resolve to a private, loopback or link-local address. A pattern whose
   * host is such an address written out (`http://127.0.0.1:8879/*`) allows that address by itself.
   */
  CHART_REPOSITORIES_PRIVATE_ALLOWED: boolean.default(false),
  /** A JSON file of chart repository credentials, by repository (see repository-credentials.ts); the executor's. */
  CHART_REPOSITORY_CREDENTIALS_FILE: z.string().min(1).optional(),
  /**
   * Value paths a chart declares non-secret, shown to viewers as they are (comma-separated, dotted, `*`
   * for one key: `image.tag,replicaCount,*.enabled`). Every other value is shown to viewers as its type.
   */
  VALUES_VIEWER_VISIBLE_PATHS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean)),
  /** Requests the API waits on at once; beyond it, 503 with Retry-After. */
  API_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /** Operations run at once (each release's stay serialized by its partition). */
  EXECUTOR_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * A Helm revision left pending-* for longer than this is a stale lock (a Helm client that stopped
   * mid-operation); a younger one is another client at work, which the executor waits for.
   */
  HELM_LOCK_GRACE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /**
   * How often the release service asks for every settled release's Helm history to be compared with its
   * own (drift); 0 turns the schedule off (operations still check before they run).
   */
  DRIFT_CHECK_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  /**
   * How often the executor lists its cluster's Helm releases for the release service, which then refuses an
   * install over one it does not manage when deciding it (409); 0 turns it off (the executor still refuses).
   */
  HELM_INVENTORY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** The namespace of the executors' per-release Leases (one executor runs a release's operation at a time). */
  EXECUTOR_LEASE_NAMESPACE: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63).default('default'),
});

export type AppConfig = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): AppConfig => {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return parsed.data;
};

/** The bounds every consumer applies to a message before parsing it. */
export const messageLimits = (config: Pick<AppConfig, 'KAFKA_MESSAGE_MAX_BYTES' | 'VALUES_MAX_DEPTH' | 'VALUES_MAX_BYTES'>): MessageLimits => ({
  maxMessageBytes: config.KAFKA_MESSAGE_MAX_BYTES,
  values: { maxDepth: config.VALUES_MAX_DEPTH, maxBytes: config.VALUES_MAX_BYTES },
});

/** What every consumer parses its messages with: the configured bounds, and the cipher if a key is set. */
export const messageParseOptions = (
  config: Pick<AppConfig, 'KAFKA_MESSAGE_MAX_BYTES' | 'VALUES_MAX_DEPTH' | 'VALUES_MAX_BYTES'>,
  cipher: ValuesCipher | null,
): ParseOptions & { limits: MessageLimits } => ({ ...(cipher ? { cipher } : {}), limits: messageLimits(config) });

/** Topic names with the configured prefix applied. */
export const topicName = (config: Pick<AppConfig, 'KAFKA_TOPIC_PREFIX'>, topic: string): string =>
  `${config.KAFKA_TOPIC_PREFIX}${topic}`;

/**
 * A consumed topic's name for a handler decorator, which is evaluated when its file is imported, before
 * the app's configuration is loaded: it reads the topic prefix alone, by the same rule as the config.
 * An invalid prefix is reported by loadConfig at start; here it falls back to none.
 */
export const consumedTopic = (topic: string, env: NodeJS.ProcessEnv = process.env): string => {
  const prefix = TopicPrefixSchema.safeParse(env.KAFKA_TOPIC_PREFIX);
  return `${prefix.success ? prefix.data : ''}${topic}`;
};
