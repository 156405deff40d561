import 'reflect-metadata';
import { ALL_TOPICS } from '@app/contracts';
import { APP_CONFIG, AppConfig, ensureTopics, KAFKA, kafkaMicroserviceOptions, LOGGER, runMain, startHttp } from '@app/platform';
import { NestFactory } from '@nestjs/core';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { CONSUMER_GROUP } from './remediation.constants';
import { RemediationModule } from './remediation.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(RemediationModule, { bufferLogs: true });
  const config = app.get<AppConfig>(APP_CONFIG);
  const admin = app.get<Kafka>(KAFKA).admin();
  await admin.connect();
  await ensureTopics(admin, config, ALL_TOPICS);
  await admin.disconnect();
  // A new remediation group starts at the end of the log: it must not act on failures of the past.
  app.connectMicroservice(kafkaMicroserviceOptions(config, app.get<Logger>(LOGGER), CONSUMER_GROUP, { fromBeginning: false }), {
    inheritAppConfig: true,
  });
  await app.startAllMicroservices();
  await startHttp(app, (c) => c.REMEDIATION_PORT);
}

runMain('remediation', main);
