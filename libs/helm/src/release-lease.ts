import { KubeApi } from './kube-api';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

/**
 * One executor at a time per Helm release: a coordination.k8s.io Lease (`<namespace>.<name>` in one
 * namespace of the executor's), held while an operation runs and renewed meanwhile. A holder that stopped
 * renewing (killed) loses it once `durationSeconds` passed since its last renewal. Every write carries
 * the resourceVersion read, so two executors never both take it.
 */
export class ReleaseLease {
  constructor(
    private readonly kube: KubeApi,
    private readonly options: { namespace: string; holder: string; durationSeconds: number; now?: () => number },
  ) {}

  private path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
    return name ? `${base}/${encodeURIComponent(name)}` : base;
  }

  private leaseName(namespace: string, name: string): string {
    return `${namespace}.${name}`;
  }

  /** Takes the lease of a Helm release if it is free, expired or already this holder's; else says who holds it. */
  async acquire(namespace: string, name: string): Promise<{ held: true } | { held: false; holder: string }> {
    const now = (this.options.now ?? Date.now)();
    const leaseName = this.leaseName(namespace, name);
    const spec = { holderIdentity: this.options.holder, leaseDurationSeconds: this.options.durationSeconds, acquireTime: microTime(now), renewTime: microTime(now) };
    const { status, body } = await this.kube.get<Lease>(this.path(leaseName));
    if (status === 404) {
      const created = await this.kube.post(this.path(), {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: leaseName, namespace: this.options.namespace, labels: { 'app.kubernetes.io/managed-by': 'helm-rollback-service' } },
        spec,
      });
      if (created.status === 201 || created.status === 200) return { held: true };
      if (created.status === 409) return { held: false, holder: 'another executor (it took the lease just now)' };
      throw new Error(`creating the lease of ${namespace}/${name}: HTTP ${created.status}`);
    }
    if (status !== 200 || !body) throw new Error(`reading the lease of ${namespace}/${name}: HTTP ${status}`);
    const holder = body.spec.holderIdentity;
    const renewed = Date.parse(body.spec.renewTime ?? '') || 0;
    const expired = renewed + (body.spec.leaseDurationSeconds ?? 0) * 1000 < now;
    if (holder && holder !== this.options.holder && !expired) return { held: false, holder };
    const replaced = await this.kube.put(this.path(leaseName), { ...body, spec: { ...body.spec, ...spec } });
    if (replaced.status === 200) return { held: true };
    if (replaced.status === 409) return { held: false, holder: 'another executor (it took the lease just now)' };
    throw new Error(`taking the lease of ${namespace}/${name}: HTTP ${replaced.status}`);
  }

  /** Renews a lease this holder has; false if it is not this holder's any more. */
  async renew(namespace: string, name: string): Promise<boolean> {
    const { status, body } = await this.kube.get<Lease>(this.path(this.leaseName(namespace, name)));
    if (status !== 200 || !body || body.spec.holderIdentity !== this.options.holder) return false;
    const replaced = await this.kube.put(this.path(this.leaseName(namespace, name)), { ...body, spec: { ...body.spec, renewTime: microTime((this.options.now ?? Date.now)()) } });
    return replaced.status === 200;
  }

  /** Gives a lease this holder has back (it expires at once), so the next operation need not wait for it. */
  async release(namespace: string, name: string): Promise<void> {
    const { status, body } = await this.kube.get<Lease>(this.path(this.leaseName(namespace, name)));
    if (status !== 200 || !body || body.spec.holderIdentity !== this.options.holder) return;
    await this.kube.put(this.path(this.leaseName(namespace, name)), { ...body, spec: { ...body.spec, holderIdentity: '', renewTime: microTime(0) } });
  }
}
