import { Injectable } from '@nestjs/common';
import { Partitioners } from 'kafkajs';

/**
 * The streams this instance owns: those whose commands go to a partition of the commands topic the
 * consumer group gave it. Commands are keyed by release id with Kafka's default partitioner (murmur2, as
 * the Java client), so a stream's partition is known without asking the broker. The outbox relay
 * publishes only owned streams, so two instances never republish one stream's commits at once (and out
 * of order); until the group has assigned anything, nothing is owned.
 */
@Injectable()
export class PartitionOwnership {
  private owned = new Set<number>();
  private partitionCount = 0;
  private readonly partitionOf = Partitioners.DefaultPartitioner();

  /** The partitions of the commands topic assigned now, out of `partitionCount`. */
  assign(partitions: number[], partitionCount: number): void {
    this.owned = new Set(partitions);
    this.partitionCount = partitionCount;
  }

  owns(streamId: string): boolean {
    if (this.owned.size === 0 || this.partitionCount === 0) return false;
    const partitionMetadata = Array.from({ length: this.partitionCount }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    return this.owned.has(this.partitionOf({ topic: 'commands', partitionMetadata, message: { key: streamId, value: null } }));
  }
}
