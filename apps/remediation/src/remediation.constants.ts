import { Topics } from '@app/contracts';
import { loadConfig, topicName } from '@app/platform';

const config = loadConfig();
// Decorators are evaluated at import, so the consumed topics are named from the environment here.
export const EVENTS_TOPIC = topicName(config, Topics.events);
export const SIGNALS_TOPIC = topicName(config, Topics.upgradeFailedSignals);
export const SOURCE = 'urn:helm-rollback-service:remediation';
export const CONSUMER_GROUP = 'remediation';
export const ACTOR = 'system:remediation';
