import { Topics } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { SERVICE_ACCESS } from './kafka-acls';
import { commandTopic, messageChunks } from './messaging';

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

describe('messageChunks: messages in chunks bounded by count and by bytes', () => {
  const message = (bytes: number) => ({ value: Buffer.alloc(bytes) });
  const sizes = (chunks: Array<Array<{ value: Buffer | null }>>) => chunks.map((c) => c.map((m) => m.value?.length ?? 0));

  it('cuts at the count for small messages', () => {
    expect([...messageChunks(Array.from({ length: 5 }, () => message(1)), 2, 1000)].map((c) => c.length)).toEqual([2, 2, 1]);
  });

  it('cuts before the bytes would pass the budget, keeping a larger message alone and every message once, in order', () => {
    const messages = [message(40), message(40), message(30), message(500), message(10), { value: null }];
    const chunks = [...messageChunks(messages, 10, 100)];
    expect(sizes(chunks)).toEqual([[40, 40], [30], [500], [10, 0]]);
    expect(chunks.flat()).toEqual(messages);
  });

  it('yields nothing for no messages', () => {
    expect([...messageChunks([], 10, 100)]).toEqual([]);
  });
});
