import 'reflect-metadata';
import { ALL_TOPICS } from '@app/contracts';
import { APP_CONFIG, AppConfig, ensureTopics, KAFKA, kafkaMicroserviceOptions, LOGGER, runMain, startHttp } from '@app/platform';
import { NestFactory } from '@nestjs/core';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { CONSUMER_GROUP } from './release-service.constants';
import { ReleaseServiceModule } from './release-service.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(ReleaseServiceModule, { bufferLogs: true });
  const config = app.get<AppConfig>(APP_CONFIG);
  const admin = app.get<Kafka>(KAFKA).admin();
  await admin.connect();
  await ensureTopics(admin, config, ALL_TOPICS);
  await admin.disconnect();
  // Commands of different releases run concurrently; one release's stay in order (one partition each).
  app.connectMicroservice(
    kafkaMicroserviceOptions(config, app.get<Logger>(LOGGER), CONSUMER_GROUP, { partitionsConsumedConcurrently: 3 }),
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  // HTTP serves health and metrics only; the work arrives over Kafka.
  await startHttp(app, (c) => c.RELEASE_SERVICE_PORT);
}

runMain('release-service', main);
