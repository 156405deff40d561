/**
 * About how many bytes of heap a value takes: what the caches count against their budget, so a release
 * with large values weighs what it costs (an entry count would let a thousand 1 MiB releases take a GiB).
 * Approximate on purpose: strings at a byte a character (V8 keeps ASCII that way) plus a header, every
 * property or element a pointer, every object a header. Within a small factor of V8's own figures is all
 * a budget needs.
 */
const HEADER = 24;
const POINTER = 8;

/** Objects already sized, of values their callers promised never to change (see `immutable`). */
const sized = new WeakMap<object, number>();

/**
 * `immutable`: the value and everything in it are never changed after this call, so each object's size
 * is remembered. The domain's states are such values (evolve copies what it changes and shares the rest),
 * so sizing the next state of a release costs only what is new in it.
 */
export const approximateBytes = (value: unknown, immutable = false): number => {
  switch (typeof value) {
    case 'string':
      return HEADER + value.length;
    case 'object': {
      if (value === null) return POINTER;
      const known = immutable ? sized.get(value) : undefined;
      if (known !== undefined) return known;
      let bytes = HEADER;
      if (Array.isArray(value)) {
        for (const item of value) bytes += POINTER + approximateBytes(item, immutable);
      } else {
        for (const [key, item] of Object.entries(value)) bytes += POINTER + key.length + approximateBytes(item, immutable);
      }
      if (immutable) sized.set(value, bytes);
      return bytes;
    }
    default:
      return POINTER;
  }
};

export const MIB = 1024 * 1024;
