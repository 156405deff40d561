import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const FIXTURE_CHARTS = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'charts');

export interface ChartRepo {
  url: string;
  dir: string;
  stop: () => Promise<void>;
}

/**
 * A real Helm chart repository on loopback: the fixture charts packaged with `helm package`, indexed
 * with `helm repo index`, served by a static HTTP server.
 */
export const startChartRepo = async (
  helmBin: string,
  chartsDir = FIXTURE_CHARTS,
  /** Basic-auth credentials the repository demands of every request (401 without them). */
  auth?: { username: string; password: string },
): Promise<ChartRepo> => {
  const expected = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'chart-repo-'));
  const env = { ...process.env, HELM_CACHE_HOME: join(dir, '.cache'), HELM_CONFIG_HOME: join(dir, '.config'), HELM_DATA_HOME: join(dir, '.data') };
  for (const chart of await readdir(chartsDir)) {
    await run(helmBin, ['package', join(chartsDir, chart), '--destination', dir], { env });
  }
  const server: Server = createServer((req, res) => {
    if (expected && req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="charts"' }).end();
      return;
    }
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]).replace(/^\/+/, '');
    if (!/^[\w.-]+\.(tgz|yaml)$/.test(name)) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(dir, name))
      .then((body) => res.writeHead(200, { 'content-type': name.endsWith('.yaml') ? 'text/yaml' : 'application/gzip' }).end(body))
      .catch(() => res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  await run(helmBin, ['repo', 'index', dir, '--url', url], { env });
  return {
    url,
    dir,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
};
