import { Connection, Model, Schema } from 'mongoose';
import { ArchiveChunkDoc, CommitDoc, DispatchedDoc, OutboxDoc, RejectionDoc, SnapshotDoc } from './store-records';

export interface StoreModels {
  commits: Model<CommitDoc>;
  rejections: Model<RejectionDoc>;
  snapshots: Model<SnapshotDoc>;
  /** Chunks of history a compacted snapshot leaves out (see AggregateOptions.history). */
  archive: Model<ArchiveChunkDoc>;
  /** Commits that may not be on Kafka yet (see OutboxDoc). */
  outbox: Model<OutboxDoc>;
  dispatched: Model<DispatchedDoc>;
}

/** The event store's collections, each name behind `prefix`, with the indexes its guarantees rest on. */
export const storeModels = (connection: Connection, prefix = ''): StoreModels => {
  const commitSchema = new Schema<CommitDoc>(
    {
      _id: String,
      pos: Schema.Types.ObjectId,
      streamId: { type: String, required: true },
      version: { type: Number, required: true },
      commandId: { type: String, required: true },
      commandType: { type: String, required: true },
      events: [{ _id: false, eventId: String, type: { type: String }, schemaVersion: Number, data: String }],
      result: String,
      metadata: { _id: false, actor: String, correlationId: String, causationId: String, now: String, fingerprint: String },
      recordedAt: Date,
      dispatched: Boolean,
      prevHash: String,
      hash: String,
    },
    { versionKey: false, collection: `${prefix}commits` },
  );
  commitSchema.index({ streamId: 1, version: 1 }, { unique: true, name: 'stream_version' });
  commitSchema.index({ streamId: 1, commandId: 1 }, { unique: true, name: 'stream_command' });
  commitSchema.index({ pos: 1 }, { name: 'log_order' });

  const rejectionSchema = new Schema<RejectionDoc>(
    { _id: String, streamId: String, commandType: String, error: String, fingerprint: String, recordedAt: Date },
    { versionKey: false, collection: `${prefix}rejections` },
  );
  const snapshotSchema = new Schema<SnapshotDoc>(
    { _id: String, streamId: String, version: Number, schemaVersion: Number, state: String, takenAt: Date },
    { versionKey: false, collection: `${prefix}snapshots` },
  );

  const commits = connection.model<CommitDoc>(`${prefix}Commit`, commitSchema);
  const rejections = connection.model<RejectionDoc>(`${prefix}Rejection`, rejectionSchema);
  const snapshots = connection.model<SnapshotDoc>(`${prefix}Snapshot`, snapshotSchema);
  const archive = connection.model<ArchiveChunkDoc>(
    `${prefix}ArchiveChunk`,
    new Schema<ArchiveChunkDoc>(
      { _id: String, streamId: String, schemaVersion: Number, index: Number, items: String, takenAt: Date },
      { versionKey: false, collection: `${prefix}archive` },
    ),
  );
  const outbox = connection.model<OutboxDoc>(
    `${prefix}OutboxEntry`,
    new Schema<OutboxDoc>({ _id: String, streamId: String, at: Date }, { versionKey: false, collection: `${prefix}outbox` }),
  );
  const dispatched = connection.model<DispatchedDoc>(
    `${prefix}Dispatched`,
    new Schema<DispatchedDoc>({ _id: String, streamId: String, at: Date }, { versionKey: false, collection: `${prefix}dispatched` }),
  );
  return { commits, rejections, snapshots, archive, outbox, dispatched };
};
