import { parseReleaseEvent, ValuesCipher } from '@app/contracts';
import { LOGGER, VALUES_CIPHER } from '@app/platform';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { EVENTS_TOPIC } from './executor.constants';
import { ExecutorService, isOperationRequested } from './executor.service';

@Controller()
export class EventsController {
  constructor(
    private readonly executor: ExecutorService,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {}

  @EventPattern(EVENTS_TOPIC)
  async handle(@Ctx() context: KafkaContext): Promise<void> {
    let received;
    try {
      received = parseReleaseEvent(context.getMessage().value as Buffer | null, this.cipher ?? undefined);
    } catch (error) {
      // Events come from the release service only; an unreadable one is logged, not retried forever.
      this.logger.error({ err: error, offset: context.getMessage().offset }, 'unreadable event skipped');
      return;
    }
    if (!received || !isOperationRequested(received.event)) return;
    await this.executor.execute({ ...received, event: received.event }, context.getHeartbeat());
  }
}
