import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { APP_CONFIG, AppConfig, LOGGER, runMain, startHttp } from '@app/platform';
import type { Logger } from 'pino';
import { ApiModule } from './api.module';
import { setupOpenApi } from './openapi';

async function main(): Promise<void> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule, { bufferLogs: true });
  app.useBodyParser('json', { limit: '1mb' });
  app.disable('x-powered-by');
  setupOpenApi(app);
  if (app.get<AppConfig>(APP_CONFIG).AUTH_TOKENS.length === 0) {
    app.get<Logger>(LOGGER).warn('AUTH_TOKENS is empty: every /api request will be refused with 401');
  }
  await startHttp(app, (config) => config.API_PORT);
}

runMain('api', main);
