export * from './core/decider';
export * from './core/domain-error';
export * from './release/release.events';
export * from './release/release';
export * from './release/release.history';
export * from './release/release.commands';
export * from './release/release.decide';
export * from './release/release.views';
