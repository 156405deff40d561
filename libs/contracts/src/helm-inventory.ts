/**
 * Inventory reports on `helm.release.inventory`: the executor, which alone reads Helm, lists the Helm
 * releases of its cluster (`helm list --all-namespaces --all`), so an install over one the service does not
 * manage is refused when it is decided (RELEASE_EXISTS_IN_CLUSTER, 409) rather than by the executor later.
 * CloudEvents in structured JSON mode, key = the cluster.
 */
import { z } from 'zod';
import { MessageLimits } from './commands';
import { envelopeSchema, parseEnvelope, systemEvent } from './envelopes';
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

export const inventoryEvent = (report: InventoryReport, context: { id: string; source: string }) => systemEvent(INVENTORY_TYPE, report.cluster, report, context);

const EnvelopeSchema = envelopeSchema(INVENTORY_TYPE, InventoryReportSchema);

/** Parses an inventory report, bounded and validated; never throws. */
export const parseInventoryReport = (
  value: Buffer | string | null,
  limits?: MessageLimits,
): { ok: true; id: string; report: InventoryReport } | { ok: false; code: 'INVALID_MESSAGE'; reason: string } => {
  const parsed = parseEnvelope(value, EnvelopeSchema, 'inventory report', limits);
  return parsed.ok ? { ok: true, id: parsed.envelope.id, report: parsed.envelope.data } : parsed;
};
