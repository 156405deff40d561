import 'reflect-metadata';
import { ALL_TOPICS } from '@app/contracts';
import { runMain, startConsumerApp } from '@app/platform';
import { CONSUMER_GROUP } from './release-service.constants';
import { ReleaseServiceModule } from './release-service.module';

runMain('release-service', () =>
  startConsumerApp(ReleaseServiceModule, {
    groupId: CONSUMER_GROUP,
    topics: ALL_TOPICS,
    // HTTP serves health and metrics only; the work arrives over Kafka.
    port: (c) => c.RELEASE_SERVICE_PORT,
    // Commands of different releases run concurrently; one release's stay in order (one partition each).
    consumer: () => ({ partitionsConsumedConcurrently: 3 }),
  }),
);
