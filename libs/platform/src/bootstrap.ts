import { INestApplication } from '@nestjs/common';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AppConfig, ConfigError } from './config';
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

/**
 * Runs an app's main: a start-up failure (bad config, a server that does not answer) ends the process
 * with one readable line and exit code 1, not an unhandled rejection.
 */
export const runMain = (name: string, main: () => Promise<void>): void => {
  main().catch((error: unknown) => {
    const message = error instanceof ConfigError ? error.message : `${(error as Error)?.stack ?? String(error)}`;
    process.stderr.write(`${name}: failed to start: ${message}\n`);
    process.exit(1);
  });
};
