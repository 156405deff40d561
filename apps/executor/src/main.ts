import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { runMain, startHttp } from '@app/platform';
import { ExecutorModule } from './executor.module';

async function main(): Promise<void> {
  const app = await NestFactory.create(ExecutorModule, { bufferLogs: true });
  await startHttp(app, (config) => config.EXECUTOR_PORT);
}

runMain('executor', main);
