/**
 * Helm values often carry secrets. Viewers see every key but secret-looking values masked: values under
 * keys that name a secret, and strings that look like credentials (private keys, long tokens).
 */
const SECRET_KEY = /pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|auth|cert|dsn|connection[-_]?string/i;
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|^(ghp|gho|xox[abp]|sk|AKIA)[A-Za-z0-9_-]{10,}|^[A-Za-z0-9+/=_-]{40,}$/;
export const MASK = '***';

export const redactValues = (value: unknown, secretContext = false): unknown => {
  if (Array.isArray(value)) return value.map((v) => redactValues(v, secretContext));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValues(v, secretContext || SECRET_KEY.test(k))]));
  }
  if (value === null || value === undefined) return value;
  if (secretContext) return MASK;
  return typeof value === 'string' && SECRET_VALUE.test(value) ? MASK : value;
};

/**
 * A commit of the log as a reader sees it: operators get values as they are, everyone else redacted.
 * Shared by the per-release and the whole-log routes.
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
  role: string | undefined,
) => ({
  releaseId: commit.streamId,
  version: commit.version,
  commandId: commit.commandId,
  commandType: commit.commandType,
  recordedAt: commit.recordedAt,
  ...commit.metadata,
  hash: commit.hash,
  prevHash: commit.prevHash,
  events: commit.events.map((e) => {
    const data = e.data as { values?: unknown } | null;
    const redact = role !== 'operator' && data !== null && typeof data === 'object' && 'values' in data;
    return { id: e.eventId, type: e.type, schemaVersion: e.schemaVersion, data: redact ? { ...data, values: redactValues(data.values) } : e.data };
  }),
});
