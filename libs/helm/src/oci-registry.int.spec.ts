import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChartRepo, OciRegistry, startChartRepo, startOciRegistry, testCluster, uniqueSuffix } from '@app/test-support';
import { HelmCliAdapter } from './helm-cli.adapter';
import { HelmError } from './helm.port';

// Charts from a private OCI registry: a real registry (CNCF Distribution) with TLS of its own and
// htpasswd, the real helm pulling from it for the real kube-apiserver.
describe('charts from an OCI registry that demands credentials', () => {
  const { helmBin, kubeconfig, namespace } = testCluster('oci');
  const password = `pw-${uniqueSuffix()}-${uniqueSuffix()}`;
  let registry: OciRegistry;
  let fixtures: ChartRepo;
  let work: string;
  const homes: string[] = [];
  const home = async () => {
    homes.push(await mkdtemp(join(tmpdir(), 'helm-oci-')));
    return homes[homes.length - 1];
  };

  beforeAll(async () => {
    registry = await startOciRegistry({ username: 'charts', password });
    // The fixture charts as `helm package` makes them, pushed as their owner would.
    fixtures = await startChartRepo(helmBin);
    for (const version of ['1.0.0', '1.1.0']) await registry.push(helmBin, join(fixtures.dir, `web-${version}.tgz`));
    work = await mkdtemp(join(tmpdir(), 'helm-oci-work-'));
  }, 900_000);
  afterAll(async () => {
    await registry?.stop();
    await fixtures?.stop();
    for (const dir of [...homes, work]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pulls with the credentials configured for the registry, which never appear on a command line or stay on disk', async () => {
    const repository = `${registry.url}/charts`;
    // The registry's CA, trusted the way an executor trusts a private CA: SSL_CERT_FILE (HELM_ENV_PASSTHROUGH's defaults).
    const env = { SSL_CERT_FILE: registry.caFile };
    const desired = { name: 'from-oci', namespace, chart: { name: 'web', repository }, chartVersion: '1.0.0', values: { n: 1 }, timeoutSeconds: 60 };
    const anonymous = new HelmCliAdapter({ helmBin, kubeconfig, homeDir: await home(), tmpDir: work, env });
    const refused = await anonymous.apply(desired, { atomic: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HelmError);
    // Refused by the registry itself (TLS trusted): no credential for it.
    expect((refused as Error).message).toMatch(/helm pull failed: .*(401|unauthorized|basic credential not found)/i);

    // helm behind a shim that records every command line it is run with, as any process could read it.
    const argvLog = join(work, 'argv.log');
    const shim = join(work, 'helm-shim.sh');
    await writeFile(shim, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${helmBin}' "$@"\n`, { mode: 0o755 });
    const adapter = new HelmCliAdapter({ helmBin: shim, kubeconfig, homeDir: await home(), tmpDir: work, env, credentials: (r) => (r === repository ? { username: 'charts', password } : undefined) });
    expect((await adapter.apply(desired, { atomic: false })).helmRevision).toBe(1);
    const lines = (await readFile(argvLog, 'utf8')).trim().split('\n');
    const pulls = lines.filter((line) => line.startsWith('pull '));
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toContain('--registry-config');
    expect(lines.filter((line) => line.includes(password))).toEqual([]);
    // The registry config of the pull is gone with it.
    expect((await readdir(work)).filter((f) => f.startsWith('registry-auth-'))).toEqual([]);

    const wrong = new HelmCliAdapter({ helmBin, kubeconfig, homeDir: await home(), tmpDir: work, env, credentials: () => ({ username: 'charts', password: `${password}-wrong` }) });
    const denied = await wrong.apply({ ...desired, chartVersion: '1.1.0' }, { atomic: false }).catch((e: unknown) => e);
    expect((denied as Error).message).toMatch(/401|unauthorized/i);
    expect((denied as Error).message).not.toContain(password);
  }, 180_000);
});
