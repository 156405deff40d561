import { MIB, MongoEventStore, OutboxDispatcher } from '@app/event-store';
import { HelmInventory, RELEASE_EVENT_SCHEMAS, ReleaseNames, ReleaseReadModel } from '@app/release-store';
import type { ValuesCipher } from '@app/contracts';
import { APP_CONFIG, AppConfig, MONGO_CONNECTION, PlatformModule, VALUES_CIPHER } from '@app/platform';
import { Module } from '@nestjs/common';
import type { Connection } from 'mongoose';
import { CommandProcessor } from './command-processor';
import { CommandConsumer } from './command-consumer';
import { DriftScheduler } from './drift-scheduler';
import { EventPublisher } from './event-publisher';
import { PartitionOwnership } from './partition-ownership';
import { RelayAndWatchdog } from './relay-and-watchdog.service';
import { InventoryConsumer } from './inventory-consumer';


@Module({
  imports: [PlatformModule.forRoot({ app: 'release-service' })],
  providers: [
    {
      provide: MongoEventStore,
      inject: [MONGO_CONNECTION, VALUES_CIPHER],
      useFactory: async (connection: Connection, cipher: ValuesCipher | null) => {
        const store = new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS, cipher: cipher ?? undefined });
        await store.ensureIndexes();
        return store;
      },
    },
    {
      provide: ReleaseReadModel,
      inject: [MONGO_CONNECTION, VALUES_CIPHER, APP_CONFIG],
      useFactory: async (connection: Connection, cipher: ValuesCipher | null, config: AppConfig) => {
        const readModel = new ReleaseReadModel(connection, '', cipher ?? undefined, config.VIEW_CACHE_MIB * MIB);
        await readModel.ensureIndexes();
        await readModel.upgradeStoredViews();
        return readModel;
      },
    },
    {
      provide: ReleaseNames,
      inject: [MONGO_CONNECTION, MongoEventStore, ReleaseReadModel],
      useFactory: async (connection: Connection, store: MongoEventStore, readModel: ReleaseReadModel) => {
        const names = new ReleaseNames(connection, store);
        await names.ensureIndexes();
        await names.backfill(readModel, new Date());
        return names;
      },
    },
    {
      provide: HelmInventory,
      inject: [MONGO_CONNECTION],
      useFactory: async (connection: Connection) => {
        const inventory = new HelmInventory(connection);
        await inventory.ensureIndexes();
        return inventory;
      },
    },
    EventPublisher,
    {
      provide: OutboxDispatcher,
      inject: [MongoEventStore, EventPublisher],
      useFactory: (store: MongoEventStore, publisher: EventPublisher) =>
        new OutboxDispatcher(store, (commit) => publisher.publishCommit(commit)),
    },
    CommandProcessor,
    PartitionOwnership,
    CommandConsumer,
    RelayAndWatchdog,
    DriftScheduler,
    InventoryConsumer,
  ],
})
export class ReleaseServiceModule {}
