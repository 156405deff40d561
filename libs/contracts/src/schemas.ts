/**
 * Versioned schemas of the command payloads, used at every edge (HTTP bodies, Kafka messages).
 * The domain re-checks its own rules; these reject what is malformed before it reaches a decision.
 */
import { MAX_TIMEOUT_SECONDS, ROLE_NAMES, type RoleName, type Values } from '@app/domain';
import { z } from 'zod';
import { checkValues, MAX_VALUE_LIMITS } from './bounds';

/** Kubernetes DNS label (RFC 1123); Helm caps release names at 53 characters. */
const dnsLabel = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lowercase letters, digits and "-", starting and ending alphanumeric');

export const ReleaseIdSchema = dnsLabel(53);
export const NamespaceSchema = dnsLabel(63);
/** A cluster's name in the service's configuration. */
export const ClusterNameSchema = dnsLabel(63);

/**
 * Helm values: a JSON object, checked without recursion (a recursive schema overflows the stack on deeply
 * nested input). Edges check the configured, usually smaller, limits first (checkValues); this holds the
 * ceiling that configuration may not raise them past.
 */
export const ValuesSchema: z.ZodType<Values> = z.custom<Values>().superRefine((value, ctx) => {
  const checked = checkValues(value, MAX_VALUE_LIMITS);
  if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.reason });
});

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const HOST = `(${OCTET}(\\.${OCTET}){3}|([A-Za-z0-9-]+\\.)*[A-Za-z][A-Za-z0-9-]*)`;
const PORT = '(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9][0-9]|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?';
const REPOSITORY_URL = new RegExp(`^(https?|oci)://${HOST}${PORT}(/[\\x21\\x22\\x24-\\x3e\\x40-\\x7e]*)?$`);

export const ChartRefSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(250)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a chart name'),
  // The pattern says all the service checks, so a client's schema validator agrees with it: a host name
  // (its last label a name, never a number) or an IPv4 address, a port, a path of printable ASCII. Every
  // string it allows is a URL without credentials; the refinements below are a second guard.
  repository: z
    .string()
    .max(2048)
    .regex(REPOSITORY_URL, 'must be an http(s):// repository URL or an oci:// reference: a host name or IPv4 address, an optional port, a path')
    .refine((url) => URL.canParse(url), 'must be a valid URL')
    .refine((url) => !URL.canParse(url) || (!new URL(url).username && !new URL(url).password), 'must not carry credentials: configure them for the repository instead'),
});

/** Helm chart versions are SemVer 2. */
export const ChartVersionSchema = z
  .string()
  .max(128)
  .regex(/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/, 'must be a SemVer version such as 1.2.3');

/** A cluster or namespace pattern of a grant: a DNS label where `*` stands for any run of characters. */
export const ScopePatternSchema = z.string().min(1).max(63).regex(/^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$/, 'must be a DNS label, with * for any run of characters');
export const MAX_GRANTS = 100;
/** A role on cluster and namespace patterns (see Grant in the domain). */
export const GrantSchema = z.strictObject({
  role: z.enum(ROLE_NAMES as [RoleName, ...RoleName[]]),
  clusters: z.array(ScopePatternSchema).min(1).max(50),
  namespaces: z.array(ScopePatternSchema).min(1).max(50),
});
export const GrantsSchema = z.array(GrantSchema).max(MAX_GRANTS);

const reason = z.string().max(1024).optional();
/** Change a release during a freeze window anyway (admins only), with the reason recorded. */
const breakGlass = z.strictObject({ reason: z.string().min(3).max(1024).regex(/[^ \t\r\n]/, 'must say why') }).optional();
const timeoutSeconds = z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).optional();

/** Helm's flags for an install, upgrade or rollback (see OperationOptions in the domain). */
export const OperationOptionsSchema = z
  .strictObject({
    wait: z.boolean().optional(),
    waitForJobs: z.boolean().optional(),
    noHooks: z.boolean().optional(),
    cleanupOnFail: z.boolean().optional(),
    force: z.boolean().optional(),
  })
  .refine((o) => !(o.waitForJobs && o.wait === false), { message: 'waitForJobs needs wait: Helm waits for Jobs only while it waits', path: ['waitForJobs'] });

/** A release's verification policy: `helm test` after every successful operation. */
export const TestPolicySchema = z.strictObject({
  enable: z.boolean(),
  timeoutSeconds,
  ignoreFailures: z.boolean().optional(),
});
/** What automation does after a failed install or upgrade (see RemediationPolicy in the domain). */
export const RemediationPolicySchema = z.strictObject({
  retries: z.number().int().min(0).max(10),
  strategy: z.enum(['rollback', 'uninstall']),
  remediateLastFailure: z.boolean().optional(),
  backoff: z
    .strictObject({
      initialSeconds: z.number().int().min(1).max(3600),
      factor: z.number().min(1).max(10),
      maxSeconds: z.number().int().min(1).max(86_400),
    })
    // maxSeconds caps every delay, the first too (retryDelaySeconds).
    .optional(),
});
const options = OperationOptionsSchema.optional();
const test = TestPolicySchema.optional();
const remediation = RemediationPolicySchema.optional();
/** What an install and an upgrade both set: how Helm runs it and what follows it. */
const changeFields = { test, remediation, options, timeoutSeconds, reason, breakGlass };

export const InstallDataSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  cluster: ClusterNameSchema.optional(),
  name: ReleaseIdSchema.optional(),
  namespace: NamespaceSchema,
  chart: ChartRefSchema,
  chartVersion: ChartVersionSchema,
  values: ValuesSchema.optional(),
  atomic: z.boolean().optional(),
  autoRollback: z.boolean().optional(),
  adopt: z.boolean().optional(),
  drift: z.enum(['record', 'correct']).optional(),
  ...changeFields,
});

export const UpgradeDataSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  chartVersion: ChartVersionSchema.optional(),
  values: ValuesSchema.optional(),
  atomic: z.boolean().optional(),
  force: z.boolean().optional(),
  ...changeFields,
});

export const TargetRevisionSchema = z
  .number({ error: 'targetRevision must be an integer >= 1' })
  .int('targetRevision must be an integer >= 1')
  .min(1, 'targetRevision must be an integer >= 1');

export const RollbackDataSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  targetRevision: TargetRevisionSchema,
  options,
  timeoutSeconds,
  reason,
  breakGlass,
});

/**
 * Who asks, and for what failure: `trigger: AUTOMATIC` with `causedByRevision` is remediation's (a rollback
 * or, under strategy uninstall, an uninstall); the API takes neither, as people act manually.
 */
const cause = {
  releaseId: ReleaseIdSchema,
  trigger: z.enum(['MANUAL', 'AUTOMATIC']).optional(),
  causedByRevision: z.number().int().min(1).optional(),
  timeoutSeconds,
  reason,
  breakGlass,
};

export const RollbackLastSuccessfulDataSchema = z.strictObject({ ...cause, options });

export const UninstallDataSchema = z.strictObject(cause);

/** `trigger: AUTOMATIC` (with `revision`) is the watchdog's scheduled retry; a person retries the latest failure. */
export const RetryOperationDataSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  revision: z.number().int().min(1).optional(),
  trigger: z.enum(['MANUAL', 'AUTOMATIC']).optional(),
  timeoutSeconds,
  reason,
  breakGlass,
});

/** The most Helm revisions one message imports or records (Helm itself keeps 10 by default). */
export const MAX_HELM_REVISIONS_PER_MESSAGE = 100;

/** A Helm revision made outside the service, as the executor read it from Helm's storage. */
export const HelmMadeRevisionSchema = z.strictObject({
  helmRevision: z.number().int().min(1),
  chartName: z.string().min(1).max(250),
  chartVersion: z.string().min(1).max(128),
  values: ValuesSchema,
  helmStatus: z.string().max(50),
  description: z.string().max(4096),
  updatedAt: z.string().max(100),
});
const helmRevisions = z.array(HelmMadeRevisionSchema).max(MAX_HELM_REVISIONS_PER_MESSAGE);

export const OperationResultDataSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  operationId: z.string().min(1).max(200),
  outcome: z.enum(['SUCCEEDED', 'FAILED']),
  error: z.string().max(64 * 1024).optional(),
  helmRevision: z.number().int().min(1).optional(),
  chartDigest: z.string().max(200).optional(),
  purged: z.boolean().optional(),
  notRun: z.boolean().optional(),
  lockReleased: z
    .strictObject({
      helmRevision: z.number().int().min(1),
      status: z.string().max(50),
      chart: z.string().max(300),
      since: z.string().max(100).optional(),
      ageSeconds: z.number().int().min(0),
    })
    .optional(),
  imported: helmRevisions.optional(),
  external: helmRevisions.optional(),
  tests: z.strictObject({ result: z.enum(['PASSED', 'FAILED']), ignored: z.literal(true).optional() }).optional(),
});

export const RecordDriftCheckDataSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  revisions: helmRevisions,
  checkedAt: z.iso.datetime({ offset: true }),
});

export const ExpireOperationDataSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  operationId: z.string().min(1).max(200),
  reason: z.string().max(500).optional(),
});

export const ReportUpgradeFailureDataSchema = z.strictObject({
  releaseId: ReleaseIdSchema,
  revision: z.number().int().min(1),
  reason: z.string().min(1).max(2048),
});

/** An upgrade-failed signal from another service on the external topic (CloudEvents data). */
export const UpgradeFailedSignalSchema = ReportUpgradeFailureDataSchema;
