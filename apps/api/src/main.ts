import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { startHttp } from '@app/platform';
import { ApiModule } from './api.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(ApiModule, { bufferLogs: true });
  await startHttp(app, (config) => config.API_PORT);
}

void main();
