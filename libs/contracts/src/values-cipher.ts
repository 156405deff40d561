import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Helm values often hold secrets. With a key configured, values are sealed with AES-256-GCM wherever they
 * are written down: in the event store (events, snapshots), the read model, and the messages on Kafka.
 * Only the `values` field, and the `error` text of Helm and Kubernetes (which can quote values, manifests and
 * URLs with credentials), are sealed: everything else (ids, types, versions, the hash chain) stays readable
 * for routing, audit and replay without the key.
 *
 * A sealed value is `{ "$sealed": "v1.<iv>.<tag>.<ciphertext>" }` (base64url parts): still a JSON object,
 * so every schema that expects an object accepts it in transit, and it is opened before validation.
 * Values written before a key was configured are plain JSON and stay readable.
 */
export interface SealedValues {
  $sealed: string;
}

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const STRING_PREFIX = 'sealed:';

export class ValuesCipher {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error(`VALUES_ENCRYPTION_KEY must be 32 bytes (base64 of 32 random bytes); got ${key.length}`);
    this.key = key;
  }

  /** From the configured base64 key; no key, no cipher (values are then stored as they are). */
  static fromBase64(key: string | undefined): ValuesCipher | undefined {
    return key ? new ValuesCipher(Buffer.from(key, 'base64')) : undefined;
  }

  sealString(plain: string): string {
    // A fresh 96-bit nonce per message, as GCM requires; never reused with the same key.
    const iv = randomBytes(12);
    const cipher = createCipheriv(ALGORITHM, this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  openString(sealed: string): string {
    const [version, iv, tag, data] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || data === undefined) throw new Error(`Unknown sealed value format '${version}'`);
    const decipher = createDecipheriv(ALGORITHM, this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // GCM authenticates: a wrong key or an edited ciphertext fails here, never decrypts to garbage.
      throw new Error('Sealed values cannot be opened: wrong VALUES_ENCRYPTION_KEY, or the data was altered');
    }
  }
}

export const isSealed = (value: unknown): value is SealedValues =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as SealedValues).$sealed === 'string' && Object.keys(value).length === 1;

const noKey = () => new Error('These values are encrypted at rest: set VALUES_ENCRYPTION_KEY to read them');

/** Seals `values`; without a cipher, returns them as they are. */
export const sealValues = (cipher: ValuesCipher | undefined, values: unknown): unknown =>
  cipher && values !== undefined && !isSealed(values) ? { $sealed: cipher.sealString(JSON.stringify(values)) } : values;

/** Opens sealed `values` (plain values pass through); sealed values without a cipher are an error. */
export const openValues = (cipher: ValuesCipher | undefined, values: unknown): unknown => {
  if (!isSealed(values)) return values;
  if (!cipher) throw noKey();
  return JSON.parse(cipher.openString(values.$sealed));
};

type Sealable = { values?: unknown; error?: unknown; [list: string]: unknown };

/** Fields that hold a list of Helm revisions, each with values of its own (adoption, drift). */
const REVISION_LISTS = ['revisions', 'imported', 'external'] as const;

/** `data` with each element of its revision lists passed through `each`; the same object when it has none. */
const inLists = <T>(data: T, each: (element: unknown) => unknown): T => {
  const d = data as Sealable;
  const lists = REVISION_LISTS.filter((key) => Array.isArray(d[key]));
  return lists.length ? { ...data, ...Object.fromEntries(lists.map((key) => [key, (d[key] as unknown[]).map(each)])) } : data;
};

/** A copy of `data` with its `values` and `error` text sealed, where it has them (in its revision lists too). */
export const sealIn = <T>(cipher: ValuesCipher | undefined, data: T): T => {
  if (!cipher || !data || typeof data !== 'object') return data;
  const d = inLists(data, (element) => sealIn(cipher, element)) as Sealable;
  const sealError = typeof d.error === 'string' && !d.error.startsWith(STRING_PREFIX);
  if (!('values' in d) && !sealError) return d as T;
  return {
    ...d,
    ...('values' in d ? { values: sealValues(cipher, d.values) } : {}),
    ...(sealError ? { error: sealText(cipher, d.error as string) } : {}),
  } as T;
};

/** A copy of `data` with its `values` and `error` text opened, where sealed (in its revision lists too). */
export const openIn = <T>(cipher: ValuesCipher | undefined, data: T): T => {
  if (!data || typeof data !== 'object') return data;
  const d = inLists(data, (element) => openIn(cipher, element)) as Sealable;
  const sealedValues = 'values' in d && isSealed(d.values);
  const sealedError = typeof d.error === 'string' && d.error.startsWith(STRING_PREFIX);
  if (!sealedValues && !sealedError) return d as T;
  return {
    ...d,
    ...(sealedValues ? { values: openValues(cipher, d.values) } : {}),
    ...(sealedError ? { error: openText(cipher, d.error as string) } : {}),
  } as T;
};

/** Seals a whole JSON text (a snapshot, a read-model document field). */
export const sealText = (cipher: ValuesCipher | undefined, text: string): string => (cipher ? `${STRING_PREFIX}${cipher.sealString(text)}` : text);

export const openText = (cipher: ValuesCipher | undefined, text: string): string => {
  if (!text.startsWith(STRING_PREFIX)) return text;
  if (!cipher) throw noKey();
  return cipher.openString(text.slice(STRING_PREFIX.length));
};
