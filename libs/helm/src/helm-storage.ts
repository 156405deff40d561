import { gunzipSync, gzipSync } from 'node:zlib';
import { KubeApi } from './kube-api';

/** A decoded Helm release is bounded like any input: a release's manifests and chart stay far below this. */
const MAX_RELEASE_BYTES = 64 * 1024 * 1024;

interface ReleaseSecret {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; resourceVersion?: string; [key: string]: unknown };
  data?: { release?: string };
  [key: string]: unknown;
}

interface StoredRelease {
  info?: { status?: string; description?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Helm 3's Secrets driver (its default): one Secret per revision, the release as base64 of gzipped JSON. */
export const releaseSecretPath = (namespace: string, name: string, revision: number): string =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(`sh.helm.release.v1.${name}.v${revision}`)}`;

const decode = (data: string): StoredRelease => {
  // The API returns Secret data base64-encoded; Helm's own value inside is base64 again, of gzip.
  const inner = Buffer.from(Buffer.from(data, 'base64').toString('latin1'), 'base64');
  const json = inner[0] === 0x1f && inner[1] === 0x8b ? gunzipSync(inner, { maxOutputLength: MAX_RELEASE_BYTES }) : inner;
  return JSON.parse(json.toString('utf8')) as StoredRelease;
};

const encode = (release: StoredRelease): string =>
  Buffer.from(gzipSync(Buffer.from(JSON.stringify(release))).toString('base64'), 'latin1').toString('base64');

/**
 * Rewrites one stored Helm revision: `change` edits the decoded release and says whether to write it
 * (false: leave it). The replace carries the resourceVersion read, so nothing another client wrote
 * meanwhile is overwritten. False: not there, left as it was, or changed meanwhile.
 */
const rewriteRelease = async (kube: KubeApi, namespace: string, name: string, revision: number, change: (release: StoredRelease) => boolean): Promise<boolean> => {
  const path = releaseSecretPath(namespace, name, revision);
  const { status, body: secret } = await kube.get<ReleaseSecret>(path);
  if (status === 404 || !secret?.data?.release) return false;
  if (status !== 200) throw new Error(`reading Helm's storage of ${namespace}/${name} revision ${revision}: HTTP ${status}`);
  const release = decode(secret.data.release);
  if (!change(release)) return false;
  const labels = { ...secret.metadata.labels, ...(release.info?.status ? { status: release.info.status } : {}), modifiedAt: String(Math.floor(Date.now() / 1000)) };
  const replaced = await kube.put(path, { ...secret, metadata: { ...secret.metadata, labels }, data: { ...secret.data, release: encode(release) } });
  if (replaced.status === 409) return false;
  if (replaced.status !== 200) throw new Error(`writing Helm's storage of ${namespace}/${name} revision ${revision}: HTTP ${replaced.status}`);
  return true;
};

/**
 * Releases a stale Helm lock the way Flux's helm-controller does: the revision left `pending-*` by a
 * client that stopped mid-operation is marked failed in Helm's storage, with a description that says why,
 * so the next operation may run; only if it is still in the status that was judged stale.
 */
export const releaseStaleLock = (kube: KubeApi, namespace: string, name: string, revision: number, staleStatus: string, description: string): Promise<boolean> =>
  rewriteRelease(kube, namespace, name, revision, (release) => {
    if (release.info?.status !== staleStatus) return false;
    release.info = { ...release.info, status: 'failed', description };
    return true;
  });

/** Sets the description of a stored revision (helm rollback has no --description): the operation's marker. */
export const describeRevision = (kube: KubeApi, namespace: string, name: string, revision: number, description: string): Promise<boolean> =>
  rewriteRelease(kube, namespace, name, revision, (release) => {
    release.info = { ...release.info, description };
    return true;
  });

/** Puts `mark` before a stored revision's description (a failed revision keeps Helm's error after it), once. */
export const markRevision = (kube: KubeApi, namespace: string, name: string, revision: number, mark: string): Promise<boolean> =>
  rewriteRelease(kube, namespace, name, revision, (release) => {
    const description = release.info?.description ?? '';
    if (description.startsWith(mark)) return false;
    release.info = { ...release.info, description: `${mark}: ${description}` };
    return true;
  });
