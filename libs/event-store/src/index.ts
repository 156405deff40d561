export * from './errors';
export * from './upcasting';
export * from './mongo-event-store';
export * from './handle-command';
export * from './outbox';
export * from './release-read-model';
export * from './release-store';
export * from './audit';
