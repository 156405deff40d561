/**
 * Bounds on untrusted JSON, checked without recursion before any schema sees it: a schema validates
 * recursively, and a document nested a few thousand levels deep overflows the stack of whatever walks it
 * (zod, JSON.stringify, a redactor), which once stopped every consumer of the commands topic.
 */

export interface ValueLimits {
  /** Nesting of objects and arrays inside the values object (the values object itself is depth 1). */
  maxDepth: number;
  /** Size of the values as JSON text, in bytes. */
  maxBytes: number;
}

export const DEFAULT_VALUE_LIMITS: ValueLimits = { maxDepth: 64, maxBytes: 256 * 1024 };
/** What configuration may raise the limits to: what every walker of values (redaction, diff, JSON) can take. */
export const MAX_VALUE_LIMITS: ValueLimits = { maxDepth: 128, maxBytes: 4 * 1024 * 1024 };

/** Keys that mean something to JavaScript objects: refused rather than silently dropped or merged. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** `size`: over a byte limit (HTTP 413); `shape`: too deep, a forbidden key, not JSON (HTTP 400). */
export type BoundsResult = { ok: true } | { ok: false; kind: 'size' | 'shape'; reason: string };

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a message as UTF-8 text no longer than maxBytes and nested at most maxDepth deep, scanning the
 * bytes once before JSON.parse. Invalid UTF-8 is refused rather than replaced, so what is stored is what
 * was sent.
 */
export const boundedText = (raw: Buffer | string, limits: { maxBytes: number; maxDepth: number }): { ok: true; text: string } | { ok: false; reason: string } => {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > limits.maxBytes) return { ok: false, reason: `message of ${size} bytes is over the limit of ${limits.maxBytes}` };
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : fatalUtf8.decode(raw);
  } catch {
    return { ok: false, reason: 'message is not valid UTF-8' };
  }
  const depth = jsonTextDepth(text);
  if (depth > limits.maxDepth) return { ok: false, reason: `message nests deeper than ${limits.maxDepth} levels` };
  return { ok: true, text };
};

/** The deepest nesting of `{` and `[` outside strings, in one pass (malformed text is JSON.parse's to refuse). */
export const jsonTextDepth = (text: string): number => {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return max;
};

/**
 * Checks that `value` is a JSON object within the limits, with an explicit stack: only JSON types (no
 * undefined, functions, NaN or Infinity), no forbidden keys, depth and size bounded. The size is counted as
 * the JSON text would be, within a few bytes per item, without serializing.
 */
export const checkValues = (value: unknown, limits: ValueLimits = DEFAULT_VALUE_LIMITS): BoundsResult => {
  if (!isPlainObject(value)) return { ok: false, kind: 'shape', reason: 'values must be a JSON object' };
  let bytes = 0;
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 1, path: 'values' }];
  while (stack.length > 0) {
    const { value: v, depth, path } = stack.pop()!;
    if (v === null || typeof v === 'boolean') bytes += 5;
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { ok: false, kind: 'shape', reason: `${path}: numbers must be finite` };
      bytes += 24;
    } else if (typeof v === 'string') bytes += Buffer.byteLength(v) + 2;
    else if (Array.isArray(v) || isPlainObject(v)) {
      if (depth > limits.maxDepth) return { ok: false, kind: 'shape', reason: `${path}: values nest deeper than ${limits.maxDepth} levels` };
      bytes += 2;
      if (Array.isArray(v)) {
        v.forEach((item, i) => stack.push({ value: item, depth: depth + 1, path: `${path}.${i}` }));
      } else {
        for (const key of Object.keys(v)) {
          if (FORBIDDEN_KEYS.has(key)) return { ok: false, kind: 'shape', reason: `${path}: the key '${key}' is not allowed` };
          bytes += Buffer.byteLength(key) + 4;
          stack.push({ value: (v as Record<string, unknown>)[key], depth: depth + 1, path: `${path}.${key}` });
        }
      }
    } else return { ok: false, kind: 'shape', reason: `${path}: ${typeof v} is not a JSON value` };
    if (bytes > limits.maxBytes) return { ok: false, kind: 'size', reason: `values are larger than ${limits.maxBytes} bytes` };
  }
  return { ok: true };
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};
