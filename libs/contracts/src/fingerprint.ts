import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so the same content gives the same text whatever order it was sent in. */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
};

/**
 * A digest of a command's type and data (values opened, bounded in depth by then), stored with its answer:
 * a command id that comes again with other content is refused (IDEMPOTENCY_KEY_REUSED) instead of being
 * answered as the first one. Never shown to readers: it would let them test guesses of secret values.
 */
export const commandFingerprint = (command: { type: string; data: unknown }): string =>
  createHash('sha256').update(canonical({ type: command.type, data: command.data })).digest('base64url');
