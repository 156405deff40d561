import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC } from './platform.constants';

/** Marks a route (or a controller's routes) as open without a token: only probes and scrapes are. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);
