export * from './config';
export * from './kafka';
export * from './logging';
export * from './mongo';
export * from './metrics';
export * from './platform.constants';
export * from './platform.module';
export * from './bootstrap';
