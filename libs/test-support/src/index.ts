export * from './servers';
export * from './apps';
export * from './kafka';
