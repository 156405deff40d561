import 'reflect-metadata';
import { ALL_TOPICS } from '@app/contracts';
import { runMain, startConsumerApp } from '@app/platform';
import { CONSUMER_GROUP } from './remediation.constants';
import { RemediationModule } from './remediation.module';

runMain('remediation', () =>
  startConsumerApp(RemediationModule, {
    groupId: CONSUMER_GROUP,
    topics: ALL_TOPICS,
    port: (c) => c.REMEDIATION_PORT,
    // A new remediation group starts at the end of the log: it must not act on failures of the past.
    consumer: () => ({ fromBeginning: false }),
  }),
);
