import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { uniqueSuffix } from './servers';

interface KubeAuth {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

const fileOrData = (base: string, entry: Record<string, string>, name: string): Buffer | undefined => {
  if (entry[`${name}-data`]) return Buffer.from(entry[`${name}-data`], 'base64');
  if (entry[name]) return readFileSync(resolve(base, entry[name]));
  return undefined;
};

/** The current context's server and client certificate of a kubeconfig. */
const authOf = (kubeconfig: string): KubeAuth => {
  const doc = parse(readFileSync(kubeconfig, 'utf8'));
  const context = doc.contexts.find((c: { name: string }) => c.name === doc['current-context'])?.context ?? doc.contexts[0].context;
  const cluster = doc.clusters.find((c: { name: string }) => c.name === context.cluster).cluster;
  const user = doc.users.find((u: { name: string }) => u.name === context.user).user;
  const base = dirname(kubeconfig);
  return {
    server: cluster.server,
    ...(fileOrData(base, cluster, 'certificate-authority') ? { ca: fileOrData(base, cluster, 'certificate-authority') } : {}),
    ...(fileOrData(base, user, 'client-certificate') ? { cert: fileOrData(base, user, 'client-certificate') } : {}),
    ...(fileOrData(base, user, 'client-key') ? { key: fileOrData(base, user, 'client-key') } : {}),
  };
};

/** GET on the Kubernetes API of a kubeconfig: what the cluster really holds, without kubectl. */
export const kubeGet = (kubeconfig: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const auth = authOf(kubeconfig);
  const url = new URL(path, auth.server);
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { method: 'GET', ca: auth.ca, cert: auth.cert, key: auth.key, headers: { accept: 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end();
  });
};

export const testKube = (): { helmBin: string; kubeconfig: string } => {
  const helmBin = process.env.HELM_BIN;
  const kubeconfig = process.env.KUBECONFIG;
  if (!helmBin || !kubeconfig) {
    throw new Error('HELM_BIN and KUBECONFIG are not set: run `npm test`, which provisions helm and a local kube-apiserver');
  }
  return { helmBin, kubeconfig };
};

/**
 * The test cluster for one suite: helm, the kubeconfig, a namespace of the suite's own (helm creates it on
 * the first install), and the ConfigMap the fixture chart writes for a release, which holds what reached
 * the cluster (its chart version and values); status 404 once the release is gone.
 */
export const testCluster = (namespacePrefix: string) => {
  const { helmBin, kubeconfig } = testKube();
  const namespace = `${namespacePrefix}-${uniqueSuffix()}`;
  const configMap = async (release: string): Promise<{ status: number; data?: Record<string, string> }> => {
    const { status, body } = await kubeGet(kubeconfig, `/api/v1/namespaces/${namespace}/configmaps/${release}-config`);
    return { status, data: body.data as Record<string, string> | undefined };
  };
  return { helmBin, kubeconfig, namespace, configMap };
};
