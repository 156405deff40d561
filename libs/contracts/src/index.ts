export * from './topics';
export * from './schemas';
export * from './commands';
export * from './results';
export * from './events';
export * from './values-cipher';
