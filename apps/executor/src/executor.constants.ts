import { Topics } from '@app/contracts';
import { loadConfig, topicName } from '@app/platform';

export const HELM = Symbol('HELM');
// Decorators are evaluated at import, so the consumed topic is named from the environment here.
export const EVENTS_TOPIC = topicName(loadConfig(), Topics.events);
export const SOURCE = 'urn:helm-rollback-service:executor';
export const CONSUMER_GROUP = 'executor';
