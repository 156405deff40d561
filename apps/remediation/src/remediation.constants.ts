import { Topics } from '@app/contracts';
import { consumedTopic } from '@app/platform';

export const EVENTS_TOPIC = consumedTopic(Topics.events);
export const SIGNALS_TOPIC = consumedTopic(Topics.upgradeFailedSignals);
export { REMEDIATION_SOURCE as SOURCE } from '@app/contracts';
export const CONSUMER_GROUP = 'remediation';
export const ACTOR = 'system:remediation';
