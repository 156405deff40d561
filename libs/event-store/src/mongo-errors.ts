import type { Collection } from 'mongoose';

/** Reading MongoDB's (and FerretDB's) duplicate-key errors, the only write errors the store expects. */

export const isDuplicateKey = (error: unknown): error is { code: number; message: string; keyPattern?: Record<string, number> } =>
  typeof error === 'object' && error !== null && (error as { code?: number }).code === 11000;

/** The write errors of a failed insertMany when every one is a duplicate key (a document already there); else null. */
export const duplicateWriteErrors = (error: unknown): Array<{ index: number }> | null => {
  const writeErrors = (error as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
  const all = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return all.length > 0 && all.every((w) => w.code === 11000) ? all : null;
};

/**
 * Inserts documents, unordered; ones already there (a repeated projection, a second publication) are
 * skipped. Returns the indexes of the skipped ones.
 */
export const insertManyIgnoringDuplicates = async (model: { collection: Collection }, docs: object[]): Promise<number[]> => {
  if (docs.length === 0) return [];
  try {
    await model.collection.insertMany(docs as never[], { ordered: false });
    return [];
  } catch (error) {
    const skipped = duplicateWriteErrors(error);
    if (!skipped) throw error;
    return skipped.map((w) => w.index);
  }
};

/** Which unique index a duplicate-key error names, where the server says (MongoDB does, FerretDB 1.x not). */
export const duplicateOn = (error: { message: string; keyPattern?: Record<string, number> }): 'version' | 'command' | 'unknown' => {
  if (error.keyPattern?.commandId || /stream_command/.test(error.message)) return 'command';
  if (error.keyPattern?.version || /stream_version/.test(error.message)) return 'version';
  return 'unknown';
};
