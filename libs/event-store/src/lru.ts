import { LRUCache } from 'lru-cache';
import { approximateBytes } from './approximate-size';

export interface LruBudget<V> {
  /** The entries' approximate size together, in bytes (see approximate-size.ts). */
  maxBytes: number;
  /** An entry's approximate size; default: its key and its value, sized by approximateBytes. */
  sizeOf?: (value: V, key: string) => number;
}

/**
 * A map bounded by the bytes its entries take, forgetting the least recently used first: the in-process
 * memories of the release service (loaded streams, written views, dispatched versions) must not grow with
 * every release it ever saw, nor with the size of their values. An entry larger than the whole budget is
 * not kept (and any older entry under its key is dropped, so a stale copy never stays).
 */
export class LruMap<V extends NonNullable<unknown>> {
  private readonly entries: LRUCache<string, V>;

  constructor({ maxBytes, sizeOf }: LruBudget<V>) {
    const size = sizeOf ?? ((value: V, key: string) => approximateBytes(key) + approximateBytes(value));
    // lru-cache refuses a size below 1.
    this.entries = new LRUCache<string, V>({ maxSize: maxBytes, sizeCalculation: (value, key) => Math.max(1, Math.ceil(size(value, key))) });
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The entries, least recently used first, without touching their recency. */
  *values(): Generator<V> {
    for (const value of this.entries.rvalues()) if (value !== undefined) yield value;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entries' approximate size together, in bytes. */
  get bytes(): number {
    return this.entries.calculatedSize;
  }
}
