import { commandEvent, Topics } from '@app/contracts';
import { request, Stack, startStack, testConfig, uniqueSuffix, waitFor } from '@app/test-support';
import fc from 'fast-check';
import mongoose, { Connection } from 'mongoose';
import { answerIndex, checkInvariants, commandScript, driveScript, recordScenario } from './harness';

// Input faults on the running API and release service: fuzzed HTTP on every route of the OpenAPI
// document, auth on every route, poison messages mixed into valid Kafka traffic, and 100 concurrent
// rollbacks of one release through HTTP and Kafka at once.
const OPERATOR = `op-${uniqueSuffix()}-${uniqueSuffix()}`;
const VIEWER = `vw-${uniqueSuffix()}-${uniqueSuffix()}`;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/;

interface Route {
  method: string;
  path: string;
}

describe('faults: hostile input over HTTP and Kafka', () => {
  let stack: Stack<'service' | 'api', 'results' | 'events' | 'dlq'>;
  let db: Connection;
  let routes: Route[];

  const http = async (method: string, path: string, init: { body?: string; token?: string | null; type?: string } = {}) => {
    const res = await request(stack.apps.api, method, path, { ...init, token: init.token === undefined ? OPERATOR : init.token });
    let json: unknown = null;
    try {
      json = res.text ? JSON.parse(res.text) : null;
    } catch {
      json = res.text;
    }
    return { status: res.status, type: res.type, body: json as Record<string, unknown> };
  };

  /** A route of the document with its path parameters filled in. */
  const fill = (path: string, params: string[]) => {
    let i = 0;
    return path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++] ?? 'x'));
  };

  const expectProblem = (res: { status: number; type: string; body: Record<string, unknown> }, what: string) => {
    if (res.status >= 500) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    if (res.status >= 400) {
      if (!res.type.startsWith('application/problem+json') || typeof res.body?.code !== 'string') {
        throw new Error(`${what}: ${res.status} is not problem+json with a code: ${res.type} ${JSON.stringify(res.body).slice(0, 300)}`);
      }
    }
  };

  const install = async (releaseId: string) => {
    const res = await http('POST', '/api/v1/helm/releases', {
      body: JSON.stringify({ releaseId, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { password: 'hunter2-secret', a: 1 } }),
    });
    expect(res.status).toBe(202);
    const result = (operationId: string) =>
      stack.probe.send(
        Topics.outcomes,
        releaseId,
        JSON.stringify(commandEvent({ type: 'RecordOperationResult', data: { releaseId, operationId, outcome: 'SUCCEEDED', helmRevision: 1 } }, { id: `done-${operationId}`, source: 'urn:test', actor: 'executor', correlationId: operationId })),
      );
    await result(res.body.operationId as string);
    await waitFor(async () => (await http('GET', `/api/v1/helm/releases/${releaseId}`)).body.status === 'DEPLOYED', { what: `${releaseId} deployed` });
    return result;
  };

  beforeAll(async () => {
    stack = await startStack(testConfig({ AUTH_TOKENS: `operator:ops:${OPERATOR},viewer:ann:${VIEWER}`, REQUEST_TIMEOUT_MS: '20000' }), {
      apps: { service: 'release-service', api: 'api' },
      env: { LOG_LEVEL: 'info' },
      record: { results: [Topics.commandResults], events: [Topics.events], dlq: [Topics.commandsDlq] },
    });
    db = await mongoose.createConnection(stack.config.MONGODB_URI).asPromise();
    const doc = (await (await fetch(`${stack.apps.api.url}/docs-json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));
  });

  afterAll(async () => {
    expect(await stack?.stop()).toEqual([0, 0]);
    await db?.dropDatabase().catch(() => undefined);
    await db?.close();
  });

  it('the OpenAPI document lists every route, so the fuzzing below covers them all', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [
        'DELETE /api/v1/helm/releases/{releaseId}',
        'GET /api/v1/helm/clusters',
        'GET /api/v1/helm/events',
        'GET /api/v1/helm/helm-releases',
        'GET /api/v1/helm/releases',
        'GET /api/v1/helm/releases/{releaseId}',
        'GET /api/v1/helm/releases/{releaseId}/events',
        'GET /api/v1/helm/releases/{releaseId}/history',
        'GET /api/v1/helm/releases/{releaseId}/revisions/{revision}',
        'GET /api/v1/helm/releases/{releaseId}/stream',
        'GET /api/v1/helm/releases/{releaseId}/verification',
        'GET /api/v1/me',
        'GET /health/live',
        'GET /health/ready',
        'GET /metrics',
        'POST /api/v1/helm/releases',
        'POST /api/v1/helm/releases/{releaseId}/retry',
        'POST /api/v1/helm/releases/{releaseId}/rollback',
        'POST /api/v1/helm/releases/{releaseId}/rollback/last-successful',
        'POST /api/v1/helm/releases/{releaseId}/upgrade',
      ].sort(),
    );
  });

  it('auth on every route: no token 401, an unknown token 401, a viewer on every write route 403', async () => {
    // Probes and the Prometheus scrape are open by design (orchestrators call them without tokens) and
    // carry no release data.
    for (const route of routes.filter((r) => !r.path.startsWith('/api/'))) {
      expect([200, 503]).toContain((await http(route.method, route.path, { token: null })).status);
    }
    for (const route of routes.filter((r) => r.path.startsWith('/api/'))) {
      const path = fill(route.path, ['fuzz-auth', '1']);
      const body = route.method === 'POST' ? '{}' : undefined;
      for (const token of [null, 'not-a-token-of-ours-at-all']) {
        const res = await http(route.method, path, { body, token });
        expect({ route: `${route.method} ${route.path}`, status: res.status, code: res.body?.code }).toEqual({ route: `${route.method} ${route.path}`, status: 401, code: 'UNAUTHORIZED' });
      }
      if (route.method !== 'GET') {
        const res = await http(route.method, path, { body, token: VIEWER });
        expect({ route: `${route.method} ${route.path}`, status: res.status, code: res.body?.code }).toEqual({ route: `${route.method} ${route.path}`, status: 403, code: 'FORBIDDEN' });
      }
    }
  });

  it('fuzzed input on every route: never a 5xx, every rejection problem+json with a code; names that are not DNS labels never accepted', async () => {
    await install('fuzz-target');
    const json = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      // Near-valid bodies: the right keys with hostile values.
      fc
        .record(
          {
            releaseId: fc.oneof(fc.string(), fc.constantFrom('fuzz-target', 'UPPER', '-x', 'a'.repeat(60), 'a_b', '../x', 'x\u0000y')),
            namespace: fc.oneof(fc.string(), fc.constantFrom('apps', 'kube-system', 'Apps', '')),
            chart: fc.oneof(fc.anything(), fc.record({ name: fc.string(), repository: fc.string() })),
            chartVersion: fc.oneof(fc.string(), fc.constantFrom('1.0.0', '1.1.0', '999.0.0')),
            values: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.jsonValue())),
            targetRevision: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
            reason: fc.oneof(fc.string(), fc.integer()),
            atomic: fc.anything(),
            timeoutSeconds: fc.oneof(fc.integer(), fc.string()),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
      fc.string().map((s) => `{${s}`),
      fc.constant('x'.repeat(1_200_000)),
      // Hostile shapes: deep, wide, huge strings, unicode, prototype keys, in values and in the body.
      fc.integer({ min: 65, max: 5_000 }).map((n) => `{"releaseId":"fuzz-target","values":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
      fc.integer({ min: 1_000, max: 20_000 }).map((n) => JSON.stringify({ values: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) })),
      fc.integer({ min: 200_000, max: 400_000 }).map((n) => JSON.stringify({ values: { s: 'ü'.repeat(n / 2) }, reason: 'r' })),
      fc.string({ unit: 'grapheme', maxLength: 200 }).map((u) => JSON.stringify({ releaseId: u, namespace: u, values: { [u]: u }, reason: u })),
      fc.constantFrom('__proto__', 'constructor', 'prototype').map((k) => `{"releaseId":"fuzz-target","namespace":"apps","values":{"x":{"${k}":{"polluted":1}}}}`),
      fc.constant('{"__proto__":{"targetRevision":1}}'),
    );
    // Other spellings of the route's path: never a route, so never a 5xx nor data.
    const spelling = fc.constantFrom((p: string) => p, (p: string) => p.toUpperCase(), (p: string) => `${p}/`, (p: string) => `/${p}`, (p: string) => p.replace('/helm/', '/Helm/'));
    const param = fc.oneof(fc.string(), fc.constantFrom('fuzz-target', 'nope', '..', '%', 'a'.repeat(300), '1', '-1', '1e9', 'NaN'));
    const query = fc.dictionary(fc.constantFrom('limit', 'after', 'afterVersion', 'status', 'dryRun', 'reason', 'timeoutSeconds', 'x'), fc.string(), { maxKeys: 3 });
    let requests = 0;
    // A live page's stream of a release that exists does not end, so no request here could wait for its
    // answer: its refusals are in the auth test above, its stream in test/console-routes.e2e-spec.ts.
    for (const route of routes.filter((r) => !r.path.endsWith('/stream'))) {
      await fc.assert(
        fc.asyncProperty(fc.array(param, { minLength: 2, maxLength: 2 }), json, query, fc.constantFrom(OPERATOR, VIEWER), spelling, async (params, body, q, token, spell) => {
          requests += 1;
          const qs = new URLSearchParams(q).toString();
          const path = `${spell(fill(route.path, params))}${qs ? `?${qs}` : ''}`;
          const res = await http(route.method, path, { body: route.method === 'POST' ? body : undefined, token });
          expectProblem(res, `${route.method} ${path}`);
          // Only the route's own spelling is served.
          if (res.status < 300) expect(spell(fill(route.path, params))).toBe(fill(route.path, params));
          if (route.method === 'POST' && route.path === '/api/v1/helm/releases' && res.status === 202) {
            const sent = JSON.parse(body) as { releaseId: string; namespace: string };
            expect(sent.releaseId).toMatch(DNS_LABEL);
            expect(sent.namespace).toMatch(DNS_LABEL);
          }
        }),
        { numRuns: 100 },
      );
    }
    // Wrong content types and broken encodings, on every write route.
    for (const route of routes.filter((r) => r.method === 'POST')) {
      for (const [body, type] of [
        ['releaseId=x', 'application/x-www-form-urlencoded'],
        ['<xml/>', 'application/xml'],
        ['{"releaseId": "x"', 'application/json'],
        ['\u00ff\u00fe', 'application/json; charset=utf-16'],
      ]) {
        requests += 1;
        expectProblem(await http('POST', fill(route.path, ['fuzz-target', '1']), { body, type }), `${route.method} ${route.path} as ${type}`);
      }
    }
    expect(stack.apps.api.process.exitCode).toBeNull();
    expect(stack.apps.service.process.exitCode).toBeNull();
    recordScenario('fuzzed HTTP, every route', { routes: routes.length, requests, serverErrors: 0, exits: 0 });
  }, 600_000);

  it('poison messages mixed into valid traffic: exactly they are dead-lettered, every valid command is applied once', async () => {
    const script = commandScript(`mix-${uniqueSuffix()}`, 5, 20);
    const valid = JSON.parse(script[0].value) as Record<string, unknown>;
    const poison = [
      { kind: 'bad JSON', value: '{"specversion": "1.0", "id": ' },
      { kind: 'not an object', value: '[1,2,3]' },
      { kind: 'unknown type', value: JSON.stringify({ ...valid, id: `p-${uniqueSuffix()}`, type: 'io.example.helm.release.teleport' }) },
      { kind: 'wrong schema version', value: JSON.stringify({ ...valid, id: `p-${uniqueSuffix()}`, schemaversion: 99 }) },
      { kind: 'schema violation', value: JSON.stringify({ ...valid, id: `p-${uniqueSuffix()}`, data: { releaseId: 'Not A Label!' } }) },
      { kind: 'empty', value: '' },
      { kind: '5 MB', value: JSON.stringify({ ...valid, id: `p-${uniqueSuffix()}`, data: { releaseId: 'x', padding: 'x'.repeat(5 * 1024 * 1024) } }) },
    ];
    // One poison message after every seventh valid one answered, on both topics the release service reads.
    const poisonSent = script
      .filter((_, i) => i % 7 === 3)
      .map((_, n) => ({ key: `poison-${n}`, value: poison[n % poison.length].value, poison: poison[n % poison.length].kind, topic: n % 2 ? Topics.outcomes : Topics.commands }));
    const answered = answerIndex(stack.recorded.results);
    const poisoning = (async () => {
      for (const [n, p] of poisonSent.entries()) {
        await waitFor(() => [...answered()].filter((id) => script.some((m) => m.id === id)).length >= n * 7 + 3, { timeoutMs: 180_000, what: 'valid traffic before the next poison' });
        await stack.probe.producer.send({ topic: stack.probe.topic(p.topic), acks: -1, messages: [{ key: p.key, value: p.value }] });
      }
    })();
    await Promise.all([driveScript(stack.probe, script, stack.recorded.results, 0), poisoning]);
    await waitFor(() => script.every((m) => answered().has(m.id)), { timeoutMs: 180_000, intervalMs: 500, what: 'answers to the valid commands' });
    await waitFor(() => stack.recorded.dlq.filter((d) => d.key?.startsWith('poison-')).length >= poisonSent.length, { timeoutMs: 60_000, what: 'the poison on the dead-letter topic' });
    // Every valid command is answered, and a command is dead-lettered before it is answered: the topic holds
    // all it ever will of this traffic, so reading it to its end proves what is (and is not) there.
    await stack.probe.caughtUp(stack.recorded.dlq, Topics.commandsDlq);
    const parked = stack.recorded.dlq.filter((d) => d.key?.startsWith('poison-') || script.some((m) => m.key === d.key));
    // Exactly the poison, byte for byte, and nothing valid.
    expect(parked.map((d) => d.key).sort()).toEqual(poisonSent.map((m) => m.key).sort());
    for (const d of parked) expect(d.value?.toString() ?? '').toBe(poisonSent.find((m) => m.key === d.key)!.value);
    const inv = await checkInvariants(db, script, stack.recorded.results.filter((r) => script.some((m) => m.id === (r.json() as { data: { commandId: string } }).data.commandId)), stack.recorded.events);
    recordScenario('poison mixed into valid traffic', { valid: script.length, poison: poisonSent.length, kinds: [...new Set(poisonSent.map((m) => m.poison))], deadLettered: parked.length, accepted: inv.accepted, duplicateCommits: inv.duplicateCommits, versionGaps: inv.versionGaps });
    expect(new Set(poisonSent.map((m) => m.poison)).size).toBe(poison.length);
    expect(inv).toMatchObject({ accepted: script.length, rejected: 0, missingResults: 0, inconsistentResults: 0, duplicateCommits: 0, versionGaps: 0 });
  }, 300_000);

  it('100 concurrent rollbacks of one release from HTTP and Kafka together: one accepted, the rest refused, history contiguous', async () => {
    const releaseId = `race-${uniqueSuffix()}`;
    const complete = await install(releaseId);
    const up = await http('POST', `/api/v1/helm/releases/${releaseId}/upgrade`, { body: JSON.stringify({ values: { b: 2 } }) });
    expect(up.status).toBe(202);
    await complete(up.body.operationId as string);
    await waitFor(async () => (await http('GET', `/api/v1/helm/releases/${releaseId}`)).body.status === 'DEPLOYED', { what: 'upgrade deployed' });
    const kafkaIds = Array.from({ length: 50 }, (_, i) => `race-kafka-${i}-${uniqueSuffix()}`);
    const [httpResults] = await Promise.all([
      Promise.all(Array.from({ length: 50 }, () => http('POST', `/api/v1/helm/releases/${releaseId}/rollback`, { body: JSON.stringify({ targetRevision: 1 }) }))),
      stack.probe.producer.send({
        topic: stack.probe.topic(Topics.commands),
        acks: -1,
        messages: kafkaIds.map((id) => ({ key: releaseId, value: JSON.stringify(commandEvent({ type: 'RollbackRelease', data: { releaseId, targetRevision: 1 } }, { id, source: 'urn:test', actor: 'racer', correlationId: id })) })),
      }),
    ]);
    const answers = () => kafkaIds.map((id) => stack.recorded.results.find((r) => (r.json() as { data: { commandId: string } }).data.commandId === id)?.json() as { data: { outcome: string; error?: { code: string } } } | undefined);
    await waitFor(() => answers().every(Boolean), { timeoutMs: 60_000, what: 'answers to the Kafka rollbacks' });
    const httpAccepted = httpResults.filter((r) => r.status === 202).length;
    const kafkaAccepted = answers().filter((a) => a!.data.outcome === 'ACCEPTED').length;
    for (const r of httpResults) if (r.status !== 202) expect({ status: r.status, code: r.body.code }).toEqual({ status: 409, code: 'OPERATION_IN_PROGRESS' });
    for (const a of answers()) if (a!.data.outcome !== 'ACCEPTED') expect(a!.data.error?.code).toBe('OPERATION_IN_PROGRESS');
    const history = (await http('GET', `/api/v1/helm/releases/${releaseId}/history`)).body.revisions as Array<{ revision: number; operation: string }>;
    recordScenario('100 concurrent rollbacks (50 HTTP + 50 Kafka)', { httpAccepted, kafkaAccepted, refused: 100 - httpAccepted - kafkaAccepted, revisions: history.map((h) => h.revision) });
    expect(httpAccepted + kafkaAccepted).toBe(1);
    expect(history.map((h) => h.revision)).toEqual([1, 2, 3]);
    expect(history[2].operation).toBe('ROLLBACK');
  }, 180_000);

  it('tokens and values never reach the logs of any app', async () => {
    const logs = stack.apps.api.output() + stack.apps.service.output();
    expect(logs.length).toBeGreaterThan(1000);
    for (const secret of [OPERATOR, VIEWER, 'hunter2-secret']) expect(logs.includes(secret)).toBe(false);
  });
});
