import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { startHttp } from '@app/platform';
import { ReleaseServiceModule } from './release-service.module';

async function main(): Promise<void> {
  // HTTP serves only health and metrics; the work arrives over Kafka.
  const app = await NestFactory.create(ReleaseServiceModule, { bufferLogs: true });
  await startHttp(app, (config) => config.RELEASE_SERVICE_PORT);
}

void main();
