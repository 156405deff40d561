import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import { CommandProcessor } from './command-processor';
import { COMMANDS_TOPIC } from './release-service.constants';

@Controller()
export class CommandsController {
  constructor(private readonly processor: CommandProcessor) {}

  @EventPattern(COMMANDS_TOPIC)
  handle(@Ctx() context: KafkaContext): Promise<void> {
    return this.processor.process(context.getMessage());
  }
}
