import { chunksOf } from './command-consumer';

const message = (bytes: number) => ({ value: Buffer.alloc(bytes) });
const sizes = (chunks: Array<Array<{ value: Buffer | null }>>) => chunks.map((c) => c.map((m) => m.value?.length ?? 0));

describe('chunksOf: a fetch in chunks bounded by count and by bytes', () => {
  it('cuts at the count for small messages', () => {
    expect([...chunksOf(Array.from({ length: 5 }, () => message(1)), 2, 1000)].map((c) => c.length)).toEqual([2, 2, 1]);
  });

  it('cuts before the bytes would pass the budget, keeping a larger message alone and every message once, in order', () => {
    const messages = [message(40), message(40), message(30), message(500), message(10), { value: null }];
    const chunks = [...chunksOf(messages, 10, 100)];
    expect(sizes(chunks)).toEqual([[40, 40], [30], [500], [10, 0]]);
    expect(chunks.flat()).toEqual(messages);
  });

  it('yields nothing for an empty fetch', () => {
    expect([...chunksOf([], 10, 100)]).toEqual([]);
  });
});
