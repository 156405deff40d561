import { MASK, redactText, SECRET_KEY } from '@app/contracts';

export { MASK, redactText };

/**
 * What a viewer may see of values and error text. Default deny: a viewer sees the keys of the values and
 * the type of each value (`<string>`, `<number>`, `<boolean>`), never the value, except at paths the
 * operator declared non-secret (VALUES_VIEWER_VISIBLE_PATHS). Even there, values under secret-named keys
 * and strings that look like credentials stay masked. Operators see everything as it is.
 */
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|^(ghp|gho|xox[abp]|sk|AKIA)[A-Za-z0-9_-]{10,}|^[A-Za-z0-9+/=_-]{40,}$|:\/\/[^/\s:@]*:[^/\s@]*@/;

const typeOf = (value: unknown): string => `<${typeof value}>`;

/** A dotted path pattern (`image.tag`, `*.enabled`) matches a value's path or one of its ancestors. */
const visibleAt = (path: readonly string[], patterns: ReadonlyArray<readonly string[]>): boolean =>
  patterns.some((p) => p.length <= path.length && p.every((segment, i) => segment === '*' || segment === path[i]));

export const parseVisiblePaths = (paths: readonly string[]): string[][] => paths.map((p) => p.split('.'));

/** Values as a viewer sees them (values are bounded in depth at every edge, so recursion is safe here). */
export const redactValues = (value: unknown, visible: ReadonlyArray<readonly string[]> = [], path: string[] = [], secret = false): unknown => {
  if (Array.isArray(value)) return value.map((v, i) => redactValues(v, visible, [...path, String(i)], secret));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValues(v, visible, [...path, k], secret || SECRET_KEY.test(k))]));
  }
  if (value === null || value === undefined) return value;
  if (secret) return MASK;
  if (!visibleAt(path, visible)) return typeOf(value);
  return typeof value === 'string' && SECRET_VALUE.test(value) ? MASK : value;
};

export interface Reader {
  operator: boolean;
  visible: ReadonlyArray<readonly string[]>;
}

/**
 * A commit of the log as a reader sees it: operators get values and error text as they are, everyone
 * else redacted. Shared by the per-release and the whole-log routes.
 */
export const commitForReader = (
  commit: {
    streamId: string;
    version: number;
    commandId: string;
    commandType: string;
    recordedAt: Date;
    metadata: object;
    hash: string;
    prevHash: string;
    events: Array<{ eventId: string; type: string; schemaVersion: number; data: unknown }>;
  },
  reader: Reader,
) => ({
  releaseId: commit.streamId,
  version: commit.version,
  commandId: commit.commandId,
  commandType: commit.commandType,
  recordedAt: commit.recordedAt,
  ...withoutFingerprint(commit.metadata),
  hash: commit.hash,
  prevHash: commit.prevHash,
  events: commit.events.map((e) => ({ id: e.eventId, type: e.type, schemaVersion: e.schemaVersion, data: reader.operator ? e.data : eventDataForViewer(e.data, reader) })),
});

/** A command's fingerprint digests its values: shown to no reader, as a digest of a secret could be tested against guesses. */
const withoutFingerprint = (metadata: object): object => {
  const { fingerprint: _fingerprint, ...rest } = metadata as { fingerprint?: string };
  return rest;
};

const eventDataForViewer = (data: unknown, reader: Reader): unknown => {
  if (data === null || typeof data !== 'object') return data;
  const d = data as { values?: unknown; error?: unknown; description?: unknown; revisions?: unknown };
  return {
    ...d,
    ...('values' in d ? { values: redactValues(d.values, reader.visible) } : {}),
    ...(typeof d.error === 'string' ? { error: redactText(d.error) } : {}),
    // Helm's description of a revision made outside the service can quote what failed.
    ...(typeof d.description === 'string' ? { description: redactText(d.description) } : {}),
    // Revisions imported or found as drift carry values of their own.
    ...(Array.isArray(d.revisions) ? { revisions: d.revisions.map((r) => eventDataForViewer(r, reader)) } : {}),
  };
};
