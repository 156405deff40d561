export * from './servers';
export * from './apps';
export * from './kafka';
export * from './chart-repo';
export * from './kube';
export * from './stack';
export * from './oci-registry';
