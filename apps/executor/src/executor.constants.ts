import { Topics } from '@app/contracts';
import { consumedTopic } from '@app/platform';

export const HELM = Symbol('HELM');
export const EVENTS_TOPIC = consumedTopic(Topics.events);
export const DRIFT_CHECKS_TOPIC = consumedTopic(Topics.driftChecks);
export { EXECUTOR_SOURCE as SOURCE } from '@app/contracts';
export const CONSUMER_GROUP = 'executor';
