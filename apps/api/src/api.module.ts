import { Module } from '@nestjs/common';
import { PlatformModule } from '@app/platform';

@Module({
  imports: [PlatformModule.forRoot({ app: 'api' })],
})
export class ApiModule {}
