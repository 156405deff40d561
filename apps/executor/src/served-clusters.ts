import { Injectable } from '@nestjs/common';
import type { Consumer } from 'kafkajs';

/**
 * Which served cluster each of the executor's Kafka consumers is for. An executor serving several clusters
 * is in each one's consumer group, and every group delivers every operation to the same handlers: a
 * message is acted on only for the cluster of the group that delivered it, so each cluster's operations
 * run once, on the executors of that cluster's group.
 */
@Injectable()
export class ServedClusters {
  private readonly byConsumer = new Map<Consumer, string>();

  register(consumer: Consumer, cluster: string): void {
    this.byConsumer.set(consumer, cluster);
  }

  /** The cluster whose group's consumer delivered a message; undefined for one this process does not know. */
  clusterOf(consumer: Consumer): string | undefined {
    return this.byConsumer.get(consumer);
  }
}
