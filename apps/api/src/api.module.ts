import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import type { Connection } from 'mongoose';
import { MongoEventStore } from '@app/event-store';
import { HelmInventory, RELEASE_EVENT_SCHEMAS, ReleaseReadModel } from '@app/release-store';
import type { ValuesCipher } from '@app/contracts';
import { MONGO_CONNECTION, PlatformModule, VALUES_CIPHER } from '@app/platform';

import { AuthGuard } from './auth.guard';
import { CommandBus } from './command-bus.service';
import { DryRunService } from './dry-run.service';
import { ReleaseQueries } from './release-queries.service';
import { ProblemFilter } from './problem';
import { ClustersController, HelmReleasesController } from './helm-releases.controller';
import { LogController } from './log.controller';
import { ReleasesController } from './releases.controller';
import { ReleaseStream } from './release-stream.service';
import { RenderClient } from './render-client.service';
import { ReleaseWatchController } from './release-watch.controller';
import { SessionController } from './session.controller';

@Module({
  imports: [PlatformModule.forRoot({ app: 'api' })],
  controllers: [ReleasesController, ReleaseWatchController, LogController, HelmReleasesController, ClustersController, SessionController],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_FILTER, useClass: ProblemFilter },
    CommandBus,
    DryRunService,
    ReleaseStream,
    RenderClient,
    ReleaseQueries,
    // The API only reads: the read model, and the raw log for the audit route.
    { provide: ReleaseReadModel, inject: [MONGO_CONNECTION, VALUES_CIPHER], useFactory: (c: Connection, cipher: ValuesCipher | null) => new ReleaseReadModel(c, '', cipher ?? undefined) },
    { provide: HelmInventory, inject: [MONGO_CONNECTION], useFactory: (c: Connection) => new HelmInventory(c) },
    {
      provide: MongoEventStore,
      inject: [MONGO_CONNECTION, VALUES_CIPHER],
      useFactory: (c: Connection, cipher: ValuesCipher | null) => new MongoEventStore(c, { schemas: RELEASE_EVENT_SCHEMAS, cipher: cipher ?? undefined }),
    },
  ],
})
export class ApiModule {}
