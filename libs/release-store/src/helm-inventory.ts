import type { HelmListed, InventoryReport } from '@app/contracts';
import { Connection, Model, Schema } from 'mongoose';

/** One Helm release of a cluster, as its executor last listed it. */
export interface InventoryEntry extends HelmListed {
  /** `<cluster>/<namespace>/<name>`. */
  _id: string;
  cluster: string;
  /** The report it was last seen in. */
  seenAt: Date;
}

interface ReportMark {
  _id: string;
  takenAt: Date;
}

const entryId = (cluster: string, namespace: string, name: string) => `${cluster}/${namespace}/${name}`;
const markId = (cluster: string) => `$report:${cluster}`;
/** Entries written at once: bounds a report's round trips without one huge request. */
const WRITE_CHUNK = 100;

/**
 * The Helm releases of each cluster, from the executors' inventory reports (the release service alone
 * writes it). It answers one question at decision time: does Helm already hold this namespace and name?
 * A report older than the newest recorded is ignored; a complete report forgets the releases it no longer
 * lists, a truncated one forgets nothing.
 */
export class HelmInventory {
  readonly entries: Model<InventoryEntry>;
  private readonly marks: Model<ReportMark>;

  constructor(connection: Connection, prefix = '') {
    const entrySchema = new Schema<InventoryEntry>(
      { _id: String, cluster: String, namespace: String, name: String, revision: Number, status: String, chart: String, updated: String, seenAt: Date },
      { versionKey: false, collection: `${prefix}helm_inventory` },
    );
    entrySchema.index({ cluster: 1, seenAt: 1 });
    this.entries = connection.models[`${prefix}InventoryEntry`] ?? connection.model<InventoryEntry>(`${prefix}InventoryEntry`, entrySchema);
    this.marks =
      connection.models[`${prefix}InventoryMark`] ??
      connection.model<ReportMark>(`${prefix}InventoryMark`, new Schema<ReportMark>({ _id: String, takenAt: Date }, { versionKey: false, collection: `${prefix}helm_inventory_reports` }));
  }

  async ensureIndexes(): Promise<void> {
    await this.entries.createIndexes();
  }

  /** Records a report; false when a newer one was recorded already. */
  /** When an executor of `cluster` last reported its listing; null when none ever did. */
  async lastReport(cluster: string): Promise<Date | null> {
    const mark = await this.marks.findById(markId(cluster)).lean<ReportMark>().exec();
    return mark ? new Date(mark.takenAt) : null;
  }

  async record(report: InventoryReport): Promise<boolean> {
    const takenAt = new Date(report.takenAt);
    const mark = await this.marks.findById(markId(report.cluster)).lean<ReportMark>().exec();
    if (mark && new Date(mark.takenAt).getTime() >= takenAt.getTime()) return false;
    for (let i = 0; i < report.releases.length; i += WRITE_CHUNK) {
      await Promise.all(
        report.releases.slice(i, i + WRITE_CHUNK).map((r) => {
          const _id = entryId(report.cluster, r.namespace, r.name);
          return this.entries.collection.replaceOne({ _id } as never, { ...r, cluster: report.cluster, seenAt: takenAt }, { upsert: true });
        }),
      );
    }
    if (report.complete) await this.entries.deleteMany({ cluster: report.cluster, seenAt: { $lt: takenAt } }).exec();
    await this.marks.collection.replaceOne({ _id: markId(report.cluster) } as never, { takenAt }, { upsert: true });
    return true;
  }

  /** The Helm release at `namespace/name` of `cluster`, if the last reports listed one. */
  find(cluster: string, namespace: string, name: string): Promise<InventoryEntry | null> {
    return this.entries.findById(entryId(cluster, namespace, name)).lean<InventoryEntry>().exec();
  }

  /** A page of a cluster's Helm releases (of one namespace, if given) in namespace/name order, after the `_id` cursor `after`. */
  list(cluster: string, { limit, after, namespace }: { limit: number; after?: string; namespace?: string }): Promise<InventoryEntry[]> {
    return this.entries
      .find({ cluster, ...(namespace ? { namespace } : {}), ...(after ? { _id: { $gt: after } } : {}) })
      .sort({ _id: 1 })
      .limit(limit)
      .lean<InventoryEntry[]>()
      .exec();
  }
}
