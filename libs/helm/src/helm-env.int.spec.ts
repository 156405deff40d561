import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { testCluster } from '@app/test-support';
import { HelmCliAdapter } from './helm-cli.adapter';
import { helmEnvironment } from './helm-env';

// A kubeconfig whose user is an exec credential plugin, as the clouds' kubeconfigs are (aws eks get-token,
// gke-gcloud-auth-plugin, kubelogin): helm runs the plugin, which reads its settings from the environment.
// Here the plugin is a script that needs AWS_PROFILE and answers with the test cluster's admin certificate,
// and records whether anything of the service's own (MONGODB_URI) reached it.
describe('the environment helm gets (real helm, a real exec credential plugin)', () => {
  const { helmBin, kubeconfig } = testCluster('helm-env');
  let dir: string;
  let execKubeconfig: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'helm-env-'));
    const doc = parse(await readFile(kubeconfig, 'utf8')) as { users: Array<{ name: string; user: Record<string, unknown> }> };
    const admin = doc.users[0].user;
    const pem = (key: string) => Buffer.from(String(admin[key]), 'base64').toString('utf8');
    const credential = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { clientCertificateData: pem('client-certificate-data'), clientKeyData: pem('client-key-data') } };
    await writeFile(join(dir, 'credential.json'), JSON.stringify(credential));
    const plugin = join(dir, 'credential-plugin');
    await writeFile(
      plugin,
      [
        '#!/bin/sh',
        `echo "AWS_PROFILE=\${AWS_PROFILE:-} MONGODB_URI=\${MONGODB_URI:-}" >> '${dir}/seen'`,
        '[ "${AWS_PROFILE:-}" = "hrs-test" ] || { echo "no AWS_PROFILE: cannot get a token" >&2; exit 1; }',
        `cat '${dir}/credential.json'`,
        '',
      ].join('\n'),
    );
    await chmod(plugin, 0o700);
    doc.users[0].user = { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } };
    execKubeconfig = join(dir, 'kubeconfig');
    await writeFile(execKubeconfig, stringify(doc));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const adapter = (env: NodeJS.ProcessEnv, extra: string[] = []) =>
    new HelmCliAdapter({ helmBin, kubeconfig: execKubeconfig, homeDir: join(dir, 'home'), env: helmEnvironment(env, extra) });

  it("passes the cloud SDK's settings to the plugin, and nothing of the service's own", async () => {
    const env = { PATH: process.env.PATH, AWS_PROFILE: 'hrs-test', MONGODB_URI: 'mongodb://user:secret@db/x', AUTH_TOKENS: 'admin:ops:0123456789abcdef' };
    expect(Array.isArray(await adapter(env).list(10))).toBe(true);
    expect((await readFile(join(dir, 'seen'), 'utf8')).trim().split('\n').pop()).toBe('AWS_PROFILE=hrs-test MONGODB_URI=');
  });

  it('without the setting the plugin fails, and helm with it, in words', async () => {
    await expect(adapter({ PATH: process.env.PATH }).list(10)).rejects.toThrow(/no AWS_PROFILE: cannot get a token/);
  });

  it('passes a variable of HELM_ENV_PASSTHROUGH, never HELM_* or KUBECONFIG from the environment', () => {
    const env = { CORP_CA: 'x', HELM_DRIVER: 'memory', KUBECONFIG: '/elsewhere', HOME: '/root', KUBERNETES_SERVICE_HOST: '10.0.0.1', AWS_REGION: 'eu-west-1', MONGODB_URI: 'm' };
    expect(helmEnvironment(env, ['CORP_*', 'H*'])).toEqual({ CORP_CA: 'x', KUBERNETES_SERVICE_HOST: '10.0.0.1', AWS_REGION: 'eu-west-1' });
  });
});
