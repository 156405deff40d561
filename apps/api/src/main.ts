import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { APP_CONFIG, AppConfig, LOGGER, runMain, startHttp } from '@app/platform';
import type { Logger } from 'pino';
import { ApiModule } from './api.module';
import { bodyDepthGuard } from './body-limits';
import { serveConsole } from './console';
import { setupOpenApi } from './openapi';

async function main(): Promise<void> {
  // Routes match as written: `/API/...` or `/api/.../` is not another spelling of a route, it is no route.
  // Set before Nest's adapter mounts anything: Express builds its router, with these settings, on first use.
  const server = express();
  server.set('case sensitive routing', true);
  server.set('strict routing', true);
  const app = await NestFactory.create<NestExpressApplication>(ApiModule, new ExpressAdapter(server), { bufferLogs: true });
  const config = app.get<AppConfig>(APP_CONFIG);
  app.useBodyParser('json', { limit: Math.max(1024 * 1024, config.VALUES_MAX_BYTES + 64 * 1024), verify: bodyDepthGuard(config.VALUES_MAX_DEPTH) });
  app.disable('x-powered-by');
  setupOpenApi(app);
  serveConsole(server, config, app.get<Logger>(LOGGER));
  if (config.AUTH_TOKENS.length === 0) {
    app.get<Logger>(LOGGER).warn('AUTH_TOKENS is empty: every /api request will be refused with 401');
  }
  await startHttp(app, (c) => c.API_PORT);
}

runMain('api', main);
