import { MASK } from '@app/contracts';
import { ChartRepo, request, Stack, startChartRepo, startStack, testCluster, testConfig, waitFor } from '@app/test-support';

// The routes the console reads besides the releases API: its page, who the caller is, a release's live
// events (Server-Sent Events from the events topic), its hash chain checked, and a rollback preview with
// the diff of the rendered manifests from the executor, on real Kafka, FerretDB, helm and kube-apiserver.
const DEPLOYER = 'deployer-token-0123456789ab';
const ROLLBACKER = 'rollbacker-token-0123456789';
const VIEWER = 'viewer-token-0123456789abcd';

describe('the console routes (e2e)', () => {
  const { helmBin, kubeconfig, namespace } = testCluster('console');
  let repo: ChartRepo;
  let stack: Stack<'releaseService' | 'executor' | 'api'>;

  const http = async (method: string, path: string, body?: unknown, token: string | null = DEPLOYER) => {
    const res = await request(stack.apps.api, method, path, { body, token });
    return { status: res.status, type: res.type, body: res.type.includes('json') && res.text ? JSON.parse(res.text) : res.text };
  };
  const settled = (id: string) =>
    waitFor(async () => {
      const r = (await http('GET', `/api/v1/helm/releases/${id}`)).body;
      return r && !String(r.status).startsWith('PENDING') ? r : null;
    }, { timeoutMs: 90_000, intervalMs: 300, what: `${id} to settle` });
  const deploy = async (id: string, chartVersion: string, values: Record<string, unknown>) => {
    const first = (await http('GET', `/api/v1/helm/releases/${id}`)).status === 404;
    const answer = first
      ? await http('POST', '/api/v1/helm/releases', { releaseId: id, namespace, chart: { name: 'web', repository: repo.url }, chartVersion, values, timeoutSeconds: 30 })
      : await http('POST', `/api/v1/helm/releases/${id}/upgrade`, { chartVersion, values });
    expect(answer.status).toBe(202);
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED' });
  };

  /** Reads a release's event stream as the console does (fetch with the token), frame by frame. */
  const watch = async (id: string, token = DEPLOYER) => {
    const abort = new AbortController();
    const res = await fetch(`${stack.apps.api.url}/api/v1/helm/releases/${id}/stream`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    const frames: Array<{ event: string; data: Record<string, unknown>; raw: string }> = [];
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const raw = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(raw)?.[1];
          const data = /^data: (.*)$/m.exec(raw)?.[1];
          if (event && data) frames.push({ event, data: JSON.parse(data), raw });
        }
      }
    })();
    return { res, frames, close: async () => (abort.abort(), await reading) };
  };

  beforeAll(async () => {
    repo = await startChartRepo(helmBin);
    stack = await startStack(
      testConfig({
        AUTH_TOKENS: `deployer:ops:${DEPLOYER},rollbacker:rob:${ROLLBACKER},viewer:ann:${VIEWER}`,
        REQUEST_TIMEOUT_MS: '20000',
        VALUES_VIEWER_VISIBLE_PATHS: 'greeting',
      }),
      { apps: { releaseService: 'release-service', executor: 'executor', api: 'api' }, env: { HELM_BIN: helmBin, KUBECONFIG: kubeconfig } },
    );
  });

  afterAll(async () => {
    await stack?.stop();
    await repo?.stop();
  });

  it('serves the console page and its assets publicly, confined by its own policy', async () => {
    const page = await http('GET', '/', undefined, null);
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    const res = await fetch(`${stack.apps.api.url}/`);
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.body as string)![1];
    const asset = await fetch(`${stack.apps.api.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    // Everything the page reads still needs a token.
    expect((await http('GET', '/api/v1/me', undefined, null)).status).toBe(401);
  });

  it('tells the caller who it is and what it may do where', async () => {
    expect((await http('GET', '/api/v1/me', undefined, ROLLBACKER)).body).toEqual({ subject: 'rob', grants: [{ role: 'rollbacker', clusters: ['*'], namespaces: ['*'] }] });
    expect((await http('GET', '/api/v1/me', undefined, VIEWER)).body.grants[0].role).toBe('viewer');
  });

  it("streams a release's events as they happen, naming them, never their data", async () => {
    const id = 'live';
    await deploy(id, '1.0.0', { greeting: 'one', password: 'hunter2-live' });
    await deploy(id, '1.1.0', { greeting: 'two' });
    const stream = await watch(id, VIEWER);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitFor(() => stream.frames.some((f) => f.event === 'ready'), { what: 'the ready frame' });
    expect((await http('POST', `/api/v1/helm/releases/${id}/rollback`, { targetRevision: 1, reason: 'watch it' })).status).toBe(202);
    await waitFor(() => stream.frames.some((f) => f.data.type === 'RevisionDeployed'), { timeoutMs: 60_000, what: 'RevisionDeployed on the stream' });
    await stream.close();
    const types = stream.frames.filter((f) => f.event === 'release').map((f) => f.data.type);
    expect(types).toEqual(expect.arrayContaining(['RollbackRequested', 'RevisionDeployed']));
    for (const frame of stream.frames) expect(frame.raw).not.toMatch(/hunter2|values/);
    expect(stream.frames.find((f) => f.data.type === 'RollbackRequested')!.data).toMatchObject({ releaseId: id, streamVersion: expect.any(Number) });
  });

  it('refuses a stream without a token, and of a release the caller cannot see', async () => {
    const anonymous = await fetch(`${stack.apps.api.url}/api/v1/helm/releases/live/stream`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/problem\+json/);
    const missing = await http('GET', '/api/v1/helm/releases/no-such/stream');
    expect(missing).toMatchObject({ status: 404, body: { code: 'RELEASE_NOT_FOUND' } });
  });

  it("checks a release's hash chain over every commit of its log", async () => {
    const check = await http('GET', '/api/v1/helm/releases/live/verification', undefined, VIEWER);
    const commits = (await http('GET', '/api/v1/helm/releases/live/events')).body.commits.length;
    expect(check).toMatchObject({ status: 200, body: { releaseId: 'live', intact: true, problems: [], commits } });
    expect(commits).toBeGreaterThanOrEqual(6);
  });

  it('previews a rollback with the diff of the rendered manifests, Secret data masked', async () => {
    const id = 'rendered';
    await deploy(id, '1.10.0', { greeting: 'first', password: 'hunter2-first' });
    await deploy(id, '1.10.0', { greeting: 'second', password: 'hunter2-second' });
    const preview = await http('POST', `/api/v1/helm/releases/${id}/rollback?dryRun=true&render=true`, { targetRevision: 1 });
    expect(preview.status).toBe(200);
    expect(preview.body).toMatchObject({ dryRun: true, revision: 3, targetRevision: 1, rendered: { ok: true, resources: { changed: 2, added: 0, removed: 0 }, truncated: false } });
    const diff = preview.body.rendered.diff as string;
    expect(diff).toContain('-  greeting: second');
    expect(diff).toContain('+  greeting: first');
    expect(diff).toContain('+  password: <masked (changed)>');
    expect(diff).not.toMatch(/hunter2/);
    // Nothing was applied: Helm still holds revision 2.
    expect((await http('GET', `/api/v1/helm/releases/${id}`)).body).toMatchObject({ currentRevision: 2, status: 'DEPLOYED' });

    // Rendering the revision Helm holds gives no diff: `helm template` and `helm get manifest` agree.
    const same = await http('POST', `/api/v1/helm/releases/${id}/rollback?dryRun=true&render=true`, { targetRevision: 2 });
    expect(same.body.rendered).toEqual({ ok: true, diff: '', resources: { changed: 0, added: 0, removed: 0 }, truncated: false });
  });

  it('shows a rollbacker without the values right redacted values and no rendered manifests', async () => {
    const preview = await http('POST', '/api/v1/helm/releases/rendered/rollback?dryRun=true&render=true', { targetRevision: 1 }, ROLLBACKER);
    expect(preview.status).toBe(200);
    expect(preview.body.valuesRedacted).toBe(true);
    expect(JSON.stringify(preview.body)).not.toMatch(/hunter2/);
    expect(preview.body.values.to).toEqual({ greeting: 'first', password: MASK });
    expect(preview.body.valuesDiff).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'password', type: 'CHANGE', value: MASK, oldValue: MASK })]),
    );
    expect(preview.body.rendered).toEqual({ ok: false, reason: expect.stringMatching(/grants do not let you read/) });
    // A render outside a preview is refused: only a dry run is rendered.
    const unrendered = await http('POST', '/api/v1/helm/releases/rendered/rollback?render=true', { targetRevision: 1 });
    expect([unrendered.status, unrendered.body.code]).toEqual([422, 'RENDER_NEEDS_DRY_RUN']);
  });

  it('lists releases by the start of their id and by namespace', async () => {
    const ids = (query: string) => http('GET', `/api/v1/helm/releases?${query}`, undefined, VIEWER).then((r) => r.body.items.map((i: { releaseId: string }) => i.releaseId));
    expect(await ids('prefix=ren')).toEqual(['rendered']);
    expect(await ids(`namespace=${namespace}`)).toEqual(['live', 'rendered']);
    expect(await ids('namespace=elsewhere')).toEqual([]);
    expect((await http('GET', '/api/v1/helm/releases?prefix=A*', undefined, VIEWER)).status).toBe(400);
  });
});
