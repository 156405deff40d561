import { Module } from '@nestjs/common';
import { PlatformModule } from '@app/platform';

@Module({
  imports: [PlatformModule.forRoot({ app: 'release-service' })],
})
export class ReleaseServiceModule {}
