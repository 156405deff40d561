import { PlatformModule } from '@app/platform';
import { Module } from '@nestjs/common';
import { RemediationController } from './remediation.controller';

// Remediation never touches the event store: it reacts to events and issues commands.
@Module({
  imports: [PlatformModule.forRoot({ app: 'remediation', mongo: false })],
  controllers: [RemediationController],
})
export class RemediationModule {}
