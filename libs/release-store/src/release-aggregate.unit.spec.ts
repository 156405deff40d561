import { upcast } from '@app/event-store';
import { RELEASE_EVENT_SCHEMAS } from './release-aggregate';

describe('release event schemas', () => {
  it('reads an operation event stored before releases had clusters as of the legacy cluster, and keeps a newer one as written', () => {
    const where = { streamId: 'web', version: 1 };
    const v1 = { releaseId: 'web', revision: 2, name: 'web', namespace: 'apps' };
    for (const type of ['InstallRequested', 'UpgradeRequested', 'RollbackRequested', 'UninstallRequested']) {
      expect(upcast(RELEASE_EVENT_SCHEMAS, { type, schemaVersion: 1, data: v1 }, where)).toEqual({ type, data: { ...v1, cluster: 'default' } });
      expect(upcast(RELEASE_EVENT_SCHEMAS, { type, schemaVersion: 2, data: { ...v1, cluster: 'b' } }, where).data).toMatchObject({ cluster: 'b' });
    }
    // Events that never named a cluster stay at version 1.
    expect(RELEASE_EVENT_SCHEMAS.current.RevisionDeployed).toBe(1);
  });
});
