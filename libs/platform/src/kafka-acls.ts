import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes, type AclEntry } from 'kafkajs';
import { Topics, type TopicName } from '@app/contracts';

/** What one app does on Kafka: the topics it writes and reads, the consumer groups it joins (a trailing `*`: a prefix). */
export interface AppAccess {
  write: readonly TopicName[];
  read: readonly TopicName[];
  groups: readonly string[];
}

/**
 * The least each app needs, as Kafka ACLs grant it on a broker that enforces them: only the release
 * service writes the events and the decisions, so no other principal can forge either; only the service's
 * apps write the outcomes topic (operation outcomes, drift findings, expiries, upgrade-failure reports), so
 * no other principal can forge an outcome; commands come from the api, remediation, the release service's
 * retries and whoever else is granted the commands topic. Every app may also create the topics (they
 * ensure them at start) under the topic prefix.
 */
export const SERVICE_ACCESS: Readonly<Record<'release-service' | 'api' | 'executor' | 'remediation', AppAccess>> = {
  'release-service': {
    write: [Topics.events, Topics.commandResults, Topics.commandsDlq, Topics.driftChecks, Topics.commands, Topics.outcomes],
    read: [Topics.commands, Topics.outcomes, Topics.inventory],
    groups: ['release-service*'],
  },
  // The api reads events for its live pages (Server-Sent Events) and render results for its previews,
  // each in a group of its own per instance.
  api: { write: [Topics.commands, Topics.renderRequests], read: [Topics.commandResults, Topics.events, Topics.renderResults], groups: ['api-replies-*', 'api-stream-*', 'api-renders-*'] },
  executor: { write: [Topics.outcomes, Topics.eventsDlq, Topics.inventory, Topics.renderResults], read: [Topics.events, Topics.driftChecks, Topics.renderRequests], groups: ['executor*'] },
  remediation: { write: [Topics.commands, Topics.outcomes, Topics.eventsDlq], read: [Topics.events, Topics.upgradeFailedSignals], groups: ['remediation*'] },
};

/** SERVICE_ACCESS as the ACL entries of a broker (kafkajs' createAcls): each app's principal by name, under the topic prefix. */
export const serviceAcls = (prefix: string, principals: Readonly<Record<keyof typeof SERVICE_ACCESS, string>>): AclEntry[] =>
  (Object.entries(SERVICE_ACCESS) as Array<[keyof typeof SERVICE_ACCESS, AppAccess]>).flatMap(([app, access]) => {
    const entry = (resourceType: AclResourceTypes, name: string, operation: AclOperationTypes): AclEntry => {
      const prefixed = name.endsWith('*');
      return {
        resourceType,
        resourceName: `${prefix}${prefixed ? name.slice(0, -1) : name}`,
        resourcePatternType: prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
        principal: `User:${principals[app]}`,
        host: '*',
        operation,
        permissionType: AclPermissionTypes.ALLOW,
      };
    };
    return [
      ...access.write.map((t) => entry(AclResourceTypes.TOPIC, t, AclOperationTypes.WRITE)),
      ...access.read.map((t) => entry(AclResourceTypes.TOPIC, t, AclOperationTypes.READ)),
      ...access.groups.map((g) => entry(AclResourceTypes.GROUP, g, AclOperationTypes.READ)),
      entry(AclResourceTypes.TOPIC, 'helm.release.*', AclOperationTypes.CREATE),
      entry(AclResourceTypes.TOPIC, 'helm.release.*', AclOperationTypes.DESCRIBE),
    ];
  });
