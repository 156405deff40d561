import { createHash } from 'node:crypto';
import type { ValuesCipher } from '@app/contracts';
import type { Types } from 'mongoose';
import type { DomainEvent, EventSchemas } from './upcasting';

/** The documents of the event store's collections, the records read back, and their keys. */

export interface CommitMetadata {
  actor: string;
  correlationId: string;
  causationId?: string;
  /** When the decision was made (the command metadata's `now`). */
  now: string;
  /** Digest of the command's type and data: a command id sent again with other content is told apart. */
  fingerprint?: string;
}

export interface StoredEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  /** JSON text of the event data. */
  data: string;
}

export interface CommitDoc {
  /** `streamId@version` (see commitKey): the point-lookup key. */
  _id: string;
  /** Insertion order across streams (an ObjectId), the order of the whole log. */
  pos: Types.ObjectId;
  streamId: string;
  version: number;
  commandId: string;
  commandType: string;
  events: StoredEvent[];
  /** JSON text of what the caller was answered, returned again to a redelivered command. */
  result: string;
  metadata: CommitMetadata;
  recordedAt: Date;
  dispatched: boolean;
  prevHash: string;
  hash: string;
}

/** A commit as read back: events parsed, opened and upcast, the result parsed; `id` is its log position. */
export interface Commit extends Omit<CommitDoc, '_id' | 'pos' | 'events' | 'result'> {
  id: string;
  events: Array<DomainEvent & { eventId: string; schemaVersion: number }>;
  result: unknown;
}

export interface RejectionDoc {
  /** `<streamId>/<commandId>`: a command id names a command within its stream only. */
  _id: string;
  streamId: string;
  fingerprint?: string;
  commandType: string;
  error: string;
  recordedAt: Date;
}

/**
 * A commit that may not be on Kafka yet. Written before its commit and removed after its dispatched
 * marker, so the outbox collection holds what may need publishing and little else: the relay reads it,
 * not the whole log.
 */
export interface OutboxDoc {
  /** The commit's `_id` (commitKey), or OUTBOX_MIGRATED. */
  _id: string;
  streamId: string;
  at: Date;
}

/**
 * "This commit's events are on Kafka": a document of its own, inserted once, rather than a flag updated on
 * the commit. FerretDB 1.24 runs every update by scanning the whole collection, and commits is the largest
 * collection there is.
 */
export interface DispatchedDoc {
  /** The commit's `_id` (commitKey). */
  _id: string;
  streamId: string;
  at: Date;
}

export interface SnapshotDoc {
  /** One snapshot per stream and schema version, the latest (see snapshotKey). */
  _id: string;
  streamId: string;
  version: number;
  schemaVersion: number;
  state: string;
  takenAt: Date;
}

export interface ArchiveChunkDoc {
  /** streamId#schemaVersion#index (see archiveKey). */
  _id: string;
  streamId: string;
  schemaVersion: number;
  index: number;
  /** JSON of the chunk's items, packed and sealed like a snapshot. */
  items: string;
  takenAt: Date;
}

export interface AppendInput {
  streamId: string;
  /** The version of the stream the decision was made on; the commit gets expectedVersion + 1. */
  expectedVersion: number;
  commandId: string;
  commandType: string;
  events: DomainEvent[];
  result: unknown;
  metadata: CommitMetadata;
  /** Hash of the commit at expectedVersion ('' for a new stream): the audit hash chain. */
  prevHash: string;
}

/** A commit built but not yet stored (MongoEventStore.prepare, appendMany). */
export interface PreparedCommit {
  readonly doc: CommitDoc;
  readonly input: AppendInput;
}

export const GENESIS_HASH = '';

/** The `_id` of a stream's commit at a version; zero-padded so `_id` order is version order in a stream. */
export const commitKey = (streamId: string, version: number): string => `${streamId}@${String(version).padStart(10, '0')}`;
export const snapshotKey = (streamId: string, schemaVersion: number): string => `${streamId}#${schemaVersion}`;
export const archiveKey = (streamId: string, schemaVersion: number, index: number): string =>
  `${streamId}#${schemaVersion}#${String(index).padStart(6, '0')}`;

/** The hash chain over everything a commit says, so an edited, removed or reordered commit is detectable. */
export const commitHash = (c: Pick<CommitDoc, 'prevHash' | 'streamId' | 'version' | 'commandId' | 'commandType' | 'events' | 'result' | 'metadata'>): string =>
  createHash('sha256')
    .update(
      JSON.stringify([
        c.prevHash,
        c.streamId,
        c.version,
        c.commandId,
        c.commandType,
        c.events.map((e) => [e.eventId, e.type, e.schemaVersion, e.data]),
        c.result,
        c.metadata.actor,
        c.metadata.correlationId,
        c.metadata.causationId ?? null,
        c.metadata.now,
      ]),
    )
    .digest('hex');

/** Rejections are kept per stream: the same command id on another stream is another command. */
export const rejectionKey = (streamId: string, commandId: string): string => `${streamId}/${commandId}`;

/** A recorded refusal: the answer given, and the fingerprint of the command it was given to. */
export interface RecordedRejection {
  error: unknown;
  fingerprint?: string;
}

export interface EventStoreOptions {
  schemas: EventSchemas;
  /** Seals the values inside events and snapshots at rest (see ValuesCipher); none: stored as they are. */
  cipher?: ValuesCipher;
  /** Collection name prefix (tests, or rebuilding into fresh collections). */
  prefix?: string;
}
