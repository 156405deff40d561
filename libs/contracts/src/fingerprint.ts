import { createHash } from 'node:crypto';
import { canonicalJson, JsonValue } from '@app/domain';

/**
 * A digest of a command's type and data (values opened, bounded in depth by then), stored with its answer:
 * a command id that comes again with other content is refused (IDEMPOTENCY_KEY_REUSED) instead of being
 * answered as the first one. Keys are sorted first, so the same content sent in another key order is the
 * same command. Never shown to readers: it would let them test guesses of secret values.
 */
export const commandFingerprint = (command: { type: string; data: unknown }): string =>
  createHash('sha256').update(canonicalJson({ type: command.type, data: command.data as JsonValue })).digest('base64url');
