/** Kafka topics of the service. Every topic that carries release traffic is keyed by releaseId. */
export const Topics = {
  /** Commands in: install, upgrade, rollback, rollback-last-successful, uninstall, retry. */
  commands: 'helm.release.commands',
  /**
   * The service's own commands (domain SYSTEM_ONLY): the executors' operation outcomes and drift findings,
   * the watchdog's expiries, remediation's upgrade-failure reports. Accepted from this topic only, which
   * only the executors, the release service and remediation may write (see SERVICE_ACCESS).
   */
  outcomes: 'helm.release.outcomes',
  /** One decision per command (accepted or rejected), for request/reply callers. */
  commandResults: 'helm.release.command-results',
  /** Revision events, in order per release. */
  events: 'helm.release.events',
  /** Messages on the commands topic that could not be parsed or validated, with the error. */
  commandsDlq: 'helm.release.commands.dlq',
  /** Release events a consumer (executor, remediation) refused: bounds or schema; header dlq-consumer says who. */
  eventsDlq: 'helm.release.events.dlq',
  /** Drift checks the release service asks of the executor (which reads Helm): one release each. */
  driftChecks: 'helm.release.drift-checks',
  /** Rendered-diff requests of the API's rollback previews, for an executor of the release's cluster. */
  renderRequests: 'helm.release.render-requests',
  /** The executors' answers to render requests: the diff of the manifests, or why there is none. */
  renderResults: 'helm.release.render-results',
  /** The Helm releases of a cluster as the executor lists them (key = cluster), for installs over foreign ones. */
  inventory: 'helm.release.inventory',
  /** Upgrade-failed signals published by other services (remediation input). */
  upgradeFailedSignals: 'helm.release.upgrade-failed',
  upgradeFailedSignalsDlq: 'helm.release.upgrade-failed.dlq',
} as const;
export type TopicName = (typeof Topics)[keyof typeof Topics];

export const ALL_TOPICS: readonly TopicName[] = Object.values(Topics);
