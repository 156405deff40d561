import { Topics } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { SERVICE_ACCESS } from './kafka-acls';
import { commandTopic } from './messaging';

describe('where commands travel', () => {
  const data = { releaseId: 'web' };
  it('puts the service own commands on the outcomes topic and every change on the commands topic', () => {
    const outcomes = ['RecordOperationResult', 'RecordDriftCheck', 'ExpireOperation', 'ReportUpgradeFailure'];
    const changes = ['InstallRelease', 'UpgradeRelease', 'RollbackRelease', 'RollbackToLastSuccessful', 'UninstallRelease', 'RetryOperation'];
    for (const type of outcomes) expect({ type, topic: commandTopic({ type, data } as unknown as ReleaseCommand) }).toEqual({ type, topic: Topics.outcomes });
    for (const type of changes) expect({ type, topic: commandTopic({ type, data } as unknown as ReleaseCommand) }).toEqual({ type, topic: Topics.commands });
  });

  it('lets only the apps that send outcomes write the outcomes topic, and the release service read it', () => {
    const writers = Object.entries(SERVICE_ACCESS).filter(([, a]) => a.write.includes(Topics.outcomes)).map(([app]) => app);
    expect(writers.sort()).toEqual(['executor', 'release-service', 'remediation']);
    expect(Object.entries(SERVICE_ACCESS).filter(([, a]) => a.read.includes(Topics.outcomes)).map(([app]) => app)).toEqual(['release-service']);
    expect(SERVICE_ACCESS.executor.write).not.toContain(Topics.commands);
  });
});
