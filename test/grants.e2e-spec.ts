import { commandEvent, Topics } from '@app/contracts';
import { request, Stack, startStack, testConfig, uniqueSuffix, waitFor } from '@app/test-support';

// Clusters, grants, Kafka sources and freeze windows, decided by the real release service behind the real
// API on the real broker and database. The executor's part is played by this test (see releases.e2e-spec).
const ADMIN = 'admin-token-0123456789abc';
const ROLLBACKER = 'rollbacker-token-01234567';
const VIEWER_A = 'viewer-a-token-0123456789';

describe('clusters, grants and freeze windows (e2e)', () => {
  let stack: Stack<'releaseService' | 'api', 'results'>;

  const http = async (method: string, path: string, body?: unknown, token: string = ADMIN) => {
    const res = await request(stack.apps.api, method, `/api/v1/helm${path}`, { body, token });
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  };
  const install = (releaseId: string, cluster: string, namespace: string, extra: Record<string, unknown> = {}) =>
    http('POST', '/releases', { releaseId, cluster, namespace, chart: { name: 'web', repository: 'http://127.0.0.1:8879' }, chartVersion: '1.0.0', values: { v: 1 }, ...extra });
  const complete = async (releaseId: string) => {
    const release = (await http('GET', `/releases/${releaseId}`)).body;
    const id = `result-${uniqueSuffix()}`;
    const command = commandEvent(
      { type: 'RecordOperationResult', data: { releaseId, operationId: release.pendingOperationId, outcome: 'SUCCEEDED', helmRevision: release.currentRevision } },
      { id, source: 'urn:helm-rollback-service:executor', actor: 'executor', correlationId: id },
    );
    await stack.probe.send(Topics.outcomes, releaseId, JSON.stringify(command));
    await waitFor(async () => (await http('GET', `/releases/${releaseId}`)).body.pendingOperationId === null, { what: `${releaseId} to settle` });
  };
  const deployed = async (releaseId: string, cluster: string, namespace: string) => {
    expect((await install(releaseId, cluster, namespace)).status).toBe(202);
    await complete(releaseId);
    expect((await http('POST', `/releases/${releaseId}/upgrade`, { chartVersion: '1.1.0' })).status).toBe(202);
    await complete(releaseId);
  };
  const fromKafka = async (source: string, command: Parameters<typeof commandEvent>[0], topic: string = Topics.commands) => {
    const id = `kafka-${uniqueSuffix()}`;
    await stack.probe.send(topic, command.data.releaseId, JSON.stringify(commandEvent(command, { id, source, actor: 'claims-to-be-root', correlationId: id })));
    const result = await waitFor(() => stack.recorded.results.find((r) => (r.json() as { data: { commandId: string } }).data.commandId === id), { what: `the result of ${id}` });
    return (result.json() as { data: { outcome: string; error?: { code: string } } }).data;
  };

  beforeAll(async () => {
    stack = await startStack(
      testConfig({
        AUTH_TOKENS: `admin:ops:${ADMIN},scoped:ci:${ROLLBACKER},scoped:va:${VIEWER_A}`,
        AUTH_GRANTS: JSON.stringify([
          { subject: 'ci', role: 'rollbacker', clusters: ['a'], namespaces: ['payments-*'] },
          { subject: 'va', role: 'viewer', clusters: ['a'] },
          { source: 'urn:pipeline:*', role: 'deployer', clusters: ['b'] },
        ]),
        // Only the service's own apps are trusted as such here: the test plays the executor under its source.
        KAFKA_SYSTEM_SOURCES: 'urn:helm-rollback-service:*',
        CLUSTERS: JSON.stringify([{ name: 'a', kubeconfig: '/nowhere/a' }, { name: 'b', kubeconfig: '/nowhere/b', namespaces: ['apps', 'frozen'] }]),
        DEFAULT_CLUSTER: 'a',
        // Opens every minute for a minute: in force for the whole test.
        FREEZE_WINDOWS: JSON.stringify([{ name: 'release-freeze', cron: '* * * * *', durationMinutes: 1, clusters: ['b'], namespaces: ['frozen'] }]),
        REQUEST_TIMEOUT_MS: '15000',
      }),
      { apps: { releaseService: 'release-service', api: 'api' }, record: { results: [Topics.commandResults] } },
    );
    await deployed('payments-api', 'a', 'payments-api');
    await deployed('dns', 'a', 'kube-system');
    await deployed('web-b', 'b', 'apps');
  });

  afterAll(async () => {
    expect(await stack?.stop()).toEqual([0, 0]);
  });

  it('lists the clusters without how they are reached, and refuses an install in an unknown cluster or a closed namespace', async () => {
    const clusters = await http('GET', '/clusters', undefined, VIEWER_A);
    expect(clusters).toEqual({ status: 200, body: { items: [{ name: 'a', namespaces: null, default: true }, { name: 'b', namespaces: ['apps', 'frozen'], default: false }] } });
    expect(JSON.stringify(clusters.body)).not.toMatch(/nowhere/);
    expect(await install('lost', 'c', 'apps')).toMatchObject({ status: 422, body: { code: 'CLUSTER_UNKNOWN' } });
    expect(await install('sneaky', 'b', 'kube-system')).toMatchObject({ status: 403, body: { code: 'NAMESPACE_NOT_ALLOWED' } });
    // The default cluster is a's; a release stays in its cluster.
    expect((await http('GET', '/releases/payments-api')).body).toMatchObject({ cluster: 'a', namespace: 'payments-api' });
  });

  it('lets a rollbacker on payments-* roll back there, and refuses its upgrade and its reach into kube-system', async () => {
    const rollback = await http('POST', '/releases/payments-api/rollback', { targetRevision: 1, reason: 'latency' }, ROLLBACKER);
    expect(rollback).toMatchObject({ status: 202, body: { revision: 3, targetRevision: 1 } });
    await complete('payments-api');
    expect(await http('POST', '/releases/payments-api/upgrade', { chartVersion: '1.1.0' }, ROLLBACKER)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await http('POST', '/releases/payments-api/rollback/last-successful', {}, ROLLBACKER)).toMatchObject({ status: 409, body: { code: 'ALREADY_AT_LAST_SUCCESSFUL' } });
    // kube-system is not the rollbacker's to read, so not even its existence is told.
    expect(await http('POST', '/releases/dns/rollback', { targetRevision: 1 }, ROLLBACKER)).toMatchObject({ status: 404, body: { code: 'RELEASE_NOT_FOUND' } });
    expect(await http('GET', '/releases/dns', undefined, ROLLBACKER)).toMatchObject({ status: 404 });
    expect(await install('mine', 'a', 'payments-new', {})).toMatchObject({ status: 202 });
  });

  it("shows a viewer of cluster a a's releases only, in lists, reads, the log and Helm's listing", async () => {
    const list = await http('GET', '/releases', undefined, VIEWER_A);
    const ids = list.body.items.map((r: { releaseId: string }) => r.releaseId);
    expect(ids).toEqual(expect.arrayContaining(['payments-api', 'dns']));
    expect(ids).not.toContain('web-b');
    expect(list.body.items.every((r: { cluster: string }) => r.cluster === 'a')).toBe(true);
    expect(await http('GET', '/releases/web-b', undefined, VIEWER_A)).toMatchObject({ status: 404 });
    expect(await http('GET', '/releases/web-b/history', undefined, VIEWER_A)).toMatchObject({ status: 404 });
    const commits: Array<{ releaseId: string }> = [];
    for (let after: string | null = null, pages = 0; pages === 0 || (after && pages < 20); pages += 1) {
      const page: { body: { commits: Array<{ releaseId: string }>; next: string | null } } = await http('GET', `/events?limit=100${after ? `&after=${after}` : ''}`, undefined, VIEWER_A);
      commits.push(...page.body.commits);
      after = page.body.next;
    }
    expect(commits.some((c) => c.releaseId === 'web-b')).toBe(false);
    expect(commits.some((c) => c.releaseId === 'payments-api')).toBe(true);
    // A viewer changes nothing.
    expect(await http('POST', '/releases/dns/rollback', { targetRevision: 1 }, VIEWER_A)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
  });

  it('refuses Kafka commands from sources outside the allow-list, and records an allowed source as unauthenticated', async () => {
    expect(await fromKafka('urn:stranger', { type: 'RollbackRelease', data: { releaseId: 'web-b', targetRevision: 1 } })).toMatchObject({ outcome: 'REJECTED', error: { code: 'FORBIDDEN' } });
    // An outcome on the commands topic is refused, whatever source it claims: outcomes travel on the outcomes topic only.
    expect(await fromKafka('urn:pipeline:deploy', { type: 'RecordOperationResult', data: { releaseId: 'web-b', operationId: 'x', outcome: 'SUCCEEDED' } })).toMatchObject({
      outcome: 'REJECTED',
      error: { code: 'FORBIDDEN', message: expect.stringContaining('accepted only on helm.release.outcomes') },
    });
    // And a change on the outcomes topic is refused: what that topic carries is trusted as the service's own.
    expect(await fromKafka('urn:helm-rollback-service:executor', { type: 'RollbackRelease', data: { releaseId: 'web-b', targetRevision: 1 } }, Topics.outcomes)).toMatchObject({
      outcome: 'REJECTED',
      error: { code: 'FORBIDDEN', message: expect.stringContaining('is not an outcome') },
    });
    // Its grants are on cluster b only.
    expect(await fromKafka('urn:pipeline:deploy', { type: 'RollbackRelease', data: { releaseId: 'payments-api', targetRevision: 1 } })).toMatchObject({ outcome: 'REJECTED', error: { code: 'RELEASE_NOT_FOUND' } });
    expect(await fromKafka('urn:pipeline:deploy', { type: 'RollbackRelease', data: { releaseId: 'web-b', targetRevision: 1, reason: 'canary' } })).toMatchObject({ outcome: 'ACCEPTED' });
    const revisions = (await http('GET', '/releases/web-b/history')).body.revisions;
    expect(revisions.at(-1)).toMatchObject({ revision: 3, operation: 'ROLLBACK', requestedBy: 'urn:pipeline:deploy', unauthenticated: true });
    expect(revisions[0]).toMatchObject({ requestedBy: 'ops', unauthenticated: false });
    await complete('web-b');
  });

  it('refuses changes during a freeze window, naming it and its end, and records an admin breaking glass', async () => {
    const refused = await install('cold', 'b', 'frozen');
    expect(refused).toMatchObject({ status: 409, body: { code: 'CHANGE_FREEZE', window: 'release-freeze' } });
    expect(refused.body.detail).toMatch(/frozen by window 'release-freeze' until \d{4}-\d\d-\d\dT/);
    expect(Date.parse(refused.body.endsAt)).toBeGreaterThan(Date.now() - 60_000);
    // Other namespaces of b are not frozen.
    expect(await install('warm', 'b', 'apps')).toMatchObject({ status: 202 });
    const broken = await install('cold', 'b', 'frozen', { breakGlass: { reason: 'payments outage INC-42' } });
    expect(broken).toMatchObject({ status: 202, body: { revision: 1 } });
    const [revision] = (await http('GET', '/releases/cold/history')).body.revisions;
    expect(revision).toMatchObject({ requestedBy: 'ops', breakGlass: { reason: 'payments outage INC-42', window: 'release-freeze' } });
    const log = (await http('GET', '/releases/cold/events')).body.commits;
    expect(log[0].events[0]).toMatchObject({ type: 'InstallRequested', data: { cluster: 'b', breakGlass: { reason: 'payments outage INC-42', window: 'release-freeze' } } });
  });
});
