import { gunzipSync, gzipSync } from 'node:zlib';
import { openText, sealText, ValuesCipher } from '@app/contracts';
import type { Model } from 'mongoose';
import { insertManyIgnoringDuplicates, isDuplicateKey } from './mongo-errors';
import { ArchiveChunkDoc, archiveKey, SnapshotDoc, snapshotKey } from './store-records';

/**
 * Snapshot text as stored: gzip (fastest level) in base64 behind a marker. A snapshot of a long history is
 * large, and reading it through a MongoDB-wire server costs by the byte. Text without the marker is an
 * older, uncompressed snapshot, read as it is.
 */
const PACKED = 'gzip:';
const packSnapshot = (json: string): string => PACKED + gzipSync(json, { level: 1 }).toString('base64');
const unpackSnapshot = (text: string): string =>
  text.startsWith(PACKED) ? gunzipSync(Buffer.from(text.slice(PACKED.length), 'base64')).toString('utf8') : text;

/** Snapshots (the latest per stream) and the archived history chunks a compacted snapshot leaves out. */
export class SnapshotStore {
  constructor(
    private readonly snapshots: Model<SnapshotDoc>,
    private readonly archive: Model<ArchiveChunkDoc>,
    private readonly cipher?: ValuesCipher,
  ) {}

  async latest(streamId: string, schemaVersion: number): Promise<{ version: number; state: unknown } | null> {
    const doc = await this.snapshots.findById(snapshotKey(streamId, schemaVersion)).lean<SnapshotDoc>();
    return doc ? { version: doc.version, state: JSON.parse(unpackSnapshot(openText(this.cipher, doc.state))) } : null;
  }

  /** Keeps the newest snapshot of a stream: an older one never replaces a newer one. */
  async save(streamId: string, version: number, schemaVersion: number, state: unknown): Promise<void> {
    // A snapshot holds every revision's values: compressed, then sealed whole.
    const doc = { streamId, version, schemaVersion, state: sealText(this.cipher, packSnapshot(JSON.stringify(state))), takenAt: new Date() };
    try {
      await this.snapshots.collection.replaceOne({ _id: snapshotKey(streamId, schemaVersion), version: { $lt: version } } as never, doc, {
        upsert: true,
      });
    } catch (error) {
      // The stored snapshot is as new or newer (the upsert then collides on _id): keep it.
      if (!isDuplicateKey(error)) throw error;
    }
  }

  /** Stores chunks of a stream's archived history. Chunks never change: one already stored is kept. */
  async saveArchiveChunks(streamId: string, schemaVersion: number, chunks: Array<{ index: number; items: unknown[] }>): Promise<void> {
    await insertManyIgnoringDuplicates(
      this.archive,
      chunks.map(({ index, items }) => ({
        _id: archiveKey(streamId, schemaVersion, index),
        streamId,
        schemaVersion,
        index,
        items: sealText(this.cipher, packSnapshot(JSON.stringify(items))),
        takenAt: new Date(),
      })),
    );
  }

  /** A stream's archived history chunks 0..count-1, in order, by `_id`; null when one is missing. */
  async readArchive(streamId: string, schemaVersion: number, count: number): Promise<unknown[][] | null> {
    const out: unknown[][] = [];
    // 32 lookups in flight at a time, as the commit log's readTail does: enough to hide the round trips.
    for (let from = 0; from < count; from += 32) {
      const indexes = Array.from({ length: Math.min(32, count - from) }, (_, i) => from + i);
      const docs = await Promise.all(indexes.map((i) => this.archive.findById(archiveKey(streamId, schemaVersion, i)).lean<ArchiveChunkDoc>()));
      for (const doc of docs) {
        if (!doc) return null;
        out.push(JSON.parse(unpackSnapshot(openText(this.cipher, doc.items))) as unknown[]);
      }
    }
    return out;
  }
}
