import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChartRepo, startChartRepo, testCluster, uniqueSuffix } from '@app/test-support';
import { HelmCliAdapter } from './helm-cli.adapter';
import { HelmError } from './helm.port';

// The real helm binary against the real kube-apiserver the test run provisioned, with charts served by
// a real chart repository on loopback.
describe('HelmCliAdapter against a real API server', () => {
  const { helmBin, kubeconfig, namespace, configMap } = testCluster('helm');
  let repo: ChartRepo;
  let home: string;
  let work: string;
  let helm: HelmCliAdapter;
  const chart = () => ({ name: 'web', repository: repo.url });
  /** Chart 1.3.0 has a Deployment that never becomes ready: what applying it with a 5 s timeout fails with. */
  const applyNeverReady = (name: string, atomic: boolean) =>
    helm.apply({ name, namespace, chart: chart(), chartVersion: '1.3.0', values: {}, timeoutSeconds: 5 }, { atomic }).catch((e: unknown) => e);
  const tricky = {
    quote: `it's "quoted"`,
    subshell: '$(rm -rf /) `id` ${HOME}',
    separators: 'a; b && c | d > /tmp/x',
    multiline: 'line one\nline two\n',
    unicode: 'grüße, 你好, 🚀',
    nested: { list: [1, 2.5, true, null, 'x'] },
  };

  beforeAll(async () => {
    repo = await startChartRepo(helmBin);
    home = await mkdtemp(join(tmpdir(), 'helm-home-'));
    work = await mkdtemp(join(tmpdir(), 'helm-work-'));
    helm = new HelmCliAdapter({ helmBin, kubeconfig, homeDir: home, tmpDir: work });
  });
  afterAll(async () => {
    await repo?.stop();
    await rm(home, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('installs, upgrades and rolls back with helm rollback; values reach the cluster byte for byte', async () => {
    const name = 'web';
    const installed = await helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: tricky, timeoutSeconds: 60 }, { atomic: false });
    expect(installed.helmRevision).toBe(1);
    expect(installed.chartDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await helm.values(name, namespace, 1)).toEqual(tricky);
    let data = (await configMap(name)).data!;
    expect(data.chartVersion).toBe('1.0.0');
    expect(JSON.parse(data['values.json'])).toMatchObject({ ...tricky, greeting: 'hello' });
    expect(JSON.parse(data['values.json']).subshell).toBe('$(rm -rf /) `id` ${HOME}');

    const upgraded = await helm.apply({ name, namespace, chart: chart(), chartVersion: '1.1.0', values: { greeting: 'v2' }, timeoutSeconds: 60 }, { atomic: false });
    expect(upgraded.helmRevision).toBe(2);
    expect((await configMap(name)).data!.chartVersion).toBe('1.1.0');

    const rolledBack = await helm.rollback(name, namespace, 1, 60);
    expect(rolledBack).toBe(3);
    data = (await configMap(name)).data!;
    expect(data.chartVersion).toBe('1.0.0');
    expect(JSON.parse(data['values.json'])).toMatchObject(tricky);
    const history = await helm.history(name, namespace);
    expect(history.map((h) => [h.revision, h.chart])).toEqual([
      [1, 'web-1.0.0'],
      [2, 'web-1.1.0'],
      [3, 'web-1.0.0'],
    ]);
    // helm list, across namespaces and statuses, with its revision read as a number.
    const listed = (await helm.list(10_000)).filter((r) => r.namespace === namespace && r.name === name);
    expect(listed).toEqual([{ name, namespace, revision: 3, status: 'deployed', chart: 'web-1.0.0', updated: expect.any(String) }]);
  });

  it('fails with the API server message for a chart it rejects', async () => {
    const name = 'rejected';
    await helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: {}, timeoutSeconds: 60 }, { atomic: false });
    const error = await helm
      .apply({ name, namespace, chart: chart(), chartVersion: '1.2.0', values: {}, timeoutSeconds: 30 }, { atomic: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).message).toMatch(/not a valid key|Invalid value/);
    expect((error as HelmError).helmRevision).toBe(2);
  });

  it('fails by timeout when a Deployment can never become ready', async () => {
    const name = 'never-ready';
    const error = await applyNeverReady(name, false);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).message).toMatch(/timed out|deadline exceeded/i);
    expect((error as HelmError).purged).toBe(false);
    expect((await helm.history(name, namespace)).map((h) => h.status)).toEqual(['failed']);
  });

  it('an atomic install that fails is removed again by Helm', async () => {
    const name = 'atomic';
    const error = await applyNeverReady(name, true);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as HelmError).purged).toBe(true);
    expect(await helm.history(name, namespace)).toEqual([]);
    expect((await configMap(name)).data).toBeUndefined();
  });

  it('refuses a chart whose digest differs from the recorded one, applying nothing', async () => {
    const name = 'digest';
    const first = await helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: {}, timeoutSeconds: 60 }, { atomic: false });
    const error = await helm
      .apply({ name, namespace, chart: chart(), chartVersion: '1.1.0', values: {}, expectedDigest: first.chartDigest, timeoutSeconds: 60 }, { atomic: false })
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/digest/);
    expect((await helm.history(name, namespace)).length).toBe(1);
  });

  it('keeps a pulled chart version and applies it again with the repository gone; a digest it lacks is pulled again', async () => {
    const name = 'kept';
    const ownRepo = await startChartRepo(helmBin);
    const ownHome = await mkdtemp(join(tmpdir(), 'helm-home-'));
    const adapter = new HelmCliAdapter({ helmBin, kubeconfig, homeDir: ownHome, tmpDir: work });
    const own = { name: 'web', repository: ownRepo.url };
    const first = await adapter.apply({ name, namespace, chart: own, chartVersion: '1.0.0', values: { n: 1 }, timeoutSeconds: 60 }, { atomic: false });
    await ownRepo.stop();
    // The repository is gone: the kept archive, with the recorded digest, is applied.
    const again = await adapter.apply(
      { name, namespace, chart: own, chartVersion: '1.0.0', values: { n: 2 }, expectedDigest: first.chartDigest, timeoutSeconds: 60 },
      { atomic: false },
    );
    expect(again).toEqual({ helmRevision: 2, chartDigest: first.chartDigest });
    expect(JSON.parse((await configMap(name)).data!['values.json'])).toMatchObject({ n: 2 });
    // A recorded digest the kept archive does not have: pulled again, which fails here, and nothing is applied.
    const error = await adapter
      .apply({ name, namespace, chart: own, chartVersion: '1.0.0', values: { n: 3 }, expectedDigest: 'sha256:other', timeoutSeconds: 60 }, { atomic: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HelmError);
    expect((error as Error).message).toMatch(/helm pull failed/);
    expect((await helm.history(name, namespace)).length).toBe(2);
    await rm(ownHome, { recursive: true, force: true });
  });

  it('pulls from a repository that demands credentials with those configured for it, and never repeats them in an error', async () => {
    const password = `pw-${uniqueSuffix()}-${uniqueSuffix()}`;
    const guarded = await startChartRepo(helmBin, undefined, { username: 'charts', password });
    const homes = [await mkdtemp(join(tmpdir(), 'helm-auth-')), await mkdtemp(join(tmpdir(), 'helm-anon-'))];
    try {
      const desired = { name: 'guarded', namespace, chart: { name: 'web', repository: guarded.url }, chartVersion: '1.0.0', values: { n: 1 }, timeoutSeconds: 60 };
      const anonymous = new HelmCliAdapter({ helmBin, kubeconfig, homeDir: homes[1], tmpDir: work });
      const refused = await anonymous.apply(desired, { atomic: false }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(HelmError);
      expect((refused as Error).message).toMatch(/helm pull failed: .*401/);
      const withCredentials = new HelmCliAdapter({
        helmBin,
        kubeconfig,
        homeDir: homes[0],
        tmpDir: work,
        credentials: (repository) => (repository === guarded.url ? { username: 'charts', password } : undefined),
      });
      expect((await withCredentials.apply(desired, { atomic: false })).helmRevision).toBe(1);
      const wrong = new HelmCliAdapter({ helmBin, kubeconfig, homeDir: homes[1], tmpDir: work, credentials: () => ({ username: 'charts', password: `${password}-wrong` }) });
      const denied = await wrong.apply({ ...desired, chartVersion: '1.1.0' }, { atomic: false }).catch((e: unknown) => e);
      expect((denied as Error).message).toMatch(/401/);
      expect((denied as Error).message).not.toContain(password);
    } finally {
      await guarded.stop();
      for (const h of homes) await rm(h, { recursive: true, force: true });
    }
  });

  it('uninstalls keeping the history, and installs again on top of it', async () => {
    const name = 'again';
    await helm.apply({ name, namespace, chart: chart(), chartVersion: '1.0.0', values: { n: 1 }, timeoutSeconds: 60 }, { atomic: false });
    await helm.uninstall(name, namespace, 60);
    expect((await helm.history(name, namespace)).map((h) => h.status)).toEqual(['uninstalled']);
    expect((await configMap(name)).status).toBe(404);
    const reinstalled = await helm.apply({ name, namespace, chart: chart(), chartVersion: '1.1.0', values: { n: 2 }, timeoutSeconds: 60 }, { atomic: false });
    expect(reinstalled.helmRevision).toBeGreaterThan(1);
    expect((await configMap(name)).data!.chartVersion).toBe('1.1.0');
  });

  it('leaves no values file or chart archive behind, after successes and failures alike', async () => {
    expect(await readdir(work)).toEqual([]);
  });
});
