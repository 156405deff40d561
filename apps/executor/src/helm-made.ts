import { MAX_HELM_REVISIONS_PER_MESSAGE } from '@app/contracts';
import type { HelmMadeRevision } from '@app/domain';
import { HelmHistoryEntry, HelmPort, madeByService } from '@app/helm';

/** Bytes of values one report may carry: well inside a command message, whatever Helm holds. */
const MAX_VALUES_BYTES = 512 * 1024;

/**
 * The revisions of Helm's history made outside the service, above `knownHelmRevision` (the newest the
 * service's history holds): settled ones only, as a pending-* revision is still someone's operation.
 */
export const madeOutside = (history: HelmHistoryEntry[], knownHelmRevision = 0): HelmHistoryEntry[] =>
  history.filter((h) => h.revision > knownHelmRevision && !h.status.startsWith('pending-') && !madeByService(h));

/**
 * What Helm holds of `entries` (chart, values, status, description), oldest first: the newest of them
 * that fit one report (at most MAX_HELM_REVISIONS_PER_MESSAGE, and MAX_VALUES_BYTES of values), so a
 * long history is cut at its old end, never refused. Each revision costs two helm calls.
 */
export const readHelmMade = async (helm: HelmPort, name: string, namespace: string, entries: HelmHistoryEntry[]): Promise<HelmMadeRevision[]> => {
  const newestFirst = [...entries].sort((a, b) => b.revision - a.revision).slice(0, MAX_HELM_REVISIONS_PER_MESSAGE);
  const read: HelmMadeRevision[] = [];
  let bytes = 0;
  for (const entry of newestFirst) {
    const [values, meta] = await Promise.all([helm.values(name, namespace, entry.revision), helm.metadata(name, namespace, entry.revision)]);
    bytes += Buffer.byteLength(JSON.stringify(values));
    if (bytes > MAX_VALUES_BYTES && read.length > 0) break;
    read.push({
      helmRevision: entry.revision,
      chartName: meta.chart,
      chartVersion: meta.version,
      values,
      helmStatus: entry.status,
      description: (entry.description ?? '').slice(0, 4096),
      updatedAt: entry.updated ?? '',
    });
  }
  return read.reverse();
};
