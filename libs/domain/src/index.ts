export * from './core/decider';
export * from './core/domain-error';
export * from './release/release';
export * from './release/release.decide';
export * from './release/release.views';
