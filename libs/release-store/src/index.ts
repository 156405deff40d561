export * from './release-aggregate';
export * from './release-projection';
export * from './release-read-model';
export * from './release-audit';
export * from './release-names';
export * from './helm-inventory';
