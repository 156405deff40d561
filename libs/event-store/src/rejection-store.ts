import type { Model } from 'mongoose';
import { isDuplicateKey } from './mongo-errors';
import { RecordedRejection, RejectionDoc, rejectionKey } from './store-records';

/** Refusals recorded for good, so a redelivered command gets its first answer again. */
export class RejectionStore {
  constructor(private readonly rejections: Model<RejectionDoc>) {}

  async record(commandId: string, streamId: string, commandType: string, error: unknown, fingerprint?: string): Promise<RecordedRejection> {
    try {
      await this.rejections.collection.insertOne({
        _id: rejectionKey(streamId, commandId),
        streamId,
        commandType,
        error: JSON.stringify(error),
        ...(fingerprint ? { fingerprint } : {}),
        recordedAt: new Date(),
      } as never);
      return { error, ...(fingerprint ? { fingerprint } : {}) };
    } catch (e) {
      // A concurrent duplicate already recorded the first answer: return that one.
      if (isDuplicateKey(e)) return (await this.find(streamId, commandId)) ?? { error };
      throw e;
    }
  }

  async find(streamId: string, commandId: string): Promise<RecordedRejection | null> {
    const doc = await this.rejections.findById(rejectionKey(streamId, commandId)).lean<RejectionDoc>();
    return doc ? { error: JSON.parse(doc.error), ...(doc.fingerprint ? { fingerprint: doc.fingerprint } : {}) } : null;
  }

  /**
   * The recorded rejections of several commands: point lookups, all at once. Not one `$in` query: FerretDB
   * pushes only `_id` equality down, so `$in` reads the whole collection, and rejections pile up for good.
   */
  async findMany(commands: Array<{ streamId: string; commandId: string }>): Promise<Map<string, RecordedRejection>> {
    const found = await Promise.all(commands.map(async (c) => [rejectionKey(c.streamId, c.commandId), await this.find(c.streamId, c.commandId)] as const));
    return new Map(found.filter((entry): entry is [string, RecordedRejection] => entry[1] !== null));
  }
}
