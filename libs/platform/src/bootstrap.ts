import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Consumer, Kafka } from 'kafkajs';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { AppConfig, ConfigError } from './config';
import { ensureTopics } from './kafka';
import { kafkaMicroserviceOptions, signerOf } from './messaging';
import { APP_CONFIG, KAFKA, LOGGER } from './platform.constants';

/**
 * Graceful shutdown on SIGTERM or SIGINT: `app.close()` stops the HTTP server and the Kafka consumers
 * (a message in progress finishes; its offset is committed only then), runs the shutdown hooks, closes
 * connections, and the process exits 0. Past SHUTDOWN_GRACE_MS it exits 1 rather than hang.
 */
const closeOnSignals = (app: INestApplication, config: AppConfig, logger: Logger): void => {
  let closing = false;
  const close = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS).unref();
    app
      .close()
      .then(() => {
        logger.info('shutdown complete');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', close);
  process.once('SIGINT', close);
};

/** What every app does once its Nest application exists: log through pino, close gracefully, listen. */
export const startHttp = async (app: INestApplication, port: (config: AppConfig) => number): Promise<string> => {
  app.useLogger(app.get(PinoNestLogger));
  const config = app.get<AppConfig>(APP_CONFIG);
  const logger = app.get<Logger>(LOGGER);
  closeOnSignals(app, config, logger);
  // A signing key that cannot be read stops the app now, not at its first command.
  await signerOf(config);
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

export interface ConsumerAppOptions {
  /**
   * Consumer group (prefixed with KAFKA_TOPIC_PREFIX), or how the configuration names it; several: one
   * Nest Kafka server each, every one delivering to the same handlers.
   */
  groupId: string | ((config: AppConfig) => string | readonly string[]);
  /** Once they consume: each group's kafkajs consumer, for handlers that must tell the groups apart. */
  onConsumers?: (app: INestApplication, consumers: ReadonlyMap<string, Consumer>) => void;
  /** Topics to create if missing before consuming (several apps may race to create them: harmless). */
  topics: readonly string[];
  port: (config: AppConfig) => number;
  /** The Nest Kafka transport's consumer settings; `false`: the app runs its own consumer (as a provider). */
  consumer?: ((config: AppConfig) => { partitionsConsumedConcurrently?: number; fromBeginning?: boolean; rebalanceTimeoutMs?: number }) | false;
}

/**
 * Starts an app whose work arrives over Kafka: ensure the topics, connect the Nest Kafka microservice,
 * then serve health and metrics over HTTP.
 */
export const startConsumerApp = async (module: unknown, options: ConsumerAppOptions): Promise<void> => {
  const app = await NestFactory.create(module as never, { bufferLogs: true });
  const config = app.get<AppConfig>(APP_CONFIG);
  const admin = app.get<Kafka>(KAFKA).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, config, options.topics);
  } finally {
    await admin.disconnect();
  }
  if (options.consumer !== false) {
    const named = typeof options.groupId === 'function' ? options.groupId(config) : options.groupId;
    const groups = typeof named === 'string' ? [named] : named;
    const settings = options.consumer?.(config) ?? {};
    const servers = groups.map((group) => app.connectMicroservice(kafkaMicroserviceOptions(config, app.get<Logger>(LOGGER), group, settings), { inheritAppConfig: true }));
    await app.startAllMicroservices();
    options.onConsumers?.(app, new Map(groups.map((group, i) => [group, servers[i].unwrap<[Kafka, Consumer]>()[1]])));
  }
  await startHttp(app, options.port);
};
