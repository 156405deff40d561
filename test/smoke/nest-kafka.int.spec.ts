import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientKafka, ClientsModule, EventPattern, MicroserviceOptions, Payload, Transport } from '@nestjs/microservices';
import { Kafka, logLevel } from 'kafkajs';
import { lastValueFrom } from 'rxjs';
import { testKafkaBrokers, uniqueSuffix, waitFor } from '@app/test-support';

const topic = `nest-smoke.${uniqueSuffix()}`;
const received: unknown[] = [];

@Controller()
class SmokeConsumer {
  @EventPattern(topic)
  handle(@Payload() payload: unknown): void {
    received.push(payload);
  }
}

@Module({ controllers: [SmokeConsumer] })
class SmokeModule {}

describe('@nestjs/microservices Kafka transport against the provisioned broker', () => {
  it('delivers an event emitted by ClientKafka to an @EventPattern handler in a consumer group', async () => {
    const brokers = testKafkaBrokers();
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

    const app = await NestFactory.createMicroservice<MicroserviceOptions>(SmokeModule, {
      logger: false,
      transport: Transport.KAFKA,
      options: {
        client: { clientId: 'nest-smoke', brokers, logLevel: logLevel.NOTHING },
        consumer: { groupId: `nest-smoke-${uniqueSuffix()}` },
        subscribe: { fromBeginning: true },
      },
    });
    await app.listen();

    const clientModule = await NestFactory.createApplicationContext(
      ClientsModule.register([
        {
          name: 'SMOKE',
          transport: Transport.KAFKA,
          options: { client: { clientId: 'nest-smoke-client', brokers, logLevel: logLevel.NOTHING }, producerOnly: true },
        },
      ]),
      { logger: false },
    );
    const client = clientModule.get<ClientKafka>('SMOKE');
    await client.connect();
    try {
      await lastValueFrom(client.emit(topic, { key: 'web', value: { rollback: 3 } }));
      await waitFor(() => received.length > 0, { what: 'the event', timeoutMs: 30_000 });
      expect(received[0]).toEqual({ rollback: 3 });
    } finally {
      await client.close();
      await clientModule.close();
      await app.close();
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    }
  });
});
