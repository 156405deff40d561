import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown, Optional, Provider } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { Admin, Kafka, Producer } from 'kafkajs';
import type { Connection } from 'mongoose';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { ValuesCipher } from '@app/contracts';
import { AppConfig, loadConfig } from './config';
import { HealthController, ReadinessCheck } from './health.controller';
import { createKafka, createProducer } from './kafka';
import { createLogger, httpLoggerParams } from './logging';
import { createMetricsRegistry, MetricsController } from './metrics';
import { connectMongo, watchMonitoring } from './mongo';
import {
  APP_CONFIG,
  APP_NAME,
  KAFKA,
  KAFKA_ADMIN_HEALTH,
  KAFKA_PRODUCER,
  LOGGER,
  METRICS_REGISTRY,
  VALUES_CIPHER,
  MONGO_CONNECTION,
  READINESS_CHECKS,
} from './platform.constants';

export interface PlatformOptions {
  app: 'api' | 'release-service' | 'executor' | 'remediation';
  kafka?: boolean;
  mongo?: boolean;
  /** Config to use instead of process.env (tests start apps in-process with their own). */
  config?: AppConfig;
  /** The app's own readiness checks, beside Kafka's and MongoDB's. */
  readiness?: (config: AppConfig) => ReadinessCheck[];
}

/** Closes what the platform opened, after Nest has stopped the app's own consumers and servers. */
@Injectable()
class PlatformShutdown implements OnApplicationShutdown {
  constructor(
    @Optional() @Inject(KAFKA_PRODUCER) private readonly producer?: Producer,
    @Optional() @Inject(KAFKA_ADMIN_HEALTH) private readonly admin?: Admin,
    @Optional() @Inject(MONGO_CONNECTION) private readonly mongo?: Connection,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.producer?.disconnect(), this.admin?.disconnect()]);
    await this.mongo?.close();
  }
}

@Global()
@Module({})
export class PlatformModule {
  static forRoot(options: PlatformOptions): DynamicModule {
    const config = options.config ?? loadConfig();
    const logger = createLogger(config, options.app);
    const providers: Provider[] = [
      { provide: APP_CONFIG, useValue: config },
      { provide: APP_NAME, useValue: options.app },
      { provide: VALUES_CIPHER, useValue: ValuesCipher.fromBase64(config.VALUES_ENCRYPTION_KEY) ?? null },
      { provide: LOGGER, useValue: logger },
      { provide: METRICS_REGISTRY, useValue: createMetricsRegistry(options.app) },
      { provide: READINESS_CHECKS, useValue: options.readiness?.(config) ?? [] },
      PlatformShutdown,
    ];
    if (options.kafka !== false) {
      providers.push(
        { provide: KAFKA, useFactory: () => createKafka(config, logger, options.app) },
        {
          provide: KAFKA_PRODUCER,
          inject: [KAFKA],
          useFactory: async (kafka: Kafka) => {
            const producer = createProducer(kafka);
            await producer.connect();
            return producer;
          },
        },
        {
          provide: KAFKA_ADMIN_HEALTH,
          inject: [KAFKA],
          useFactory: async (kafka: Kafka) => {
            const admin = kafka.admin();
            await admin.connect();
            return admin;
          },
        },
      );
    }
    if (options.mongo !== false) {
      providers.push({
        provide: MONGO_CONNECTION,
        useFactory: async () => {
          const connection = await connectMongo(config);
          // A stalled driver never reconnects (see watchMonitoring); a fresh process does, so this one exits
          // and its supervisor starts another. Work in flight is not lost: Kafka offsets are committed only
          // after the work is stored, and HTTP callers get an error and retry.
          watchMonitoring(connection, (silentMs) => {
            logger.fatal({ silentMs }, 'MongoDB driver stopped monitoring the database; exiting so a fresh process reconnects');
            process.exit(1);
          });
          return connection;
        },
      });
    }
    return {
      module: PlatformModule,
      imports: [TerminusModule, LoggerModule.forRoot(httpLoggerParams(logger))],
      controllers: [HealthController, MetricsController],
      providers,
      exports: providers.map((p) => (typeof p === 'function' ? p : p.provide)),
    };
  }
}

export type { Logger };
