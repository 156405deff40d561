/** The CloudEvents `source` of each app: how a message says which part of the service sent it. */
export const API_SOURCE = 'urn:helm-rollback-service:api';
export const EXECUTOR_SOURCE = 'urn:helm-rollback-service:executor';
export const REMEDIATION_SOURCE = 'urn:helm-rollback-service:remediation';
export const RELEASE_SERVICE_SOURCE = 'urn:helm-rollback-service:release-service';
