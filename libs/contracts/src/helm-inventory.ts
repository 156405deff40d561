/**
 * Inventory reports on `helm.release.inventory`: the executor, which alone reads Helm, lists the Helm
 * releases of its cluster (`helm list --all-namespaces --all`), so an install over one the service does not
 * manage is refused when it is decided (RELEASE_EXISTS_IN_CLUSTER, 409) rather than by the executor later.
 * CloudEvents in structured JSON mode, key = the cluster.
 */
import { CloudEvent } from 'cloudevents';
import { z } from 'zod';
import { DEFAULT_MESSAGE_LIMITS, MessageLimits, parseBoundedJson } from './commands';
import { describeIssues } from './issues';
import { NamespaceSchema, ReleaseIdSchema } from './schemas';

export const INVENTORY_TYPE = 'helm.release.inventory';
/**
 * Releases one report carries at most: it stays well inside a Kafka message. A cluster with more is
 * reported truncated, and nothing is then forgotten on its account (see HelmInventory.record).
 */
export const MAX_INVENTORY_RELEASES = 2_000;
/** The cluster an executor reports for until the service knows of several. */
export const DEFAULT_CLUSTER = 'default';

export const HelmListedSchema = z.strictObject({
  namespace: NamespaceSchema,
  name: ReleaseIdSchema,
  revision: z.number().int().min(1),
  status: z.string().max(40),
  chart: z.string().max(300),
  updated: z.string().max(60).optional(),
});
export type HelmListed = z.infer<typeof HelmListedSchema>;

export const InventoryReportSchema = z.strictObject({
  cluster: ReleaseIdSchema,
  takenAt: z.string().datetime({ offset: true }),
  /** False when Helm held more than the report carries: releases missing from it are not gone. */
  complete: z.boolean(),
  releases: z.array(HelmListedSchema).max(MAX_INVENTORY_RELEASES),
});
export type InventoryReport = z.infer<typeof InventoryReportSchema>;

export const inventoryEvent = (report: InventoryReport, context: { id: string; source: string }) =>
  new CloudEvent({
    specversion: '1.0',
    id: context.id,
    source: context.source,
    type: INVENTORY_TYPE,
    subject: report.cluster,
    datacontenttype: 'application/json',
    data: report,
  });

const EnvelopeSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(200),
  type: z.literal(INVENTORY_TYPE),
  data: InventoryReportSchema,
});

/** Parses an inventory report, bounded and validated; never throws. */
export const parseInventoryReport = (
  value: Buffer | string | null,
  limits: MessageLimits = DEFAULT_MESSAGE_LIMITS,
): { ok: true; id: string; report: InventoryReport } | { ok: false; code: 'INVALID_MESSAGE'; reason: string } => {
  try {
    const parsed = parseBoundedJson(value ?? '', limits);
    if (!parsed.ok) return { ok: false, code: 'INVALID_MESSAGE', reason: parsed.reason };
    const envelope = EnvelopeSchema.safeParse(parsed.json);
    if (!envelope.success) return { ok: false, code: 'INVALID_MESSAGE', reason: describeIssues(envelope.error) };
    return { ok: true, id: envelope.data.id, report: envelope.data.data };
  } catch (error) {
    return { ok: false, code: 'INVALID_MESSAGE', reason: `unreadable inventory report: ${(error as Error)?.message ?? String(error)}` };
  }
};
