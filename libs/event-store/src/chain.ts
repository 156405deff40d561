import { MongoEventStore } from './mongo-event-store';
import { CommitDoc, commitHash, GENESIS_HASH } from './store-records';

export interface ChainProblem {
  streamId: string;
  version: number;
  problem: 'EDITED' | 'MISSING' | 'OUT_OF_ORDER' | 'BROKEN_LINK';
  detail: string;
}

/**
 * Verifies the hash chain of one stream or of all: every commit's hash must match its content, versions
 * must run 1..n without gaps, and each commit must point at the hash of the one before. An edited,
 * deleted or reordered commit is reported by stream and version.
 */
export const verifyChain = async (
  store: MongoEventStore,
  options: { streamId?: string; onProgress?: (commits: number) => void } = {},
): Promise<{ commits: number; streams: number; problems: ChainProblem[] }> => {
  const problems: ChainProblem[] = [];
  const last = new Map<string, { version: number; hash: string }>();
  let commits = 0;
  // Stored order per stream is by version; a cursor keeps memory flat on a large log.
  const cursor = store.commits
    .find(options.streamId ? { streamId: options.streamId } : {})
    .sort({ streamId: 1, version: 1 })
    .lean<CommitDoc>()
    .cursor();
  for await (const doc of cursor as AsyncIterable<CommitDoc>) {
    commits += 1;
    if (commits % 1000 === 0) options.onProgress?.(commits);
    const previous = last.get(doc.streamId) ?? { version: 0, hash: GENESIS_HASH };
    if (doc.version !== previous.version + 1) {
      problems.push({
        streamId: doc.streamId,
        version: doc.version,
        problem: doc.version > previous.version + 1 ? 'MISSING' : 'OUT_OF_ORDER',
        detail:
          doc.version > previous.version + 1
            ? `versions ${previous.version + 1}..${doc.version - 1} are missing (deleted?)`
            : `version ${doc.version} appears after version ${previous.version}`,
      });
    }
    const recomputed = commitHash(doc);
    if (recomputed !== doc.hash) {
      problems.push({ streamId: doc.streamId, version: doc.version, problem: 'EDITED', detail: 'content does not match its hash' });
    } else if (doc.prevHash !== previous.hash && doc.version === previous.version + 1) {
      problems.push({
        streamId: doc.streamId,
        version: doc.version,
        problem: 'BROKEN_LINK',
        detail: `points at ${doc.prevHash.slice(0, 12) || '(genesis)'} but the commit before it hashes to ${previous.hash.slice(0, 12) || '(genesis)'}: reordered or replaced`,
      });
    }
    last.set(doc.streamId, { version: doc.version, hash: doc.hash });
  }
  return { commits, streams: last.size, problems };
};
