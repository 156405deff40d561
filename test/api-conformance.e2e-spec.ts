import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Stack, startStack, testConfig } from '@app/test-support';
import { createClient } from '../packages/client/src';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const ADMIN = 'admin-token-0123456789abcd';

// The OpenAPI document against the running API, by a property-based tester that knows nothing but the
// document (Schemathesis, scripts/infra/schemathesis.sh): requests generated from it, valid and invalid,
// against the real api and release service. It fails on an answer the document does not declare (status,
// content type, body schema), a request valid by the document that is refused, an invalid one accepted,
// a server error, a route that answers without its token, and an undocumented method not answered 405.
describe('the OpenAPI document, held to the running API (Schemathesis)', () => {
  let stack: Stack<'service' | 'api'>;
  const report = join(ROOT, 'test-results', 'schemathesis');

  beforeAll(async () => {
    stack = await startStack(testConfig({ AUTH_TOKENS: `admin:root:${ADMIN}`, CHART_REPOSITORIES: 'http://127.0.0.1:8879/*', RENDER_TIMEOUT_MS: '2000' }), { apps: { service: 'release-service', api: 'api' } });
    rmSync(report, { recursive: true, force: true });
    mkdirSync(report, { recursive: true });
  }, 120_000);
  afterAll(() => stack?.stop());

  it('serves the document packages/client is generated from (run `npm run openapi` after changing a route)', async () => {
    const live = await (await fetch(`${stack.apps.api.url}/docs-json`)).json();
    expect(live).toEqual(JSON.parse(readFileSync(join(ROOT, 'packages', 'client', 'openapi.json'), 'utf8')));
  });

  it('is used through the typed client: a request and its answer typed from the document', async () => {
    const api = createClient({ baseUrl: stack.apps.api.url, token: ADMIN });
    const installed = await api.POST('/api/v1/helm/releases', {
      body: { releaseId: 'typed', namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:8879/charts' }, chartVersion: '1.0.0', values: { a: 1 } },
    });
    expect(installed.response.status).toBe(202);
    expect(installed.data).toMatchObject({ releaseId: 'typed', revision: 1, status: 'PENDING_INSTALL' });
    const release = await api.GET('/api/v1/helm/releases/{releaseId}', { params: { path: { releaseId: 'typed' } } });
    expect(release.data?.currentRevision).toBe(1);
    const missing = await api.GET('/api/v1/helm/releases/{releaseId}/revisions/{revision}', { params: { path: { releaseId: 'typed', revision: 9 } } });
    expect(missing.error).toMatchObject({ status: 404, code: 'REVISION_NOT_FOUND' });
  });

  it('finds no request and no answer that disagrees with the document', async () => {
    const st = (await run('bash', [join(ROOT, 'scripts', 'infra', 'schemathesis.sh'), 'ensure'], { timeout: 600_000 })).stdout.trim().split('\n').pop()!;
    const args = [
      '--config-file', join(ROOT, 'test', 'schemathesis.toml'),
      'run', `${stack.apps.api.url}/docs-json`,
      '--header', `Authorization: Bearer ${ADMIN}`,
      // A live page's stream does not end, so no checker that waits for an answer can take it: the
      // console's browser tests and test/console-routes.e2e-spec.ts exercise it.
      '--exclude-path-regex', '/stream$',
      '--checks', 'all',
      // Two principals of different rights would be needed; grants have e2e tests of their own (grants.e2e-spec.ts).
      '--exclude-checks', 'object_level_authorization',
      // Fuzzing and stateful sequences. Not the coverage phase: under this machine's CPython 3.11, Hypothesis
      // describing one of its filters fails at random there (SystemError: AST constructor recursion depth
      // mismatch, a CPython bug), which would make the test flaky for no fault of the API.
      '--phases', 'fuzzing,stateful',
      '--max-examples', '50',
      '--seed', '20261203',
      '--generation-deterministic',
      '--workers', '2',
      '--request-timeout', '30',
      '--no-color',
      '--report', 'junit', '--report-dir', report,
    ];
    // Run from the report directory: whatever Schemathesis keeps of a run stays out of the checkout.
    const result = await run(st, args, { cwd: report, timeout: 600_000, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SCHEMATHESIS_HOOKS: '' } }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, stdout: `${error.stdout ?? ''}\n${error.stderr ?? ''}` }),
    );
    if (result.code !== 0) throw new Error(`Schemathesis found disagreements (exit ${result.code}); report in ${report}:\n${result.stdout.slice(-20_000)}`);
    // A run that tested nothing would pass too: every operation of the document must have been tested.
    const doc = (await (await fetch(`${stack.apps.api.url}/docs-json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(doc.paths)
      .filter(([path]) => !path.endsWith('/stream'))
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const junit = readFileSync(join(report, readdirSync(report).find((f) => f.endsWith('.xml'))!), 'utf8');
    const tested = [...junit.matchAll(/<testcase name="([^"]+)"/g)].map((m) => m[1]);
    expect(tested.filter((t) => t !== 'Stateful tests').sort()).toEqual(operations);
    expect(tested).toContain('Stateful tests');
  }, 900_000);
});
