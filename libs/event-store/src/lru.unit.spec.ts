import { approximateBytes, MIB } from './approximate-size';
import { LoadedStream, StreamCache } from './load-stream';
import { LruMap } from './lru';

const stream = (valuesBytes: number, version = 1): LoadedStream<{ values: { blob: string } }> => ({
  state: { values: { blob: 'x'.repeat(valuesBytes) } },
  version,
  hash: 'h'.repeat(64),
  recent: [[`command-${version}`, version]],
});

describe('LruMap: bounded by bytes', () => {
  it('forgets the least recently used entries once their sizes pass the budget', () => {
    const map = new LruMap<string>({ maxBytes: 300, sizeOf: (value) => value.length });
    map.set('a', 'a'.repeat(100));
    map.set('b', 'b'.repeat(100));
    map.set('c', 'c'.repeat(100));
    map.get('a'); // a is now the most recent: b goes first
    map.set('d', 'd'.repeat(100));
    expect([...map.values()].map((v) => v[0])).toEqual(['c', 'a', 'd']);
    expect(map.bytes).toBe(300);
  });

  it('keeps no entry larger than the whole budget, and drops the older one under its key', () => {
    const map = new LruMap<string>({ maxBytes: 300, sizeOf: (value) => value.length });
    map.set('a', 'small');
    map.set('a', 'x'.repeat(301));
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });
});

describe('StreamCache: loaded streams counted with their values', () => {
  it('holds as many streams as their values fit in, not a count', () => {
    const one = new StreamCache<{ values: { blob: string } }>(MIB);
    one.set('r-0', stream(100 * 1024));
    expect(one.bytes).toBeGreaterThan(100 * 1024);
    expect(one.bytes).toBeLessThan(101 * 1024);
    const cache = new StreamCache<{ values: { blob: string } }>(MIB);
    for (let i = 0; i < 50; i += 1) cache.set(`r-${i}`, stream(100 * 1024));
    // A little over 100 KiB each: ten fit in 1 MiB, and the newest are the ones kept.
    expect(cache.size).toBe(10);
    expect(cache.bytes).toBeLessThanOrEqual(MIB);
    expect(cache.get('r-40')).toBeDefined();
    expect(cache.get('r-39')).toBeUndefined();
    // Small streams: many more fit in the same budget.
    const small = new StreamCache<{ values: { blob: string } }>(MIB);
    for (let i = 0; i < 2000; i += 1) small.set(`r-${i}`, stream(10));
    expect(small.size).toBeGreaterThan(1000);
  });
});

describe('approximateBytes', () => {
  it('counts strings by length and every property, and an immutable state shared with the next one alike', () => {
    const revision = { values: { blob: 'x'.repeat(10_000) }, status: 'DEPLOYED' };
    const first = { revisions: [revision] };
    const second = { revisions: [revision, { ...revision, status: 'PENDING' }] };
    expect(approximateBytes(first)).toBeGreaterThan(10_000);
    expect(approximateBytes(first, true)).toBe(approximateBytes(first));
    // Sized after `first` (its revision remembered): the same as sizing it from nothing.
    expect(approximateBytes(second, true)).toBe(approximateBytes(second));
    expect(approximateBytes(second)).toBeGreaterThan(20_000);
  });

  it('does not remember what may change unless told it will not', () => {
    const list: string[] = [];
    const before = approximateBytes(list);
    list.push('y'.repeat(1000));
    expect(approximateBytes(list)).toBeGreaterThan(before + 1000);
  });
});
