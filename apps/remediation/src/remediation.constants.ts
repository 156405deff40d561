import { Topics } from '@app/contracts';
import { consumedTopic } from '@app/platform';

export const EVENTS_TOPIC = consumedTopic(Topics.events);
export const SIGNALS_TOPIC = consumedTopic(Topics.upgradeFailedSignals);
export const SOURCE = 'urn:helm-rollback-service:remediation';
export const CONSUMER_GROUP = 'remediation';
export const ACTOR = 'system:remediation';
