import { Topics } from '@app/contracts';
import { consumedTopic } from '@app/platform';

/** The Helm of each cluster the executor serves (ReadonlyMap<cluster, HelmPort>). */
export const HELMS = Symbol('HELMS');
export const EVENTS_TOPIC = consumedTopic(Topics.events);
export const DRIFT_CHECKS_TOPIC = consumedTopic(Topics.driftChecks);
export const RENDER_REQUESTS_TOPIC = consumedTopic(Topics.renderRequests);
export { EXECUTOR_SOURCE as SOURCE } from '@app/contracts';
export const CONSUMER_GROUP = 'executor';
