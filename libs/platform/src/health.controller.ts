import { Controller, Get, Inject, Optional } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { Admin } from 'kafkajs';
import type { Connection } from 'mongoose';
import { KAFKA_ADMIN_HEALTH, MONGO_CONNECTION, READINESS_CHECKS } from './platform.constants';
import { Public } from './public.decorator';

const withTimeout = <T>(promise: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);

/** One more thing an app needs to do its work (the executor: helm runs, its cluster answers). */
export interface ReadinessCheck {
  key: string;
  probe: () => Promise<unknown>;
}

/** Liveness says the process runs; readiness says its Kafka broker, database and the app's own checks answer. */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Optional() @Inject(KAFKA_ADMIN_HEALTH) private readonly kafkaAdmin?: Admin,
    @Optional() @Inject(MONGO_CONNECTION) private readonly mongo?: Connection,
    @Optional() @Inject(READINESS_CHECKS) private readonly extra: ReadinessCheck[] = [],
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    const checks = [];
    if (this.kafkaAdmin) checks.push(() => this.check('kafka', () => this.kafkaAdmin!.describeCluster()));
    if (this.mongo) checks.push(() => this.check('mongodb', () => this.mongo!.db!.admin().ping()));
    for (const { key, probe } of this.extra ?? []) checks.push(() => this.check(key, probe));
    return this.health.check(checks);
  }

  private async check(key: string, probe: () => Promise<unknown>) {
    const indicator = this.indicators.check(key);
    try {
      await withTimeout(probe(), 3_000);
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: (error as Error).message });
    }
  }
}
