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
    // Commands are consumed a fetch at a time by CommandConsumer, not by the Nest transport.
    consumer: false,
  }),
);
