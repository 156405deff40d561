import { INestApplication } from '@nestjs/common';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AppConfig } from './config';
import { APP_CONFIG, LOGGER } from './platform.constants';

/**
 * What every app does once its Nest application exists: log through pino, stop gracefully on SIGTERM
 * (Nest then runs the shutdown hooks: consumers stop, in-flight work finishes, connections close), and
 * listen on loopback unless told otherwise.
 */
export const startHttp = async (app: INestApplication, port: (config: AppConfig) => number): Promise<string> => {
  app.useLogger(app.get(PinoNestLogger));
  app.enableShutdownHooks();
  const config = app.get<AppConfig>(APP_CONFIG);
  const logger = app.get<Logger>(LOGGER);
  await app.listen(port(config), config.HTTP_HOST);
  const url = await app.getUrl();
  logger.info({ url }, 'listening');
  return url;
};
