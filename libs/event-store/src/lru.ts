/**
 * A bounded map that forgets the least recently used entry first: the in-process memories of the
 * release service (loaded streams, written views, dispatched versions) must not grow with every release
 * it ever saw. Map order is insertion order, so re-inserting on use keeps the oldest first.
 */
export class LruMap<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity = 10_000) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) this.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The entries, least recently used first, without touching their recency. */
  values(): IterableIterator<V> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }
}
