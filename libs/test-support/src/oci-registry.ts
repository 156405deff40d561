import { ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hashSync } from 'bcryptjs';
import { freePort } from './apps';
import { waitFor } from './servers';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');

export interface OciRegistry {
  /** `oci://127.0.0.1:<port>`: charts pushed under `<url>/charts`. */
  url: string;
  /** The registry's self-signed certificate: trusting it (SSL_CERT_FILE) is what a private CA asks of helm. */
  caFile: string;
  /** `helm push`es a chart archive with the registry's credentials, as its owner would. */
  push: (helmBin: string, archive: string) => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * A real OCI registry on loopback (CNCF Distribution, built by scripts/infra/registry.sh): TLS with a
 * certificate of its own, every request needing `username` and `password` (htpasswd).
 */
export const startOciRegistry = async (auth: { username: string; password: string }): Promise<OciRegistry> => {
  const bin = (await run('bash', [join(ROOT, 'scripts', 'infra', 'registry.sh'), 'ensure'], { timeout: 900_000 })).stdout.trim().split('\n').pop()!;
  const dir = await mkdtemp(join(tmpdir(), 'oci-registry-'));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  // Go's bcrypt reads the 2a prefix; the hash is the same.
  await writeFile(join(dir, 'htpasswd'), `${auth.username}:${hashSync(auth.password, 10).replace(/^\$2b\$/, '$2a$')}\n`);
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log: { level: warn }',
    `storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:${port}", tls: { certificate: ${cert}, key: ${key} } }`,
    `auth: { htpasswd: { realm: charts, path: ${join(dir, 'htpasswd')} } }`,
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), `${config}\n`);
  let output = '';
  const child: ChildProcess = spawn(bin, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: dir } });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const helmEnv = { PATH: process.env.PATH ?? '', HOME: dir, HELM_CONFIG_HOME: join(dir, 'helm'), HELM_CACHE_HOME: join(dir, 'helm-cache'), SSL_CERT_FILE: cert };
  try {
    // Up when it answers /v2/ with 401: TLS works and it demands credentials.
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`the registry exited: ${output.slice(-2000)}`);
        const ca = await readFile(cert);
        return new Promise<boolean>((resolve) => {
          const req = httpsGet({ host: '127.0.0.1', port, path: '/v2/', ca }, (res) => {
            res.resume();
            resolve(res.statusCode === 401);
          });
          req.once('error', () => resolve(false));
        });
      },
      { timeoutMs: 30_000, what: 'the OCI registry to answer' },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `oci://127.0.0.1:${port}`,
    caFile: cert,
    push: async (helmBin, archive) => {
      await new Promise<void>((resolve, reject) => {
        const login = execFile(helmBin, ['registry', 'login', `127.0.0.1:${port}`, '--username', auth.username, '--password-stdin'], { env: helmEnv }, (error) => (error ? reject(error) : resolve()));
        login.stdin?.end(auth.password);
      });
      await run(helmBin, ['push', archive, `oci://127.0.0.1:${port}/charts`], { env: helmEnv });
    },
    stop,
  };
};
