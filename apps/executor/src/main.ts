import 'reflect-metadata';
import { ALL_TOPICS } from '@app/contracts';
import { DEADLINE_GRACE_SECONDS, MAX_TIMEOUT_SECONDS } from '@app/domain';
import { AppConfig, APP_CONFIG, executorClusters, executorGroup, runMain, startConsumerApp } from '@app/platform';
import { ExecutorModule } from './executor.module';
import { ServedClusters } from './served-clusters';

runMain('executor', () =>
  startConsumerApp(ExecutorModule, {
    // One group per served cluster: every cluster's executors see every operation and run their cluster's only.
    groupId: (config) => executorClusters(config).map((c) => executorGroup(config, c.name)),
    onConsumers: (app, consumers) => {
      const config = app.get<AppConfig>(APP_CONFIG);
      const served = app.get(ServedClusters);
      for (const { name } of executorClusters(config)) served.register(consumers.get(executorGroup(config, name))!, name);
    },
    topics: ALL_TOPICS,
    port: (c) => c.EXECUTOR_PORT,
    // Bounded concurrency: one operation per partition at a time, so one release's never overlap. A new
    // executor group starts at the end of the log: it must not replay old operations.
    // A rebalance waits for an operation in flight as long as an operation may take: a partition is never
    // handed to another executor (which would run Helm again) while this one is still running its Helm call.
    consumer: (c) => ({
      partitionsConsumedConcurrently: c.EXECUTOR_CONCURRENCY,
      fromBeginning: false,
      // The longest operation: its own timeout, then its tests' (each at most MAX_TIMEOUT_SECONDS).
      rebalanceTimeoutMs: (2 * MAX_TIMEOUT_SECONDS + DEADLINE_GRACE_SECONDS) * 1000,
    }),
  }),
);
