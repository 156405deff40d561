import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

/**
 * The few calls the executor makes to the Kubernetes API itself (Helm's release storage, for a stale
 * lock): a GET and a conditional PUT, over HTTPS, with the credentials of a kubeconfig (its current
 * context: CA, client certificate or bearer token) or of the pod's service account. The official client
 * (@kubernetes/client-node) is ESM-only from 1.0 and the 0.x line depends on the deprecated `request`;
 * this service is CommonJS, so two requests are made here with node:https.
 */
export interface KubeAuth {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  insecure?: boolean;
}

const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

const fileOrData = (base: string, entry: Record<string, unknown>, name: string): Buffer | undefined => {
  const data = entry[`${name}-data`];
  if (typeof data === 'string') return Buffer.from(data, 'base64');
  const file = entry[name];
  if (typeof file === 'string') return readFileSync(resolve(base, file));
  return undefined;
};

interface Named {
  name: string;
  [key: string]: unknown;
}

/** The credentials of a kubeconfig's current context (or its first), or of the pod when none is given. */
export const kubeAuth = (kubeconfig?: string): KubeAuth => {
  if (!kubeconfig) {
    const host = process.env.KUBERNETES_SERVICE_HOST;
    if (!host) throw new Error('no kubeconfig and not in a pod: the Kubernetes API is unknown');
    return {
      server: `https://${host.includes(':') ? `[${host}]` : host}:${process.env.KUBERNETES_SERVICE_PORT ?? '443'}`,
      ca: readFileSync(`${SERVICE_ACCOUNT}/ca.crt`),
      token: readFileSync(`${SERVICE_ACCOUNT}/token`, 'utf8').trim(),
    };
  }
  const doc = parse(readFileSync(kubeconfig, 'utf8'), { maxAliasCount: 10 }) as Record<string, Array<Named>> & { 'current-context'?: string };
  const find = (list: Array<Named> | undefined, name: unknown, key: string): Record<string, unknown> => {
    const entry = (list ?? []).find((e) => e.name === name) ?? (list ?? [])[0];
    if (!entry) throw new Error(`kubeconfig ${kubeconfig} has no ${key}`);
    return (entry[key] ?? {}) as Record<string, unknown>;
  };
  const context = find(doc.contexts, doc['current-context'], 'context');
  const cluster = find(doc.clusters, context.cluster, 'cluster');
  const user = find(doc.users, context.user, 'user');
  const base = dirname(kubeconfig);
  const token = typeof user.token === 'string' ? user.token : typeof user.tokenFile === 'string' ? readFileSync(resolve(base, user.tokenFile), 'utf8').trim() : undefined;
  return {
    server: String(cluster.server),
    ca: fileOrData(base, cluster, 'certificate-authority'),
    cert: fileOrData(base, user, 'client-certificate'),
    key: fileOrData(base, user, 'client-key'),
    ...(token ? { token } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecure: true } : {}),
  };
};

export class KubeApi {
  constructor(private readonly auth: KubeAuth) {}

  get<T>(path: string): Promise<{ status: number; body: T | undefined }> {
    return this.call<T>('GET', path);
  }

  /** A create: 409 when an object of that name exists. */
  post<T>(path: string, body: unknown): Promise<{ status: number; body: T | undefined }> {
    return this.call<T>('POST', path, body);
  }

  /** A replace; with the object's resourceVersion in it, it fails with 409 if the object changed since it was read. */
  put<T>(path: string, body: unknown): Promise<{ status: number; body: T | undefined }> {
    return this.call<T>('PUT', path, body);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T | undefined }> {
    const { server, ca, cert, key, token, insecure } = this.auth;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolvePromise, reject) => {
      const req = request(
        new URL(path, server),
        {
          method,
          ca,
          cert,
          key,
          rejectUnauthorized: !insecure,
          timeout: 30_000,
          headers: {
            accept: 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new Error(`Kubernetes API answer to ${method} ${path} is over ${MAX_RESPONSE_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: T | undefined;
            try {
              parsed = text ? (JSON.parse(text) as T) : undefined;
            } catch {
              parsed = undefined;
            }
            resolvePromise({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`Kubernetes API ${method} ${path} timed out`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }
}
