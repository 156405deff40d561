import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HelmCliAdapter, helmEnvironment } from '@app/helm';
import { APP_CONFIG, AppConfig, executorClusters, loadRepositoryCredentials, PlatformModule } from '@app/platform';
import { Module } from '@nestjs/common';
import { EventsController } from './events.controller';
import { HELMS } from './executor.constants';
import { ExecutorService } from './executor.service';
import { InventoryReporter } from './inventory-reporter';
import { ManifestRenderer } from './manifest-renderer';
import { executorReadiness } from './readiness';
import { ServedClusters } from './served-clusters';

// The executor never touches the event store: it reports outcomes as commands.
@Module({
  imports: [PlatformModule.forRoot({ app: 'executor', mongo: false, readiness: executorReadiness })],
  controllers: [EventsController],
  providers: [
    {
      provide: HELMS,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => {
        const homeDir = config.EXECUTOR_HELM_HOME ?? join(tmpdir(), 'helm-rollback-executor');
        // Values files of operations a killed executor left behind may hold secrets: remove them at start.
        const tmpDir = join(homeDir, 'ops');
        await rm(tmpDir, { recursive: true, force: true });
        await mkdir(tmpDir, { recursive: true, mode: 0o700 });
        const credentials = loadRepositoryCredentials(config.CHART_REPOSITORY_CREDENTIALS_FILE);
        const env = helmEnvironment(process.env, config.HELM_ENV_PASSTHROUGH);
        // One Helm home for all: the pulled charts and repository caches are the same whatever the cluster.
        return new Map(
          executorClusters(config).map(({ name, kubeconfig }) => [name, new HelmCliAdapter({ helmBin: config.HELM_BIN, ...(kubeconfig ? { kubeconfig } : {}), homeDir, tmpDir, env, credentials })]),
        );
      },
    },
    ExecutorService,
    InventoryReporter,
    ManifestRenderer,
    ServedClusters,
  ],
})
export class ExecutorModule {}
