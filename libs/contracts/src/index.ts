export * from './topics';
export * from './schemas';
export * from './commands';
export * from './results';
export * from './events';
