import { Schema } from 'mongoose';
import type { ReleaseView, RevisionView } from './release-projection';

/** The read model's documents as Mongo stores them: one per release, one per revision (unique by number). */
export const viewSchemas = (prefix: string): { releaseSchema: Schema<ReleaseView>; revisionSchema: Schema<RevisionView> } => {
  const releaseSchema = new Schema<ReleaseView>(
    {
      _id: String,
      releaseId: String,
      version: Number,
      cluster: String,
      name: String,
      namespace: String,
      chart: { _id: false, name: String, repository: String },
      autoRollback: Boolean,
      drift: String,
      test: { _id: false, enable: Boolean, timeoutSeconds: Number, ignoreFailures: Boolean },
      remediation: { type: Schema.Types.Mixed, default: undefined },
      retry: { type: Schema.Types.Mixed, default: undefined },
      retrying: Boolean,
      inSync: Boolean,
      knownHelmRevision: Number,
      status: String,
      currentRevision: Number,
      lastSuccessfulRevision: Number,
      pendingOperationId: String,
      pendingDeadline: String,
      pending: Boolean,
      lastError: String,
      createdAt: String,
      updatedAt: String,
    },
    { versionKey: false, collection: `${prefix}releases` },
  );
  const revisionSchema = new Schema<RevisionView>(
    {
      _id: String,
      releaseId: String,
      revision: Number,
      operation: String,
      chartVersion: String,
      valuesJson: String,
      chartDigest: String,
      status: String,
      rollbackOf: Number,
      causedByRevision: Number,
      trigger: String,
      requestedBy: String,
      unauthenticated: Boolean,
      breakGlass: { type: Schema.Types.Mixed, default: undefined },
      reason: String,
      requestedAt: String,
      completedAt: String,
      error: String,
      helmRevision: Number,
      operationId: String,
      atomic: Boolean,
      warnings: [String],
      remediation: String,
      reportedFailure: String,
      options: { _id: false, wait: Boolean, waitForJobs: Boolean, noHooks: Boolean, cleanupOnFail: Boolean, force: Boolean },
      tests: { _id: false, result: String, ignored: Boolean },
      timeoutSeconds: Number,
      attempt: Number,
    },
    { versionKey: false, collection: `${prefix}revisions` },
  );
  revisionSchema.index({ releaseId: 1, revision: 1 }, { unique: true, name: 'release_revision' });
  return { releaseSchema, revisionSchema };
};
