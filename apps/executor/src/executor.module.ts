import { Module } from '@nestjs/common';
import { PlatformModule } from '@app/platform';

// The executor never touches the event store: it reports outcomes as commands.
@Module({
  imports: [PlatformModule.forRoot({ app: 'executor', mongo: false })],
})
export class ExecutorModule {}
