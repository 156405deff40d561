/// <reference lib="dom" />
// (The functions passed to page.evaluate and page.waitForFunction run in the page.)
import type { Browser, Page } from 'playwright-core';
import { ChartRepo, request, Stack, startChartRepo, startStack, testCluster, testConfig, waitFor } from '@app/test-support';
import { launchChromium, screenshot, seriousViolations } from '../../libs/test-support/src/browser';

// The console in a real browser (Debian's Chromium, headless) against the real apps: the api serving the
// page, the release service and an executor running helm against a kube-apiserver, over Kafka and FerretDB.
const OPERATOR = 'operator-token-0123456789ab';
const VIEWER = 'viewer-token-0123456789abcd';

describe('the web console in Chromium (browser)', () => {
  const { helmBin, kubeconfig, namespace, configMap } = testCluster('console-ui');
  let repo: ChartRepo;
  let stack: Stack<'releaseService' | 'executor' | 'api'>;
  let chromium: { browser: Browser; close: () => Promise<void> };
  const id = 'seed';

  const http = async (method: string, path: string, body?: unknown) => {
    const res = await request(stack.apps.api, method, `/api/v1/helm${path}`, { body, token: OPERATOR });
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  };
  const settled = (releaseId: string) =>
    waitFor(async () => {
      const r = (await http('GET', `/releases/${releaseId}`)).body;
      return r && !String(r.status).startsWith('PENDING') ? r : null;
    }, { timeoutMs: 90_000, intervalMs: 300, what: `${releaseId} to settle` });

  /** A new tab, signed in with `token` through the sign-in form; counts the page loads it sees. */
  const signedIn = async (token: string, colorScheme: 'light' | 'dark' = 'light') => {
    const context = await chromium.browser.newContext({ colorScheme, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(stack.apps.api.url);
    await page.getByLabel('Access token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Releases' }).waitFor();
    return { page, problems, close: () => context.close() };
  };
  const noSeriousViolations = async (page: Page) => expect(await seriousViolations(page)).toEqual([]);

  beforeAll(async () => {
    repo = await startChartRepo(helmBin);
    stack = await startStack(testConfig({ AUTH_TOKENS: `operator:ops:${OPERATOR},viewer:ann:${VIEWER}`, REQUEST_TIMEOUT_MS: '20000', VALUES_VIEWER_VISIBLE_PATHS: 'replicas' }), {
      apps: { releaseService: 'release-service', executor: 'executor', api: 'api' },
      env: { HELM_BIN: helmBin, KUBECONFIG: kubeconfig },
    });
    chromium = await launchChromium();
    // The seed scenario's first two revisions, through the API: install 1.0.0, upgrade to 1.1.0.
    await http('POST', '/releases', { releaseId: id, namespace, chart: { name: 'web', repository: repo.url }, chartVersion: '1.0.0', values: { replicas: 1, greeting: 'hello' }, timeoutSeconds: 30 });
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 1 });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0', values: { replicas: 3, greeting: 'hello' } });
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 2 });
  });

  afterAll(async () => {
    await chromium?.close();
    await stack?.stop();
    await repo?.stop();
  });

  it('refuses a wrong token at sign-in, readably', async () => {
    const context = await chromium.browser.newContext();
    const page = await context.newPage();
    await page.goto(stack.apps.api.url);
    await noSeriousViolations(page);
    await screenshot(page, 'sign-in');
    await page.getByLabel('Access token').fill('not-a-token-of-anyone');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toBe('That token is not valid.');
    await context.close();
  });

  it('lists the release, shows its revisions and the values diff of 1 and 2, and rolls back to 1 with a preview, turning DEPLOYED live', async () => {
    const { page, problems, close } = await signedIn(OPERATOR);
    const row = page.locator(`tr[data-release="${id}"]`);
    await expect(row.locator('.badge').textContent()).resolves.toBe('DEPLOYED');
    await expect(row.locator('td').nth(4).textContent()).resolves.toBe('2');
    await noSeriousViolations(page);
    await screenshot(page, 'releases');

    // Keyboard only: the release's link is reached with Tab and followed with Enter.
    await page.getByRole('link', { name: id }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Revisions' }).waitFor();
    await page.locator('.live[data-live="live"]').waitFor();
    await expect(page.locator('.timeline > li').count()).resolves.toBe(2);
    await expect(page.locator('li.last-successful').getAttribute('data-revision')).resolves.toBe('2');

    // Values diff, revision 1 against 2: replicas 1 → 3, nothing else.
    await page.locator('select[name="diff-from"]').selectOption('1');
    await page.locator('select[name="diff-to"]').selectOption('2');
    const replicas = page.locator('table.diff tr[data-path="replicas"]');
    await replicas.waitFor();
    await expect(replicas.locator('td').allTextContents()).resolves.toEqual(['changed', '1', '3']);
    await expect(page.locator('table.diff tbody tr').count()).resolves.toBe(1);

    // Loads of the document from here on: the page must follow the rollback without one.
    let loads = 0;
    page.on('load', () => (loads += 1));
    const streams: string[] = [];
    page.on('request', (r) => r.url().endsWith(`/releases/${id}/stream`) && streams.push(r.url()));

    // The preview: the plan, the values diff and the rendered manifests' diff, before anything happens.
    await page.locator('select[name="target"]').selectOption('1');
    await page.getByRole('button', { name: 'Preview rollback' }).click();
    const plan = page.getByTestId('plan');
    await plan.waitFor();
    await expect(page.getByTestId('plan-revision').textContent()).resolves.toBe('3');
    await expect(plan.textContent()).resolves.toMatch(/chart 1\.1\.0 → 1\.0\.0/);
    await expect(plan.locator('tr[data-path="replicas"] td').allTextContents()).resolves.toEqual(['changed', '3', '1']);
    const rendered = page.getByTestId('rendered');
    await rendered.locator('pre.patch').waitFor({ timeout: 60_000 });
    await expect(rendered.locator('.patch .del').allTextContents()).resolves.toEqual(expect.arrayContaining([expect.stringMatching(/chartVersion: "?1\.1\.0/)]));
    await expect(rendered.locator('.patch .add').allTextContents()).resolves.toEqual(expect.arrayContaining([expect.stringMatching(/chartVersion: "?1\.0\.0/)]));
    await noSeriousViolations(page);
    await screenshot(page, 'rollback-preview');
    expect(await configMap(id)).toMatchObject({ data: { chartVersion: '1.1.0' } });

    // Confirmed with a reason: revision 3 PENDING_ROLLBACK, then DEPLOYED when helm is done, on the same page.
    const confirm = page.getByRole('button', { name: 'Confirm rollback to revision 1' });
    await expect(confirm.isDisabled()).resolves.toBe(true);
    await page.getByLabel('Reason (recorded in the history)').fill('checkout broke');
    // Every status the page's heading shows from here on, as rendered.
    await page.evaluate(() => {
      const seen = [document.querySelector('h1 .badge')!.getAttribute('data-status')!];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const status = document.querySelector('h1 .badge')?.getAttribute('data-status');
        if (status && seen[seen.length - 1] !== status) seen.push(status);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await confirm.click();
    await expect(page.getByTestId('decision').textContent()).resolves.toMatch(/revision 3 is PENDING_ROLLBACK/);
    await page.waitForFunction(
      () =>
        document.querySelector('h1 .badge')?.getAttribute('data-status') === 'DEPLOYED' &&
        document.querySelector('[data-testid="current-revision"]')?.textContent === '3' &&
        document.querySelector('li.last-successful')?.getAttribute('data-revision') === '3',
      undefined,
      { timeout: 90_000 },
    );
    await expect(page.evaluate(() => (window as unknown as { seen: string[] }).seen)).resolves.toEqual(['DEPLOYED', 'PENDING_ROLLBACK', 'DEPLOYED']);
    await expect(page.locator('.timeline > li').count()).resolves.toBe(3);
    await expect(page.locator('li[data-revision="3"]').textContent()).resolves.toMatch(/ROLLBACK of revision 1.*chart 1\.0\.0.*DEPLOYED.*MANUAL.*ops.*checkout broke/);
    expect(loads).toBe(0);
    expect(await configMap(id)).toMatchObject({ data: { chartVersion: '1.0.0' } });

    // The audit log and its chain, read again after the release's events (on their own request, so
    // they may land a moment after the heading): six commits, from install to the rollback's result.
    await page.waitForFunction(() => document.querySelectorAll('table.audit tbody tr').length >= 6, undefined, { timeout: 30_000 });
    await expect(page.getByTestId('chain').getAttribute('data-intact')).resolves.toBe('true');
    await expect(page.getByTestId('chain').textContent()).resolves.toMatch(/intact: ([6-9]|\d\d+) commits verified/);
    await screenshot(page, 'release-after-rollback');

    // A refusal as a readable message: it already runs its last successful revision.
    await page.locator('select[name="target"]').selectOption('last-successful');
    await page.getByRole('button', { name: 'Preview rollback' }).click();
    const refused = page.locator('#rollback-title ~ p[role="alert"]');
    await refused.waitFor();
    await expect(refused.getAttribute('data-code')).resolves.toBe('ALREADY_AT_LAST_SUCCESSFUL');
    await expect(refused.textContent()).resolves.toMatch(/already runs its last successful revision/);
    expect(streams.length).toBeLessThanOrEqual(1);
    expect(problems).toEqual([]);
    await close();
  });

  it('shows a viewer the release without rollback controls, values redacted, in dark mode', async () => {
    const { page, problems, close } = await signedIn(VIEWER, 'dark');
    await page.getByRole('link', { name: id }).click();
    await page.getByRole('heading', { name: 'Revisions' }).waitFor();
    await page.getByRole('heading', { name: 'Compare values' }).waitFor();
    await expect(page.getByRole('heading', { name: 'Roll back' }).count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: /rollback/i }).count()).resolves.toBe(0);
    await page.locator('select[name="diff-from"]').selectOption('2');
    await page.locator('select[name="diff-to"]').selectOption('3');
    await page.locator('table.diff tr[data-path="replicas"]').waitFor();
    await expect(page.locator('#diff-title ~ p.muted').first().textContent()).resolves.toMatch(/redacted for your role/);
    // The greeting is not on the visible paths: a viewer sees its type, the same on both sides.
    await expect(page.locator('table.diff tr[data-path="greeting"]').count()).resolves.toBe(0);
    await expect(page.locator('body').textContent()).resolves.not.toMatch(/hello/);
    await noSeriousViolations(page);
    await screenshot(page, 'release-viewer-dark');
    expect(problems).toEqual([]);
    await close();
  });
});
