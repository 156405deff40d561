import { commandEvent, Topics } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { request, Stack, startStack, testConfig, uniqueSuffix, waitFor } from '@app/test-support';

// The apps run as separate processes on the real broker and database. The executor's part (reporting
// an operation's outcome) is played by this test publishing operation-result commands on the real outcomes topic.
const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';

describe('rollback commands over Kafka and the REST API (e2e)', () => {
  let stack: Stack<'releaseService' | 'api', 'events' | 'results' | 'dlq'>;

  const http = async (method: string, path: string, body?: unknown, token: string | null = OPERATOR, headers: Record<string, string> = {}) => {
    const res = await request(stack.apps.api, method, `/api/v1/helm${path}`, { body, token, headers });
    return { status: res.status, type: res.type, body: res.text ? JSON.parse(res.text) : null };
  };

  const installBody = (releaseId: string, values: Record<string, unknown> = { replicas: 1, greeting: 'hi "there"' }) => ({
    releaseId,
    namespace: 'apps',
    chart: { name: 'web', repository: 'http://127.0.0.1:8879' },
    chartVersion: '1.0.0',
    values,
  });

  /** Plays the executor: reports the outcome of the release's pending operation as a command. */
  const complete = async (releaseId: string, outcome: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') => {
    const release = (await http('GET', `/releases/${releaseId}`, undefined, VIEWER)).body;
    expect(release.pendingOperationId).toBeTruthy();
    const id = `result-${uniqueSuffix()}`;
    const command = commandEvent(
      { type: 'RecordOperationResult', data: { releaseId, operationId: release.pendingOperationId, outcome, ...(outcome === 'FAILED' ? { error: 'helm: timed out waiting for the condition' } : { helmRevision: release.currentRevision }) } },
      { id, source: 'urn:test:executor', actor: 'executor', correlationId: id },
    );
    await stack.probe.send(Topics.outcomes, releaseId, JSON.stringify(command));
    await waitFor(async () => (await http('GET', `/releases/${releaseId}`, undefined, VIEWER)).body.pendingOperationId === null, { what: `${releaseId} to settle` });
  };

  /** A release at revision 2, idle: installed 1.0.0 and upgraded to 1.1.0, both reported deployed. */
  const installAndUpgrade = async (releaseId: string) => {
    await http('POST', '/releases', installBody(releaseId));
    await complete(releaseId);
    await http('POST', `/releases/${releaseId}/upgrade`, { chartVersion: '1.1.0' });
    await complete(releaseId);
  };
  const history = async (releaseId: string) => (await http('GET', `/releases/${releaseId}/history`, undefined, VIEWER)).body.revisions;
  const commitCount = async (releaseId: string) => (await http('GET', `/releases/${releaseId}/events?limit=100`, undefined, VIEWER)).body.commits.length;

  beforeAll(async () => {
    stack = await startStack(
      testConfig({ AUTH_TOKENS: `operator:ops:${OPERATOR},viewer:ann:${VIEWER}`, REQUEST_TIMEOUT_MS: '15000', VALUES_VIEWER_VISIBLE_PATHS: 'replicas,greeting' }),
      { apps: { releaseService: 'release-service', api: 'api' }, record: { events: [Topics.events], results: [Topics.commandResults], dlq: [Topics.commandsDlq] } },
    );
  });

  afterAll(async () => {
    // A clean SIGTERM shutdown is part of the contract.
    expect(await stack?.stop()).toEqual([0, 0]);
  });

  it('runs the seed scenario: install 1.0.0, upgrade 1.1.0, rollback to 1 gives revision 3 with chart 1.0.0', async () => {
    const id = 'seed';
    const install = await http('POST', '/releases', installBody(id));
    expect(install).toMatchObject({ status: 202, body: { releaseId: id, revision: 1, status: 'PENDING_INSTALL' } });
    expect(install.body.operationId).toBeTruthy();
    await complete(id);
    const upgrade = await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0', values: { replicas: 3 } });
    expect(upgrade).toMatchObject({ status: 202, body: { revision: 2, status: 'PENDING_UPGRADE', chartVersion: '1.1.0' } });
    await complete(id);
    const rollback = await http('POST', `/releases/${id}/rollback`, { targetRevision: 1, reason: 'checkout broke' });
    expect(rollback).toMatchObject({
      status: 202,
      body: { releaseId: id, revision: 3, status: 'PENDING_ROLLBACK', targetRevision: 1, chartVersion: '1.0.0' },
    });
    await complete(id);

    const revisions = await history(id);
    expect(revisions.map((r: { revision: number; operation: string; chartVersion: string; status: string }) => [r.revision, r.operation, r.chartVersion, r.status])).toEqual([
      [1, 'INSTALL', '1.0.0', 'DEPLOYED'],
      [2, 'UPGRADE', '1.1.0', 'DEPLOYED'],
      [3, 'ROLLBACK', '1.0.0', 'DEPLOYED'],
    ]);
    expect(revisions[2]).toMatchObject({ rollbackOf: 1, trigger: 'MANUAL', requestedBy: 'ops', reason: 'checkout broke' });
    const rev1 = (await http('GET', `/releases/${id}/revisions/1`, undefined, VIEWER)).body;
    const rev3 = (await http('GET', `/releases/${id}/revisions/3`, undefined, VIEWER)).body;
    expect(rev3.values).toEqual({ replicas: 1, greeting: 'hi "there"' });
    expect(rev3.values).toEqual(rev1.values);
    expect((await http('GET', `/releases/${id}`, undefined, VIEWER)).body).toMatchObject({ status: 'DEPLOYED', currentRevision: 3, lastSuccessfulRevision: 3 });

    // On the events topic: revision 3 requested (PENDING_ROLLBACK), then deployed, in order.
    await waitFor(() => stack.recorded.events.filter((e) => e.key === id).length >= 6, { what: 'six events of the seed release' });
    const ofSeed = stack.recorded.events.filter((e) => e.key === id).map((e) => e.json() as { type: string; data: { revision: number } });
    const rollbackEvents = ofSeed.filter((e) => e.data.revision === 3).map((e) => e.type);
    expect(rollbackEvents).toEqual(['helm.release.event.RollbackRequested', 'helm.release.event.RevisionDeployed']);
    expect(ofSeed.map((e) => e.type)).toEqual([
      'helm.release.event.InstallRequested',
      'helm.release.event.RevisionDeployed',
      'helm.release.event.UpgradeRequested',
      'helm.release.event.RevisionDeployed',
      'helm.release.event.RollbackRequested',
      'helm.release.event.RevisionDeployed',
    ]);
  });

  it('refuses invalid targets with a 4xx code and appends nothing', async () => {
    const id = 'targets';
    await installAndUpgrade(id);
    const before = await commitCount(id);
    for (const body of [{ targetRevision: 0 }, { targetRevision: -1 }, { targetRevision: '3' }, { targetRevision: 2.5 }, {}]) {
      const res = await http('POST', `/releases/${id}/rollback`, body);
      expect(res).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', validRevisions: [1, 2] } });
      expect(res.type).toMatch(/application\/problem\+json/);
      expect(res.body.detail).toMatch(/valid revisions: 1, 2/);
    }
    const missing = await http('POST', `/releases/${id}/rollback`, { targetRevision: 99 });
    expect(missing).toMatchObject({ status: 422, body: { code: 'REVISION_NOT_FOUND' } });
    expect(missing.body.detail).toMatch(/valid revisions: 1, 2/);
    expect(await commitCount(id)).toBe(before);
  });

  it('answers 409 OPERATION_IN_PROGRESS while an operation is in flight', async () => {
    const id = 'busy';
    await http('POST', '/releases', installBody(id));
    await complete(id);
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0' });
    const res = await http('POST', `/releases/${id}/rollback`, { targetRevision: 1 });
    expect(res).toMatchObject({ status: 409, body: { code: 'OPERATION_IN_PROGRESS' } });
    await complete(id);
  });

  it('keeps one Helm release to one release id: another id naming the same namespace and name gets 409 RELEASE_NAME_TAKEN', async () => {
    const first = await http('POST', '/releases', { ...installBody('named-a'), name: 'storefront' });
    expect(first.status).toBe(202);
    const second = await http('POST', '/releases', { ...installBody('named-b'), name: 'storefront' });
    expect(second).toMatchObject({ status: 409, body: { code: 'RELEASE_NAME_TAKEN', namespace: 'apps', name: 'storefront', heldBy: 'named-a' } });
    expect((await http('GET', '/releases/named-b', undefined, VIEWER)).status).toBe(404);
    // The same name in another namespace is another Helm release.
    expect((await http('POST', '/releases', { ...installBody('named-c'), namespace: 'shop', name: 'storefront' })).status).toBe(202);
    await complete('named-a');
    await complete('named-c');
  });

  it('claims the names of a batch of installs as one at a time would: of two ids naming one Helm release, the first holds it', async () => {
    // One request on one partition: one batch for the release service, which prepares its installs together.
    const install = (releaseId: string, name: string) => {
      const id = `batch-${uniqueSuffix()}`;
      return { id, message: { key: releaseId, partition: 0, value: JSON.stringify(commandEvent({ type: 'InstallRelease', data: { ...installBody(releaseId, { replicas: 1 }), name } } as ReleaseCommand, { id, source: 'urn:test:deployer', actor: 'deployer', correlationId: id })) } };
    };
    const first = install('batch-first', 'batch-shared');
    const second = install('batch-second', 'batch-shared');
    const others = Array.from({ length: 20 }, (_, i) => install(`batch-other-${i}`, `batch-own-${i}`));
    const sent = [first, ...others.slice(0, 10), second, ...others.slice(10)];
    await stack.probe.sendMany(Topics.commands, sent.map((s) => s.message));
    const resultOf = (id: string) => stack.recorded.results.map((r) => (r.json() as { data: { commandId: string; outcome: string; error?: { code: string; details?: unknown } } }).data).find((d) => d.commandId === id);
    await waitFor(() => sent.every((s) => resultOf(s.id)), { what: 'a result for every install of the batch' });
    expect(resultOf(first.id)).toMatchObject({ outcome: 'ACCEPTED' });
    expect(resultOf(second.id)).toMatchObject({ outcome: 'REJECTED', error: { code: 'RELEASE_NAME_TAKEN', details: { heldBy: 'batch-first' } } });
    expect(others.map((o) => resultOf(o.id)?.outcome)).toEqual(others.map(() => 'ACCEPTED'));
  });

  it('rolls back to the last successful revision after a failed upgrade, with its 409 cases', async () => {
    const id = 'lastgood';
    await http('POST', '/releases', installBody(id));
    await complete(id, 'FAILED');
    expect(await http('POST', `/releases/${id}/rollback/last-successful`)).toMatchObject({ status: 409, body: { code: 'NO_SUCCESSFUL_REVISION' } });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.0.1' });
    await complete(id);
    expect(await http('POST', `/releases/${id}/rollback/last-successful`, {})).toMatchObject({ status: 409, body: { code: 'ALREADY_AT_LAST_SUCCESSFUL' } });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.2.0' });
    await complete(id, 'FAILED');
    const plan = await http('POST', `/releases/${id}/rollback/last-successful?dryRun=true`, {});
    expect(plan).toMatchObject({ status: 200, body: { dryRun: true, revision: 4, targetRevision: 2, chartVersion: { from: '1.2.0', to: '1.0.1' } } });
    const res = await http('POST', `/releases/${id}/rollback/last-successful`, { reason: 'upgrade to 1.2.0 failed' });
    expect(res).toMatchObject({ status: 202, body: { revision: 4, targetRevision: 2, chartVersion: '1.0.1', status: 'PENDING_ROLLBACK' } });
    await complete(id);
    expect((await history(id)).map((r: { status: string }) => r.status)).toEqual(['FAILED', 'DEPLOYED', 'FAILED', 'DEPLOYED']);
    // The history a page at a time.
    const page = async (query: string) => (await http('GET', `/releases/${id}/history?${query}`, undefined, VIEWER)).body;
    expect(await page('limit=3')).toMatchObject({ revisions: [{ revision: 1 }, { revision: 2 }, { revision: 3 }], nextAfterRevision: 3 });
    expect(await page('limit=3&afterRevision=3')).toMatchObject({ revisions: [{ revision: 4 }], nextAfterRevision: null });
    expect(await page('afterRevision=4')).toEqual({ releaseId: id, revisions: [], nextAfterRevision: null });
    // The event log a page at a time too: 8 commits (4 requests, 4 outcomes).
    const log = async (query: string) => (await http('GET', `/releases/${id}/events?${query}`, undefined, VIEWER)).body;
    const first = await log('limit=5');
    expect(first.commits.map((c: { version: number }) => c.version)).toEqual([1, 2, 3, 4, 5]);
    expect(first.nextAfterVersion).toBe(5);
    expect(await log('limit=5&afterVersion=5')).toMatchObject({ commits: [{ version: 6 }, { version: 7 }, { version: 8 }], nextAfterVersion: null });
    expect(await http('GET', `/releases/${id}/history?limit=0`, undefined, VIEWER)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('20 concurrent rollbacks of one release: exactly one 202, the rest 409, contiguous history', async () => {
    const id = 'stampede';
    await installAndUpgrade(id);
    const answers = await Promise.all(Array.from({ length: 20 }, () => http('POST', `/releases/${id}/rollback`, { targetRevision: 1 })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'OPERATION_IN_PROGRESS')).toBe(true);
    expect((await history(id)).map((r: { revision: number }) => r.revision)).toEqual([1, 2, 3]);
  });

  it('applies a rollback published straight to Kafka by another service, once per command id', async () => {
    const id = 'fromkafka';
    await installAndUpgrade(id);
    const commandId = `svc-${uniqueSuffix()}`;
    const message = JSON.stringify(
      commandEvent({ type: 'RollbackRelease', data: { releaseId: id, targetRevision: 1, reason: 'canary failed' } }, { id: commandId, source: 'urn:test:deployer', actor: 'deployer', correlationId: commandId }),
    );
    await stack.probe.send(Topics.commands, id, message);
    await stack.probe.send(Topics.commands, id, message);
    const forCommand = () => stack.recorded.results.filter((r) => (r.json() as { data: { commandId: string } }).data.commandId === commandId);
    await waitFor(() => forCommand().length >= 2, { what: 'two results for the command' });
    const [first, second] = forCommand().map((r) => (r.json() as { data: unknown }).data);
    expect(first).toMatchObject({ outcome: 'ACCEPTED', decision: { revision: 3, targetRevision: 1 } });
    expect(second).toEqual(first);
    expect((await history(id)).map((r: { revision: number }) => r.revision)).toEqual([1, 2, 3]);
  });

  it('dead-letters malformed JSON, an unknown type and a 5 MB message; a valid command behind them still runs', async () => {
    const id = 'poison';
    await http('POST', '/releases', installBody(id));
    await complete(id);
    const valid = commandEvent({ type: 'UninstallRelease', data: { releaseId: id } }, { id: `valid-${uniqueSuffix()}`, source: 'urn:test', actor: 't', correlationId: 'c' });
    const unknown = { ...JSON.parse(JSON.stringify(valid)), id: `unk-${uniqueSuffix()}`, type: 'helm.release.command.explode' };
    const huge = JSON.stringify({ ...JSON.parse(JSON.stringify(valid)), id: `huge-${uniqueSuffix()}`, data: { releaseId: id, padding: 'x'.repeat(5 * 1024 * 1024) } });
    // Same key, so the same partition: the valid command waits behind the three bad ones.
    await stack.probe.send(Topics.commands, id, '{"specversion": "1.0", "id": ');
    await stack.probe.send(Topics.commands, id, JSON.stringify(unknown));
    await stack.probe.send(Topics.commands, id, huge);
    await stack.probe.send(Topics.commands, id, JSON.stringify(valid));
    await waitFor(async () => (await http('GET', `/releases/${id}`, undefined, VIEWER)).body.status === 'PENDING_UNINSTALL', { what: 'the valid command to apply' });
    const ours = () => stack.recorded.dlq.filter((m) => m.key === id);
    await waitFor(() => ours().length >= 3, { what: 'three dead letters' });
    expect(ours()).toHaveLength(3);
    const reasons = ours().map((m) => m.headers!['dlq-error']!.toString());
    expect(reasons[0]).toMatch(/not JSON/);
    expect(reasons[1]).toMatch(/unknown command type 'helm.release.command.explode'/);
    // Refused by its size before it is parsed at all.
    expect(reasons[2]).toMatch(/message of \d+ bytes is over the limit of 1048576/);
    expect(ours()[2].value!.length).toBeGreaterThan(5 * 1024 * 1024);
    expect(ours()[0].value!.toString()).toBe('{"specversion": "1.0", "id": ');
  });

  it('answers 401 without a token and 403 to a viewer on writes', async () => {
    expect(await http('GET', '/releases', undefined, null)).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    expect(await http('GET', '/releases', undefined, 'not-a-real-token-at-all')).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED' } });
    for (const [method, path, body] of [
      ['POST', '/releases', installBody('viewer-try')],
      ['POST', '/releases/seed/upgrade', { chartVersion: '2.0.0' }],
      ['POST', '/releases/seed/rollback', { targetRevision: 1 }],
      ['POST', '/releases/seed/rollback/last-successful', {}],
      ['DELETE', '/releases/seed', undefined],
    ] as const) {
      expect(await http(method, path, body, VIEWER)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    }
    expect((await http('GET', '/releases', undefined, VIEWER)).status).toBe(200);
    // Tokens never reach the logs.
    expect(stack.apps.api.output()).not.toContain(OPERATOR);
    expect(stack.apps.api.output()).not.toContain(VIEWER);
  });

  it('shows viewers the keys and types of values (and the declared non-secret paths), operators the values, on every read route', async () => {
    const id = 'secrets';
    await http('POST', '/releases', installBody(id, { db: { password: 'hunter2-secret', user: 'app' }, replicas: 2 }));
    const asViewer = (await http('GET', `/releases/${id}/revisions/1`, undefined, VIEWER)).body;
    expect(asViewer.values).toEqual({ db: { password: '***', user: '<string>' }, replicas: 2 });
    expect(asViewer.valuesRedacted).toBe(true);
    expect((await http('GET', `/releases/${id}/revisions/1`, undefined, OPERATOR)).body.values.db.password).toBe('hunter2-secret');
    const log = JSON.stringify((await http('GET', `/releases/${id}/events`, undefined, VIEWER)).body);
    expect(log).not.toContain('hunter2-secret');
    expect(log).toContain('"password":"***"');
    for (const path of ['', '/history']) {
      expect(JSON.stringify((await http('GET', `/releases/${id}${path}`, undefined, VIEWER)).body)).not.toContain('hunter2-secret');
    }
    // Values never reach the logs of any app.
    expect(stack.apps.api.output()).not.toContain('hunter2-secret');
    expect(stack.apps.releaseService.output()).not.toContain('hunter2-secret');
  });

  it('answers unknown releases and malformed bodies with problem+json, never a 500', async () => {
    expect(await http('GET', '/releases/nope', undefined, VIEWER)).toMatchObject({ status: 404, body: { code: 'RELEASE_NOT_FOUND' } });
    expect(await http('GET', '/releases/Not_A_Label', undefined, VIEWER)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await http('POST', '/releases', '{"releaseId": ')).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await http('POST', '/releases', { ...installBody('x'), chart: { name: 'web', repository: 'file:///etc' } })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('documents in its OpenAPI document the problem codes it answers, per route and status, and the Idempotency-Key', async () => {
    type Problem = { properties: { code: { enum: string[] } } };
    type Operation = { parameters?: Array<{ name: string; in: string }>; responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }> };
    const doc = (await (await fetch(`${stack.apps.api.url}/docs-json`)).json()) as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Problem> } };
    const rollbackRoute = doc.paths['/api/v1/helm/releases/{releaseId}/rollback'].post;
    // Each status refers to its problem schema in the components.
    const documented = (status: number) => doc.components.schemas[rollbackRoute.responses[String(status)].content!['application/problem+json'].schema.$ref.split('/').pop()!].properties.code.enum;
    const releaseId = `doc-${uniqueSuffix()}`;
    await installAndUpgrade(releaseId);
    const answers = [
      await http('POST', `/releases/${releaseId}/rollback`, { targetRevision: 'one' }),
      await http('POST', `/releases/absent-${releaseId}/rollback`, { targetRevision: 1 }),
      await http('POST', `/releases/${releaseId}/rollback`, { targetRevision: 9 }),
      await http('POST', `/releases/${releaseId}/rollback`, { targetRevision: 1 }, VIEWER),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 404, 422, 403]);
    for (const answer of answers) expect({ status: answer.status, documented: documented(answer.status) }).toEqual({ status: answer.status, documented: expect.arrayContaining([answer.body.code]) });
    expect(rollbackRoute.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }));
  });
});
