import { PartitionOwnership } from './partition-ownership';

describe('PartitionOwnership (which streams the relay of an instance publishes)', () => {
  const streams = Array.from({ length: 300 }, (_, i) => `release-${i}`);

  it('owns nothing before the group assigns it partitions', () => {
    const ownership = new PartitionOwnership();
    expect(streams.filter((s) => ownership.owns(s))).toEqual([]);
    ownership.assign([], 6);
    expect(streams.filter((s) => ownership.owns(s))).toEqual([]);
  });

  it('gives each stream to exactly one of the instances sharing the partitions, and to every instance when one holds them all', () => {
    const instances = [[0, 3], [1, 4], [2, 5]].map((partitions) => {
      const ownership = new PartitionOwnership();
      ownership.assign(partitions, 6);
      return ownership;
    });
    for (const s of streams) expect(instances.filter((o) => o.owns(s))).toHaveLength(1);
    // Each instance owns some: the streams spread over the partitions.
    for (const o of instances) expect(streams.filter((s) => o.owns(s)).length).toBeGreaterThan(50);
    const alone = new PartitionOwnership();
    alone.assign([0, 1, 2, 3, 4, 5], 6);
    expect(streams.every((s) => alone.owns(s))).toBe(true);
  });

  it('follows a new assignment (a rebalance) and the partition count it is given', () => {
    const ownership = new PartitionOwnership();
    ownership.assign([0], 1);
    expect(streams.every((s) => ownership.owns(s))).toBe(true);
    ownership.assign([1], 2);
    const owned = streams.filter((s) => ownership.owns(s));
    expect(owned.length).toBeGreaterThan(100);
    expect(owned.length).toBeLessThan(200);
  });
});
