import 'reflect-metadata';
import { ALL_TOPICS } from '@app/contracts';
import { APP_CONFIG, AppConfig, ensureTopics, KAFKA, kafkaMicroserviceOptions, LOGGER, runMain, startHttp } from '@app/platform';
import { NestFactory } from '@nestjs/core';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { CONSUMER_GROUP } from './executor.constants';
import { ExecutorModule } from './executor.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(ExecutorModule, { bufferLogs: true });
  const config = app.get<AppConfig>(APP_CONFIG);
  const admin = app.get<Kafka>(KAFKA).admin();
  await admin.connect();
  await ensureTopics(admin, config, ALL_TOPICS);
  await admin.disconnect();
  // Bounded concurrency: one operation per partition at a time, so one release's never overlap.
  app.connectMicroservice(
    kafkaMicroserviceOptions(config, app.get<Logger>(LOGGER), CONSUMER_GROUP, {
      partitionsConsumedConcurrently: config.EXECUTOR_CONCURRENCY,
      fromBeginning: false,
    }),
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  await startHttp(app, (c) => c.EXECUTOR_PORT);
}

runMain('executor', main);
