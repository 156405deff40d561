import { insertManyIgnoringDuplicates, isDuplicateKey, MongoEventStore } from '@app/event-store';
import { LEGACY_CLUSTER } from '@app/domain';
import { Connection, Model, Schema } from 'mongoose';
import type { ReleaseReadModel } from './release-read-model';

interface NameClaim {
  /** `<key>#<generation>`: each new holder of a name inserts the next generation. */
  _id: string;
  /** `<namespace>/<name>` of a Helm release of the legacy cluster, `<cluster>:<namespace>/<name>` of any other. */
  key: string;
  generation: number;
  releaseId: string;
  claimedAt: Date;
}

const claimId = (key: string, generation: number) => `${key}#${String(generation).padStart(6, '0')}`;
/** The legacy cluster keeps the keys claims had before releases had clusters, so those claims still hold. */
const nameKey = (cluster: string, namespace: string, name: string) => (cluster === LEGACY_CLUSTER ? `${namespace}/${name}` : `${cluster}:${namespace}/${name}`);

/** A claim whose release never got its first commit is given up after this long (see claim). */
const UNUSED_CLAIM_MS = 60_000;
/** The marker that the claims of the releases made before this registry existed were written. */
const BACKFILLED = '$backfilled';

/**
 * Which release holds each Helm release (cluster, namespace, name): one Helm release has one history, so two
 * release ids never drive the same Helm release. A claim is made when an install is decided and kept for
 * good (a reinstall under the same id finds it again); the domain refuses an install whose name another
 * release holds (RELEASE_NAME_TAKEN).
 */
export class ReleaseNames {
  readonly claims: Model<NameClaim>;

  constructor(
    connection: Connection,
    private readonly store: MongoEventStore,
    prefix = '',
  ) {
    const schema = new Schema<NameClaim>({ _id: String, key: String, generation: Number, releaseId: String, claimedAt: Date }, { versionKey: false, collection: `${prefix}release_names` });
    schema.index({ key: 1, generation: -1 });
    this.claims = connection.models[`${prefix}NameClaim`] ?? connection.model<NameClaim>(`${prefix}NameClaim`, schema);
  }

  /**
   * The release that holds `namespace/name` in `cluster`, claiming it for `releaseId` when nobody does. A claim made
   * by a decision that then refused, or by a process that died before deciding, leaves a claim with no
   * release: after a while, and only while its release still has no commit, another release may take it.
   */
  async claim(cluster: string, namespace: string, name: string, releaseId: string, now: Date): Promise<string> {
    const key = nameKey(cluster, namespace, name);
    for (;;) {
      const held = await this.holder(key);
      if (held?.releaseId === releaseId) return releaseId;
      if (held) {
        const unused = now.getTime() - new Date(held.claimedAt).getTime() > UNUSED_CLAIM_MS && !(await this.store.readCommit(held.releaseId, 1));
        if (!unused) return held.releaseId;
      }
      const generation = (held?.generation ?? 0) + 1;
      try {
        await this.claims.collection.insertOne({ _id: claimId(key, generation), key, generation, releaseId, claimedAt: now } as never);
        return releaseId;
      } catch (error) {
        // Someone claimed it first: look again at who holds it now.
        if (!isDuplicateKey(error)) throw error;
      }
    }
  }

  private holder(key: string): Promise<NameClaim | null> {
    return this.claims.findOne({ key }).sort({ generation: -1 }).lean<NameClaim>().exec();
  }

  async ensureIndexes(): Promise<void> {
    await this.claims.createIndexes();
  }

  /** Claims the names of the releases the read model holds, once per database: releases made before the registry. */
  async backfill(readModel: ReleaseReadModel, now: Date): Promise<number> {
    if (await this.claims.exists({ _id: BACKFILLED })) return 0;
    let written = 0;
    let after: string | undefined;
    for (;;) {
      const page = await readModel.list({ limit: 1000, ...(after ? { after } : {}) });
      if (page.length === 0) break;
      const docs = page.map((v) => {
        const key = nameKey(v.cluster ?? LEGACY_CLUSTER, v.namespace, v.name);
        return { _id: claimId(key, 1), key, generation: 1, releaseId: v.releaseId, claimedAt: now };
      });
      written += docs.length - (await insertManyIgnoringDuplicates(this.claims, docs)).length;
      after = page[page.length - 1].releaseId;
    }
    await insertManyIgnoringDuplicates(this.claims, [{ _id: BACKFILLED, key: BACKFILLED, generation: 0, releaseId: '', claimedAt: now }]);
    return written;
  }
}
