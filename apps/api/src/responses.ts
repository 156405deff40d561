/**
 * The bodies the API answers with, as schemas: what the OpenAPI document says of every 2xx answer, so a
 * generated client gets types, and the conformance test (test/api-conformance.e2e-spec.ts) holds the
 * answers to them. Nested records the domain owns (options, tests, remediation, event data) are objects
 * whose fields a client reads as it needs.
 */
import { z } from 'zod';

const RELEASE_STATUSES = ['PENDING_INSTALL', 'PENDING_UPGRADE', 'PENDING_ROLLBACK', 'PENDING_UNINSTALL', 'DEPLOYED', 'FAILED', 'UNINSTALLED'] as const;
const REVISION_STATUSES = ['PENDING_INSTALL', 'PENDING_UPGRADE', 'PENDING_ROLLBACK', 'DEPLOYED', 'FAILED'] as const;
const Revision = z.number().int().min(1);
const When = z.string().describe('ISO 8601 date-time');
const Record = z.looseObject({});
const Chart = z.looseObject({ name: z.string(), repository: z.string() });

/** 202: the decision on a write. */
export const DecisionResponse = z.looseObject({
  commandId: z.string(),
  releaseId: z.string(),
  revision: Revision.optional(),
  status: z.enum(RELEASE_STATUSES),
  operationId: z.string().optional(),
  targetRevision: Revision.optional(),
  chartVersion: z.string().optional(),
  warnings: z.array(z.string()),
});

export const ReleaseResponse = z.looseObject({
  releaseId: z.string(),
  cluster: z.string(),
  name: z.string(),
  namespace: z.string(),
  chart: Chart,
  status: z.enum(RELEASE_STATUSES),
  autoRollback: z.boolean(),
  currentRevision: z.number().int().min(0),
  lastSuccessfulRevision: z.number().int().min(0).nullable(),
  pendingOperationId: z.string().nullable(),
  lastError: z.string().nullable(),
  drift: z.looseObject({ policy: z.enum(['record', 'correct']), inSync: z.boolean() }),
  test: Record,
  remediation: Record.nullable(),
  scheduledRetry: Record.nullable(),
  createdAt: When,
  updatedAt: When,
});

export const ReleasePageResponse = z.object({ items: z.array(ReleaseResponse), next: z.string().nullable().describe('`after` of the next page; null: the last page') });

const RevisionEntry = z.looseObject({
  revision: Revision,
  operation: z.enum(['INSTALL', 'UPGRADE', 'ROLLBACK', 'IMPORTED', 'EXTERNAL']),
  chartVersion: z.string(),
  status: z.enum(REVISION_STATUSES),
  rollbackOf: Revision.nullable(),
  trigger: z.enum(['MANUAL', 'AUTOMATIC', 'EXTERNAL']),
  requestedBy: z.string(),
  unauthenticated: z.boolean(),
  reason: z.string().nullable(),
  requestedAt: When,
  completedAt: When.nullable(),
  error: z.string().nullable(),
  helmRevision: z.number().int().nullable(),
  warnings: z.array(z.string()),
  options: Record,
});

export const HistoryResponse = z.object({ releaseId: z.string(), revisions: z.array(RevisionEntry), nextAfterRevision: z.number().int().nullable() });

export const RevisionResponse = RevisionEntry.extend({
  releaseId: z.string(),
  chartDigest: z.string().nullable(),
  operationId: z.string().nullable(),
  values: Record.describe('the exact values; for a reader without the values right, keys and types only'),
  valuesRedacted: z.boolean(),
});

const Commit = z.looseObject({
  releaseId: z.string(),
  version: z.number().int().min(1),
  commandId: z.string(),
  commandType: z.string(),
  recordedAt: When,
  hash: z.string(),
  prevHash: z.string(),
  events: z.array(z.looseObject({ id: z.string(), type: z.string(), schemaVersion: z.number().int(), data: Record })),
});

export const EventsResponse = z.object({ releaseId: z.string(), commits: z.array(Commit), nextAfterVersion: z.number().int().nullable() });
export const LogResponse = z.object({ commits: z.array(Commit), next: z.string().nullable() });

export const DryRunResponse = z.looseObject({
  dryRun: z.literal(true),
  valuesDiff: z.array(z.looseObject({ type: z.enum(['CREATE', 'REMOVE', 'CHANGE']), path: z.string() })),
  rendered: z
    .union([
      z.object({ ok: z.literal(true), diff: z.string().describe('unified diff, current against target'), resources: z.object({ changed: z.number().int(), added: z.number().int(), removed: z.number().int() }), truncated: z.boolean() }),
      z.object({ ok: z.literal(false), reason: z.string() }),
    ])
    .optional()
    .describe('with render=true: the diff of the rendered manifests, or why there is none'),
});

export const HelmReleasesResponse = z.object({
  cluster: z.string(),
  items: z.array(
    z.object({
      namespace: z.string(),
      name: z.string(),
      helmRevision: z.number().int(),
      status: z.string(),
      chart: z.string(),
      updated: z.string().nullable(),
      seenAt: When,
      managedBy: z.string().nullable(),
    }),
  ),
  next: z.string().nullable(),
});

export const ClustersResponse = z.object({ items: z.array(z.object({ name: z.string(), namespaces: z.array(z.string()).nullable(), default: z.boolean() })) });

export const SessionResponse = z.object({
  subject: z.string(),
  grants: z.array(z.object({ role: z.enum(['viewer', 'rollbacker', 'deployer', 'admin']), clusters: z.array(z.string()), namespaces: z.array(z.string()) })),
});

export const VerificationResponse = z.object({
  releaseId: z.string(),
  commits: z.number().int().min(0),
  intact: z.boolean().describe('every commit hashes to its recorded hash and points at the one before it'),
  problems: z.array(z.object({ version: z.number().int(), problem: z.enum(['EDITED', 'MISSING', 'OUT_OF_ORDER', 'BROKEN_LINK']), detail: z.string() })),
});
