import { Topics } from '@app/contracts';
import { consumedTopic } from '@app/platform';

export const HELM = Symbol('HELM');
export const EVENTS_TOPIC = consumedTopic(Topics.events);
export const DRIFT_CHECKS_TOPIC = consumedTopic(Topics.driftChecks);
export const SOURCE = 'urn:helm-rollback-service:executor';
export const CONSUMER_GROUP = 'executor';
