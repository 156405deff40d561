import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { AppConfig } from '@app/platform';
import { waitFor } from './servers';

const ROOT = join(__dirname, '..', '..', '..');

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** The environment that makes an app use `config` (the test's isolated topics and database). */
export const envOf = (config: AppConfig, extra: Record<string, string> = {}): Record<string, string> => ({
  KAFKA_BROKERS: config.KAFKA_BROKERS.join(','),
  KAFKA_TOPIC_PREFIX: config.KAFKA_TOPIC_PREFIX,
  KAFKA_TOPIC_PARTITIONS: String(config.KAFKA_TOPIC_PARTITIONS),
  MONGODB_URI: config.MONGODB_URI,
  LOG_LEVEL: process.env.TEST_APP_LOG_LEVEL ?? 'info',
  AUTH_TOKENS: config.AUTH_TOKENS.map((g) => `${g.role}:${g.subject}:${g.token}`).join(','),
  REQUEST_TIMEOUT_MS: String(config.REQUEST_TIMEOUT_MS),
  CHART_REPOSITORIES: config.CHART_REPOSITORIES.join(','),
  CHART_REPOSITORIES_PRIVATE_ALLOWED: String(config.CHART_REPOSITORIES_PRIVATE_ALLOWED),
  VALUES_VIEWER_VISIBLE_PATHS: config.VALUES_VIEWER_VISIBLE_PATHS.join(','),
  AUTH_GRANTS: JSON.stringify(config.AUTH_GRANTS),
  KAFKA_SYSTEM_SOURCES: config.KAFKA_SYSTEM_SOURCES.join(','),
  ...(config.CLUSTERS.length ? { CLUSTERS: JSON.stringify(config.CLUSTERS) } : {}),
  DEFAULT_CLUSTER: config.DEFAULT_CLUSTER,
  FREEZE_WINDOWS: JSON.stringify(config.FREEZE_WINDOWS),
  ...(config.OIDC_ISSUER ? { OIDC_ISSUER: config.OIDC_ISSUER } : {}),
  ...(config.OIDC_AUDIENCE ? { OIDC_AUDIENCE: config.OIDC_AUDIENCE } : {}),
  ...(config.OIDC_JWKS_FILE ? { OIDC_JWKS_FILE: config.OIDC_JWKS_FILE } : {}),
  ...extra,
});

export interface RunningApp {
  name: string;
  port: number;
  url: string;
  process: ChildProcess;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * Starts a built app as its own process, as it runs in production, and waits until it is ready.
 * The e2e tier runs after `npm run build` (scripts/test.sh does both).
 */
export const startApp = async (
  name: 'api' | 'release-service' | 'executor' | 'remediation',
  env: Record<string, string>,
): Promise<RunningApp> => {
  const main = join(ROOT, 'dist', 'apps', name, 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` before the e2e tests`);
  const port = await freePort();
  const portVar = { api: 'API_PORT', 'release-service': 'RELEASE_SERVICE_PORT', executor: 'EXECUTOR_PORT', remediation: 'REMEDIATION_PORT' }[name];
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, [portVar]: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output.slice(-3000)}`);
        const res = await fetch(`${url}/health/ready`).catch(() => null);
        return res?.ok ?? false;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `${name} to be ready` },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n--- ${name} output ---\n${output.slice(-4000)}`);
  }
  return {
    name,
    port,
    url,
    process: child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
};

/** A request as the suites' clients send it. */
export interface AppRequest {
  /** A string is sent as it is (malformed on purpose, say), anything else as JSON. */
  body?: unknown;
  /** Sent as a bearer token; none with null. */
  token?: string | null;
  /** The content-type of the body. */
  type?: string;
  headers?: Record<string, string>;
}

/** An app's answer, its body as text: each suite reads it as strictly as it expects it. */
export interface AppAnswer {
  status: number;
  /** The content-type header, '' without one. */
  type: string;
  allow: string | null;
  text: string;
}

/** One HTTP request to a running app, `path` from its root. */
export const request = async (app: RunningApp, method: string, path: string, { body, token = null, type = 'application/json', headers = {} }: AppRequest = {}): Promise<AppAnswer> => {
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': type } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', allow: res.headers.get('allow'), text: await res.text() };
};

/** The command lines of the processes whose parent is `pid` (from /proc): which app has a helm call running. */
export const childCommands = async (pid: number): Promise<string[]> => {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The parent pid is the second field after the command name, which is in parentheses and may hold spaces.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent !== pid) continue;
    found.push((await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim());
  }
  return found;
};
