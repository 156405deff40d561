/**
 * Configuration from the environment, validated once at start. A bad value stops the process with one
 * message naming every problem, instead of failing later on first use.
 */
import { z } from 'zod';
import { Cron } from 'croner';
import { ClusterNameSchema, DEFAULT_VALUE_LIMITS, MAX_VALUE_LIMITS, MessageLimits, ParseOptions, ScopePatternSchema, ValuesCipher } from '@app/contracts';
import { LEGACY_CLUSTER, ROLE_NAMES, RoleName } from '@app/domain';

const boolean = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/**
 * What a static token grants: a role everywhere (`viewer`, `rollbacker`, `deployer`, `admin`; `operator` is
 * the older name of deployer), or `scoped`: only the grants AUTH_GRANTS gives its subject.
 */
export const TOKEN_ROLES = [...ROLE_NAMES, 'operator', 'scoped'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export interface TokenGrant {
  token: string;
  role: TokenRole;
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
    if (!(TOKEN_ROLES as readonly string[]).includes(role) || !subject || token.length < 16) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${i + 1} must be role:subject:token with role ${TOKEN_ROLES.join('|')} and a token of 16+ characters`,
      });
      continue;
    }
    grants.push({ role: role as TokenRole, subject, token });
  }
  return grants;
});

/** A JSON array from the environment, checked by `item`; the whole value may be absent (empty). */
const jsonList = <T extends z.ZodType>(item: T, max: number) =>
  z
    .string()
    .default('[]')
    .transform((raw, ctx) => {
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array' });
        return z.NEVER;
      }
    })
    .pipe(z.array(item).max(max));

/**
 * A grant of AUTH_GRANTS: a role on cluster and namespace patterns (default: all) for one token `subject`
 * (OIDC subjects are `oidc:<sub>`), every member of an OIDC `group`, or Kafka commands whose CloudEvents
 * `source` matches (a pattern; the allow-list of Kafka senders: other sources are refused).
 */
export const GrantEntrySchema = z
  .strictObject({
    subject: z.string().min(1).max(200).optional(),
    group: z.string().min(1).max(200).optional(),
    source: z.string().min(1).max(500).optional(),
    /** A signed Kafka principal (KAFKA_SIGNERS_FILE). */
    principal: z.string().min(1).max(100).optional(),
    role: z.enum(ROLE_NAMES as [RoleName, ...RoleName[]]),
    clusters: z.array(ScopePatternSchema).min(1).max(50).default(['*']),
    namespaces: z.array(ScopePatternSchema).min(1).max(50).default(['*']),
  })
  .refine((g) => [g.subject, g.group, g.source, g.principal].filter((x) => x !== undefined).length === 1, 'each grant names exactly one of subject, group, source, principal');
export type GrantEntry = z.infer<typeof GrantEntrySchema>;

/** A cluster of CLUSTERS: its name, how to reach it (a kubeconfig path; absent: in-cluster or Helm's default), and the namespaces open to releases there. */
export const ClusterEntrySchema = z.strictObject({
  name: ClusterNameSchema,
  kubeconfig: z.string().min(1).max(4096).optional(),
  namespaces: z.array(ScopePatternSchema).min(1).max(200).optional(),
});
export type ClusterEntry = z.infer<typeof ClusterEntrySchema>;

/**
 * A freeze window of FREEZE_WINDOWS. `deny` (default): changes are refused for `durationMinutes` from each
 * time `cron` fires; `allow`: changes are allowed only then, refused outside. Times are in `timeZone`
 * (IANA, default UTC). `allowAutomatic` (default true): remediation's rollbacks, retries and uninstalls
 * go on during the freeze.
 */
export const FreezeWindowSchema = z.strictObject({
  name: z.string().min(1).max(100),
  mode: z.enum(['deny', 'allow']).default('deny'),
  cron: z.string().min(9).max(200),
  durationMinutes: z.number().int().min(1).max(60 * 24 * 31),
  timeZone: z.string().min(1).max(100).default('UTC'),
  clusters: z.array(ScopePatternSchema).min(1).max(50).default(['*']),
  namespaces: z.array(ScopePatternSchema).min(1).max(50).default(['*']),
  allowAutomatic: z.boolean().default(true),
});
export type FreezeWindow = z.infer<typeof FreezeWindowSchema>;

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
  /** TLS to the brokers (Confluent Cloud, MSK, Strimzi): on when set, with the system's CAs unless KAFKA_SSL_CA_FILE. */
  KAFKA_SSL: boolean.default(false),
  /** PEM files: the CA bundle the brokers' certificates chain to; a client certificate and key for mutual TLS. */
  KAFKA_SSL_CA_FILE: z.string().min(1).optional(),
  KAFKA_SSL_CERT_FILE: z.string().min(1).optional(),
  KAFKA_SSL_KEY_FILE: z.string().min(1).optional(),
  /** SASL: PLAIN or SCRAM (SCRAM-SHA-256, SCRAM-SHA-512), with a username and a password (or a file holding it). */
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).max(500).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).max(10_000).optional(),
  KAFKA_SASL_PASSWORD_FILE: z.string().min(1).optional(),
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
  /** Scoped grants (JSON array, see GrantEntrySchema): for token subjects, OIDC groups and Kafka sources. */
  AUTH_GRANTS: jsonList(GrantEntrySchema, 1_000),
  /**
   * CloudEvents sources whose Kafka commands are the service's own (executor outcomes, the watchdog,
   * remediation): trusted without grants. Until Kafka principals are authenticated, a source is what a
   * message claims, so the topic must be writable by the service's apps and trusted senders only.
   */
  KAFKA_SYSTEM_SOURCES: z
    .string()
    .default('urn:helm-rollback-service:*')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean)),
  /**
   * This app's key for signing the commands it sends to Kafka: a private JWK file whose `kid` is the app's
   * principal (see command-signing.ts). Unset: its commands go unsigned.
   */
  KAFKA_SIGNING_KEY_FILE: z.string().min(1).optional(),
  /**
   * The release service's list of who may send commands: a JWKS file of public keys, `kid` = principal.
   * Set: every command must be signed by one of them (else refused, UNAUTHORIZED), and its sender is that
   * principal, not the source or actor it claims.
   */
  KAFKA_SIGNERS_FILE: z.string().min(1).optional(),
  /** Signed principals whose commands are the service's own (outcomes, expiries, remediation): trusted without grants. */
  KAFKA_SYSTEM_PRINCIPALS: z
    .string()
    .default('release-service,executor,remediation')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean)),
  /** Signed principals that act on behalf of their callers (the API): the actor and grants they name are believed. */
  KAFKA_ON_BEHALF_PRINCIPALS: z
    .string()
    .default('api')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean)),
  /** Bearer JWTs are accepted when these are set: the issuer (`iss`) and audience (`aud`) they must name. */
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_AUDIENCE: z.string().min(1).max(500).optional(),
  /** Where the issuer's signing keys are: a JWKS URL (fetched and cached) or a JWKS file. */
  OIDC_JWKS_URL: z.string().url().optional(),
  OIDC_JWKS_FILE: z.string().min(1).optional(),
  /** The claim holding the caller's groups, matched against AUTH_GRANTS' `group`. */
  OIDC_GROUPS_CLAIM: z.string().min(1).max(100).default('groups'),
  /**
   * The clusters releases may live in (JSON array, see ClusterEntrySchema). Unset: one cluster,
   * DEFAULT_CLUSTER, reached through KUBECONFIG.
   */
  CLUSTERS: jsonList(ClusterEntrySchema, 500),
  /** The cluster of an install that names none. */
  DEFAULT_CLUSTER: ClusterNameSchema.default(LEGACY_CLUSTER),
  /**
   * The clusters this executor serves, comma-separated (default: DEFAULT_CLUSTER): a Kafka consumer of
   * each one's group, a Helm of each one's kubeconfig. Run one or more executors for every cluster.
   */
  EXECUTOR_CLUSTERS: z
    .string()
    .optional()
    .transform((s) => (s === undefined ? undefined : [...new Set(s.split(',').map((c) => c.trim()).filter(Boolean))]))
    .pipe(z.array(ClusterNameSchema).min(1, 'must name a cluster').max(100).optional()),
  /** Freeze windows (JSON array, see FreezeWindowSchema). */
  FREEZE_WINDOWS: jsonList(FreezeWindowSchema, 200),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  /** The helm binary the executor runs (scripts/infra/helm.sh builds one). */
  HELM_BIN: z.string().min(1).default('helm'),
  /**
   * Variables of the executor's environment that helm gets besides the documented defaults (in-cluster
   * address, proxies, CA bundles, cloud SDK settings; libs/helm/src/helm-env.ts): comma-separated names, a
   * trailing `*` for a prefix. PATH, HOME, KUBECONFIG and HELM_* are the executor's to set.
   */
  HELM_ENV_PASSTHROUGH: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
    .pipe(
      z
        .array(
          z
            .string()
            .regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'must be a variable name, or a prefix ending in *')
            // A prefix may cover them too: helmEnvironment never passes them, whatever the list says.
            .refine((n) => !/^(PATH|HOME|KUBECONFIG)$|^HELM_/.test(n), 'must not name PATH, HOME, KUBECONFIG or HELM_*'),
        )
        .max(100),
    ),
  /**
   * Base64 of 32 random bytes (`openssl rand -base64 32`). When set, Helm values are sealed with
   * AES-256-GCM in the event store, the read model and the messages on Kafka. Every app needs the same key.
   */
  VALUES_ENCRYPTION_KEY: z
    .string()
    .refine((s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === 32, 'must be base64 of exactly 32 bytes (openssl rand -base64 32)')
    .optional(),
  /** Kubeconfig of DEFAULT_CLUSTER when CLUSTERS is unset; unset means Helm's own default. */
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
  /** Live pages (Server-Sent Events) one API instance holds open at once; beyond it, 503 with Retry-After. */
  API_MAX_STREAMS: z.coerce.number().int().min(1).max(100_000).default(500),
  /** How long a rollback preview with `render=true` waits for an executor's rendered diff. */
  RENDER_TIMEOUT_MS: z.coerce.number().int().min(1000).max(300_000).default(30_000),
  /**
   * The console's built files (index.html, assets/), served at `/` by the API; unset: beside the built API
   * (dist/console). When the folder has no index.html the API serves no console and says so at start.
   */
  CONSOLE_DIR: z.string().max(4096).optional(),
  /**
   * The release service's memory of its partitions' releases, in MiB, counted by the approximate size of
   * what it holds (values included): loaded streams (saves reloading a release per command) and written
   * views (saves reading a view back before projecting). Past it the least recently used is forgotten.
   */
  STREAM_CACHE_MIB: z.coerce.number().int().min(1).max(65_536).default(64),
  VIEW_CACHE_MIB: z.coerce.number().int().min(1).max(65_536).default(16),
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

/** What one variable cannot say alone: the names it uses must exist, and go together. */
const consistent = (config: AppConfig, ctx: z.RefinementCtx): void => {
  const names = config.CLUSTERS.map((c) => c.name);
  if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['CLUSTERS'], message: 'cluster names must be unique' });
  const known = names.length ? names : [config.DEFAULT_CLUSTER];
  if (!known.includes(config.DEFAULT_CLUSTER)) ctx.addIssue({ code: 'custom', path: ['DEFAULT_CLUSTER'], message: `must be one of CLUSTERS (${known.join(', ')})` });
  for (const cluster of config.EXECUTOR_CLUSTERS ?? []) {
    if (!known.includes(cluster)) ctx.addIssue({ code: 'custom', path: ['EXECUTOR_CLUSTERS'], message: `'${cluster}' must be one of CLUSTERS (${known.join(', ')})` });
  }
  if (config.KAFKA_SASL_MECHANISM && (!config.KAFKA_SASL_USERNAME || !(config.KAFKA_SASL_PASSWORD ?? config.KAFKA_SASL_PASSWORD_FILE))) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_SASL_MECHANISM'], message: 'SASL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE' });
  }
  if (Boolean(config.KAFKA_SSL_CERT_FILE) !== Boolean(config.KAFKA_SSL_KEY_FILE)) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_SSL_CERT_FILE'], message: 'a client certificate needs its key, and a key its certificate (KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE)' });
  }
  if ((config.KAFKA_SSL_CA_FILE || config.KAFKA_SSL_CERT_FILE) && !config.KAFKA_SSL) {
    ctx.addIssue({ code: 'custom', path: ['KAFKA_SSL'], message: 'KAFKA_SSL_* files are used only with KAFKA_SSL=true' });
  }
  const oidc = [config.OIDC_ISSUER, config.OIDC_AUDIENCE, config.OIDC_JWKS_URL ?? config.OIDC_JWKS_FILE];
  if (oidc.some(Boolean) && !oidc.every(Boolean)) {
    ctx.addIssue({ code: 'custom', path: ['OIDC_ISSUER'], message: 'OIDC needs OIDC_ISSUER, OIDC_AUDIENCE and one of OIDC_JWKS_URL, OIDC_JWKS_FILE' });
  }
  for (const window of config.FREEZE_WINDOWS) {
    try {
      new Cron(window.cron, { timezone: window.timeZone, paused: true }).stop();
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['FREEZE_WINDOWS'], message: `window '${window.name}': ${(error as Error).message}` });
    }
  }
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): AppConfig => {
  const parsed = ConfigSchema.superRefine(consistent).safeParse(env);
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
