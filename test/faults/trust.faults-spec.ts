import { commandEvent, releaseEventMessage, Topics } from '@app/contracts';
import type { ReleaseEvent } from '@app/domain';
import { envOf, request, Stack, startApp, startStack, testConfig, testKube, uniqueSuffix, waitFor } from '@app/test-support';
import { recordScenario } from './harness';

// The trust boundaries, each attack as a user tried it against a running service: path spellings that
// slipped past auth, values nested thousands deep, 5 MB and invalid UTF-8 messages on every consumed topic,
// chart repositories inside the network, secrets shown to viewers, and idempotency keys that squat the
// ids the system derives for its own commands.
const OPERATOR = `op-${uniqueSuffix()}-${uniqueSuffix()}`;
const OTHER_OPERATOR = `o2-${uniqueSuffix()}-${uniqueSuffix()}`;
const VIEWER = `vw-${uniqueSuffix()}-${uniqueSuffix()}`;

const deepJson = (levels: number, leaf = '1'): string => `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
const INVALID_UTF8 = Buffer.concat([Buffer.from('{"specversion":"1.0","id":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);

describe('faults: trust boundaries', () => {
  let stack: Stack<'service' | 'executor' | 'remediation' | 'api', 'commands' | 'results' | 'dlqs'>;
  const table: Array<{ input: string; edge: string; after: string }> = [];

  const http = async (method: string, path: string, init: { body?: string; token?: string | null; headers?: Record<string, string> } = {}) => {
    const res = await request(stack.apps.api, method, path, { ...init, token: init.token === undefined ? OPERATOR : init.token });
    const { text } = res;
    let body: Record<string, unknown> = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { text };
    }
    return { status: res.status, type: res.type, allow: res.allow, body, text };
  };
  const installBody = (releaseId: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ releaseId, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { a: 1 }, ...extra });
  const resultOf = (commandId: string) =>
    stack.recorded.results.map((r) => r.json() as { data: { commandId: string; outcome: string; error?: { code: string; message: string } } }).find((r) => r.data.commandId === commandId)?.data;

  beforeAll(async () => {
    const config = testConfig({
      AUTH_TOKENS: `operator:ops:${OPERATOR},operator:other:${OTHER_OPERATOR},viewer:ann:${VIEWER}`,
      REQUEST_TIMEOUT_MS: '20000',
      // Loopback written out is allowed; `localhost` is allowed by name but resolves to loopback.
      CHART_REPOSITORIES: 'http://127.0.0.1:*,http://localhost:*,https://charts.example.com/*',
    });
    stack = await startStack(config, {
      apps: { service: 'release-service', executor: 'executor', remediation: 'remediation', api: 'api' },
      // The executor is ready only with helm and a cluster that answers (it runs nothing here).
      env: { LOG_LEVEL: 'info', HELM_BIN: testKube().helmBin, KUBECONFIG: testKube().kubeconfig },
      record: { commands: [Topics.commands, Topics.outcomes], results: [Topics.commandResults], dlqs: [Topics.commandsDlq, Topics.eventsDlq, Topics.upgradeFailedSignalsDlq] },
    });
  });

  afterAll(async () => {
    // No process exited on its own because of what it read: each was still running, and stopped cleanly.
    expect(await stack?.stop()).toEqual([0, 0, 0, 0]);
    recordScenario('trust boundaries', { rows: table });
  });

  it('auth is decided on the matched route: other spellings of a route are no route (404), never data without a token', async () => {
    const doc = (await (await fetch(`${stack.apps.api.url}/docs-json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path: path.replace(/\{[^}]+\}/g, (p) => (p === '{revision}' ? '1' : 'web')) })));
    expect(routes.length).toBeGreaterThanOrEqual(14);
    const variants = (path: string) => [
      path.toUpperCase(),
      path.replace('/api/', '/Api/'),
      path.replace('helm', 'HELM'),
      `${path}/`,
      `/${path}`,
      path.replace('/v1/', '%2Fv1/'),
      path.replace(/\/([^/]+)$/, '%2F$1'),
    ];
    let checked = 0;
    for (const route of routes) {
      for (const variant of [...new Set(variants(route.path))].filter((v) => v !== route.path && v.startsWith('/'))) {
        const res = await http(route.method, variant, { token: null, ...(route.method === 'POST' ? { body: '{}' } : {}) });
        checked += 1;
        const refused = [401, 404, 405].includes(res.status) && res.type.startsWith('application/problem+json');
        expect({ route: `${route.method} ${variant}`, refused, status: res.status }).toEqual({ route: `${route.method} ${variant}`, refused: true, status: res.status });
      }
      if (route.path.startsWith('/api/')) expect((await http(route.method, route.path, { token: null, ...(route.method === 'POST' ? { body: '{}' } : {}) })).status).toBe(401);
    }
    expect(await http('GET', '/API/v1/helm/releases', { token: null })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await http('POST', '/API/v1/helm/releases/x/rollback', { token: null, body: '{}' })).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    const put = await http('PUT', '/api/v1/helm/releases', { body: '{}' });
    expect({ status: put.status, code: put.body.code, allow: put.allow }).toEqual({ status: 405, code: 'METHOD_NOT_ALLOWED', allow: 'GET, HEAD, POST' });
    table.push({ input: `${checked} case, slash and %2F spellings of ${routes.length} routes, no token`, edge: 'HTTP', after: '401/404/405 problem+json, no data' });
  });

  it('values nested 3,000 deep or over the size limit are refused over HTTP with 400 or 413, and the API keeps serving', async () => {
    const deep = await http('POST', '/api/v1/helm/releases', { body: `{"releaseId":"deep","namespace":"apps","chart":{"name":"web","repository":"http://127.0.0.1:1"},"chartVersion":"1.0.0","values":${deepJson(3_000)}}` });
    expect({ status: deep.status, code: deep.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    const deepInValues = await http('POST', '/api/v1/helm/releases', { body: installBody('deep2', { values: JSON.parse(deepJson(70)) }) });
    expect({ status: deepInValues.status, code: deepInValues.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    const huge = await http('POST', '/api/v1/helm/releases', { body: installBody('huge', { values: { blob: 'x'.repeat(300 * 1024) } }) });
    expect({ status: huge.status, code: huge.body.code }).toEqual({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    const proto = await http('POST', '/api/v1/helm/releases', { body: installBody('proto').replace('"values":{"a":1}', '"values":{"a":{"__proto__":{"polluted":true}}}') });
    expect({ status: proto.status, code: proto.body.code, detail: proto.body.detail }).toEqual({ status: 400, code: 'VALIDATION_FAILED', detail: expect.stringContaining("'__proto__'") });
    expect((await http('GET', '/api/v1/helm/releases')).status).toBe(200);
    table.push({ input: 'values 3,000 deep (18 KB); 300 KB values; __proto__ key', edge: 'HTTP', after: '400 / 413 / 400 problem+json' });
  });

  it('deep, 5 MB and invalid UTF-8 messages on every consumed topic are dead-lettered with a reason; the valid message after them is acted on', async () => {
    const tag = uniqueSuffix();
    const bad = (kind: string) => `bad-${tag}-${kind}`;
    const deepCommand = JSON.stringify(commandEvent({ type: 'InstallRelease', data: { releaseId: 'deep', namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: {} } }, { id: `deep-${tag}`, source: 'urn:test', actor: 't', correlationId: 'c' })).replace('"values":{}', `"values":${deepJson(3_000)}`);
    const huge = JSON.stringify({ specversion: '1.0', id: `huge-${tag}`, type: 'x', source: 'urn:test', data: { pad: 'x'.repeat(5 * 1024 * 1024) } });
    const poison: Array<[string, string | Buffer]> = [['deep', deepCommand], ['5mb', huge], ['utf8', INVALID_UTF8]];

    // Commands: the release service.
    for (const [kind, value] of poison) await stack.probe.send(Topics.commands, bad(`command-${kind}`), value);
    const validId = `valid-${tag}`;
    await stack.probe.send(Topics.commands, 'after-poison', JSON.stringify(commandEvent({ type: 'InstallRelease', data: JSON.parse(installBody('after-poison')) }, { id: validId, source: 'urn:test', actor: 't', correlationId: validId })));
    await waitFor(() => resultOf(validId)?.outcome === 'ACCEPTED', { timeoutMs: 60_000, what: 'the command after the poison answered' });

    // Events: the executor and remediation both consume them.
    const now = new Date().toISOString();
    const eventMessage = (event: ReleaseEvent, version: number) =>
      JSON.stringify(releaseEventMessage(event, { eventId: `ev-${tag}-${version}`, releaseId: 'probe-rel', streamVersion: version, time: now, source: 'urn:test', correlationId: `ev-${tag}`, causationId: 'c', actor: 't' }));
    const deepEvent = eventMessage({ type: 'RevisionFailed', data: { releaseId: 'probe-rel', revision: 2, operationId: 'op', operation: 'UPGRADE', error: 'x', timedOut: false, remediate: true, completedAt: now } }, 1).replace('"error":"x"', `"error":${deepJson(3_000, '"x"')}`);
    for (const [kind, value] of [['deep', deepEvent], ['5mb', huge], ['utf8', INVALID_UTF8]] as Array<[string, string | Buffer]>) {
      await stack.probe.send(Topics.events, bad(`event-${kind}`), value);
    }
    // Valid for the executor: a rollback from a repository the allow-list refuses; it must report, not run.
    const operationId = `op-${tag}`;
    await stack.probe.send(
      Topics.events,
      'probe-rel',
      eventMessage(
        {
          type: 'RollbackRequested',
          data: {
            releaseId: 'probe-rel', revision: 3, operationId, cluster: 'default', name: 'probe-rel', namespace: 'apps', requestedBy: 't', requestedAt: now, trigger: 'MANUAL',
            timeoutSeconds: 60, deadline: new Date(Date.now() + 600_000).toISOString(), chart: { name: 'web', repository: 'http://169.254.169.254/latest' },
            chartVersion: '1.0.0', values: {}, atomic: false, rollbackOf: 1, warnings: [],
          },
        },
        2,
      ),
    );
    // Valid for remediation: a failed upgrade to undo.
    await stack.probe.send(Topics.events, 'probe-rel', eventMessage({ type: 'RevisionFailed', data: { releaseId: 'probe-rel', revision: 4, operationId: 'op4', operation: 'UPGRADE', error: 'boom', timedOut: false, remediate: true, completedAt: now } }, 3));
    // Signals: remediation.
    for (const [kind, value] of poison) await stack.probe.send(Topics.upgradeFailedSignals, bad(`signal-${kind}`), value);
    const signalId = `sig-${tag}`;
    await stack.probe.send(Topics.upgradeFailedSignals, 'probe-rel', JSON.stringify({ specversion: '1.0', id: signalId, source: 'urn:smoke-tests', type: 'helm.release.upgrade-failed', data: { releaseId: 'probe-rel', revision: 4, reason: 'smoke test failed' } }));

    const sentCommand = (id: string) => stack.recorded.commands.map((c) => c.json() as { id: string; data: Record<string, unknown> }).find((c) => c.id === id);
    await waitFor(() => sentCommand(`outcome:${operationId}`), { timeoutMs: 60_000, what: "the executor's report of the refused rollback" });
    expect(sentCommand(`outcome:${operationId}`)!.data).toMatchObject({ outcome: 'FAILED', error: expect.stringMatching(/^REPOSITORY_NOT_ALLOWED: .*private, loopback or link-local|^REPOSITORY_NOT_ALLOWED: .*allow-list/) });
    await waitFor(() => sentCommand('remediate:probe-rel:4'), { timeoutMs: 60_000, what: "remediation's rollback after the poison" });
    await waitFor(() => sentCommand(`signal:${signalId}`), { timeoutMs: 60_000, what: "remediation's report of the signal after the poison" });

    // Every bad message parked, by each consumer that read it, with the reason; nothing else of ours.
    const expected = [
      ...['deep', '5mb', 'utf8'].map((k) => `${Topics.commandsDlq} ${bad(`command-${k}`)} release-service`),
      ...['deep', '5mb', 'utf8'].flatMap((k) => ['executor', 'remediation'].map((c) => `${Topics.eventsDlq} ${bad(`event-${k}`)} ${c}`)),
      ...['deep', '5mb', 'utf8'].map((k) => `${Topics.upgradeFailedSignalsDlq} ${bad(`signal-${k}`)} remediation`),
    ].sort();
    const parked = () => stack.recorded.dlqs.filter((d) => d.key?.startsWith(`bad-${tag}-`));
    await waitFor(() => parked().length >= expected.length, { timeoutMs: 60_000, what: 'the poison on the dead-letter topics' });
    // The valid messages were acted on after the poison, so every dead-letter has been written by now.
    expect(parked().map((d) => `${d.topic.slice(stack.config.KAFKA_TOPIC_PREFIX.length)} ${d.key} ${d.headers?.['dlq-consumer']?.toString()}`).sort()).toEqual(expected);
    for (const d of parked()) expect(d.headers?.['dlq-error']?.toString()).toMatch(/deeper than|over the limit|not valid UTF-8/);
    expect(stack.recorded.dlqs.filter((d) => !d.key?.startsWith(`bad-${tag}-`))).toEqual([]);
    for (const app of [stack.apps.service, stack.apps.executor, stack.apps.remediation]) expect(app.process.exitCode).toBeNull();
    // Still running after all that, and they stop cleanly; the tests below decide operations by hand.
    expect(await Promise.all([stack.apps.executor.stop(), stack.apps.remediation.stop()])).toEqual([0, 0]);
    table.push({ input: 'values 3,000 deep, 5 MB, invalid UTF-8, then a valid message', edge: 'commands (release service), events (executor, remediation), signals (remediation)', after: 'dead-lettered with the reason; valid one acted on; 0 exits' });
  }, 180_000);

  it('chart repositories: not on the allow-list, resolving inside the network, or with credentials are refused before anything is decided', async () => {
    const cases: Array<[string, number, string]> = [
      ['http://169.254.169.254/latest/meta-data', 422, 'REPOSITORY_NOT_ALLOWED'],
      ['https://evil.example.org/charts', 422, 'REPOSITORY_NOT_ALLOWED'],
      ['http://localhost:8879', 422, 'REPOSITORY_NOT_ALLOWED'],
      ['https://user:pw@charts.example.com/x', 400, 'VALIDATION_FAILED'],
    ];
    for (const [repository, status, code] of cases) {
      const res = await http('POST', '/api/v1/helm/releases', { body: installBody(`repo-${uniqueSuffix()}`, { chart: { name: 'web', repository } }) });
      expect({ repository, status: res.status, code: res.body.code }).toEqual({ repository, status, code });
    }
    expect((await http('POST', '/api/v1/helm/releases', { body: installBody('repo-ok') })).status).toBe(202);
    table.push({ input: 'repository 169.254.169.254, off-list host, localhost (resolves to loopback), user:pw@', edge: 'HTTP install', after: '422 REPOSITORY_NOT_ALLOWED / 400' });
  });

  it('viewers see keys and types of values and redacted error text; operators see them as they are', async () => {
    const id = `sec-${uniqueSuffix()}`;
    const values = { database: { url: 'postgres://app:hunter2@db/x' }, pwd: 's3cret', env: [{ name: 'DB_PASSWORD', value: 'envsecret' }] };
    const install = await http('POST', '/api/v1/helm/releases', { body: installBody(id, { values }) });
    expect(install.status).toBe(202);
    const errorText = `Error: pulling "https://u:leakedpw@charts.internal/x" failed: value 'quotedsecret' rejected`;
    const resultId = `res-${uniqueSuffix()}`;
    await stack.probe.send(Topics.outcomes, id, JSON.stringify(commandEvent({ type: 'RecordOperationResult', data: { releaseId: id, operationId: install.body.operationId as string, outcome: 'FAILED', error: errorText } }, { id: resultId, source: 'urn:test', actor: 'executor', correlationId: resultId })));
    await waitFor(async () => (await http('GET', `/api/v1/helm/releases/${id}`)).body.status === 'FAILED', { what: 'the install failed' });
    const secrets = /hunter2|s3cret|envsecret|leakedpw|quotedsecret/;
    for (const path of ['', '/history', '/revisions/1', '/events']) {
      const asViewer = await http('GET', `/api/v1/helm/releases/${id}${path}`, { token: VIEWER });
      expect({ path, status: asViewer.status }).toEqual({ path, status: 200 });
      expect({ path, leaked: asViewer.text.match(secrets)?.[0] ?? null }).toEqual({ path, leaked: null });
    }
    expect((await http('GET', '/api/v1/helm/events', { token: VIEWER })).text).not.toMatch(secrets);
    expect((await http('GET', `/api/v1/helm/releases/${id}/revisions/1`, { token: VIEWER })).body.values).toEqual({ database: { url: '<string>' }, pwd: '***', env: [{ name: '<string>', value: '<string>' }] });
    expect((await http('GET', `/api/v1/helm/releases/${id}`, { token: VIEWER })).body.lastError).toContain('failed');
    expect((await http('GET', `/api/v1/helm/releases/${id}/revisions/1`)).body.values).toEqual(values);
    expect((await http('GET', `/api/v1/helm/releases/${id}`)).body.lastError).toBe(errorText);
    table.push({ input: 'postgres://app:pw@, pwd, env[].value, error text with URL credentials and quoted values', edge: 'HTTP reads as viewer', after: 'types only, *** under secret keys, error text masked' });
  });

  it("idempotency keys are the caller's own: system prefixes refused, the same key of two callers two commands, repeated by one caller one", async () => {
    const id = `idem-${uniqueSuffix()}`;
    const install = await http('POST', '/api/v1/helm/releases', { body: installBody(id) });
    const operationId = install.body.operationId as string;
    for (const key of [`outcome:${operationId}`, `expire:${operationId}:1`, `retry:${id}:1:1`, `remediate:${id}:1`, 'api:other:some-key']) {
      const res = await http('POST', `/api/v1/helm/releases/${id}/rollback/last-successful`, { body: '{}', headers: { 'idempotency-key': key } });
      expect({ key, status: res.status, code: res.body.code }).toEqual({ key, status: 400, code: 'VALIDATION_FAILED' });
    }
    // The executor's real outcome is still its own command, decided as such.
    const outcomeId = `outcome:${operationId}`;
    await stack.probe.send(Topics.outcomes, id, JSON.stringify(commandEvent({ type: 'RecordOperationResult', data: { releaseId: id, operationId, outcome: 'SUCCEEDED', helmRevision: 1 } }, { id: outcomeId, source: 'urn:executor', actor: 'system:executor', correlationId: outcomeId })));
    await waitFor(() => resultOf(outcomeId), { what: 'the outcome decided' });
    expect(resultOf(outcomeId)).toMatchObject({ outcome: 'ACCEPTED' });
    const key = `upgrade-${uniqueSuffix()}`;
    const mine = await http('POST', `/api/v1/helm/releases/${id}/upgrade`, { body: '{"values":{"a":2}}', headers: { 'idempotency-key': key } });
    expect({ status: mine.status, commandId: mine.body.commandId }).toEqual({ status: 202, commandId: `api:ops:${key}` });
    const again = await http('POST', `/api/v1/helm/releases/${id}/upgrade`, { body: '{"values":{"a":2}}', headers: { 'idempotency-key': key } });
    expect(again.body).toEqual(mine.body);
    const reused = await http('POST', `/api/v1/helm/releases/${id}/upgrade`, { body: '{"values":{"a":9}}', headers: { 'idempotency-key': key } });
    expect({ status: reused.status, code: reused.body.code }).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
    // The same key from another caller is another command: decided on its own (here refused, as the
    // first upgrade is still in flight), never answered with the first caller's decision.
    const theirs = await http('POST', `/api/v1/helm/releases/${id}/upgrade`, { body: '{"values":{"a":3}}', token: OTHER_OPERATOR, headers: { 'idempotency-key': key } });
    expect({ status: theirs.status, code: theirs.body.code }).toEqual({ status: 409, code: 'OPERATION_IN_PROGRESS' });
    table.push({ input: 'Idempotency-Key outcome:<op>, expire:…, remediate:…; one key from two callers', edge: 'HTTP writes', after: '400; executor outcome decided as its own; keys scoped per caller; reused with other content 422' });
  });

  it('past API_MAX_IN_FLIGHT waiting requests, the API answers 503 with Retry-After instead of holding more', async () => {
    // An API on topics no release service reads: every request waits for its decision until the timeout.
    const lonely = testConfig({ AUTH_TOKENS: `operator:ops:${OPERATOR}` });
    const busyApi = await startApp('api', envOf(lonely, { API_MAX_IN_FLIGHT: '2', REQUEST_TIMEOUT_MS: '3000' }));
    try {
      const answers = await Promise.all(
        Array.from({ length: 5 }, async (_, i) => {
          const res = await fetch(`${busyApi.url}/api/v1/helm/releases/busy-${i}/rollback/last-successful`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, body: '{}' });
          return { status: res.status, retryAfter: res.headers.get('retry-after'), code: ((await res.json()) as { code: string }).code };
        }),
      );
      const sorted = answers.map((a) => `${a.status} ${a.code} ${a.retryAfter ?? '-'}`).sort();
      expect(sorted).toEqual(['503 UNAVAILABLE 1', '503 UNAVAILABLE 1', '503 UNAVAILABLE 1', '504 TIMEOUT -', '504 TIMEOUT -']);
      table.push({ input: '5 concurrent writes with API_MAX_IN_FLIGHT=2 and no decisions coming', edge: 'HTTP', after: '2 wait (504 at the timeout), 3 get 503 Retry-After: 1' });
    } finally {
      expect(await busyApi.stop()).toBe(0);
    }
  });
});
