export * from './helm.port';
export * from './helm-cli.adapter';
export * from './helm-env';
export * from './kube-api';
export * from './release-lease';
export * from './manifest-diff';
