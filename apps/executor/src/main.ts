import 'reflect-metadata';
import { ALL_TOPICS } from '@app/contracts';
import { runMain, startConsumerApp } from '@app/platform';
import { CONSUMER_GROUP } from './executor.constants';
import { ExecutorModule } from './executor.module';

runMain('executor', () =>
  startConsumerApp(ExecutorModule, {
    groupId: CONSUMER_GROUP,
    topics: ALL_TOPICS,
    port: (c) => c.EXECUTOR_PORT,
    // Bounded concurrency: one operation per partition at a time, so one release's never overlap. A new
    // executor group starts at the end of the log: it must not replay old operations.
    consumer: (c) => ({ partitionsConsumedConcurrently: c.EXECUTOR_CONCURRENCY, fromBeginning: false }),
  }),
);
