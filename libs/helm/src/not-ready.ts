import { parseAllDocuments } from 'yaml';
import type { KubeApi } from './kube-api';

/** Helm's own timeout says only that it waited; this many workloads and pods are looked at for why. */
const MAX_WORKLOADS = 5;
const MAX_PODS = 3;
const MAX_TEXT = 1_500;

const WORKLOADS: Record<string, string> = { Deployment: 'deployments', StatefulSet: 'statefulsets', DaemonSet: 'daemonsets' };

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}
interface Workload {
  spec?: { selector?: { matchLabels?: Record<string, string> } };
  status?: { conditions?: Condition[]; readyReplicas?: number; replicas?: number };
}
interface Pod {
  metadata?: { name?: string };
  status?: {
    phase?: string;
    conditions?: Condition[];
    containerStatuses?: Array<{ name?: string; ready?: boolean; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }>;
  };
}

const said = (c: Condition): string => `${c.type} ${c.reason ?? c.status}${c.message ? `: ${c.message}` : ''}`;

/** A pod that is not Ready, in Kubernetes' words: its phase, its containers' waiting or terminated reasons, its false conditions. */
const podReason = (pod: Pod): string | undefined => {
  const status = pod.status ?? {};
  if (status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return undefined;
  const containers = (status.containerStatuses ?? []).flatMap((c) => {
    const waiting = c.state?.waiting?.reason;
    const terminated = c.state?.terminated;
    return waiting ? [`${c.name} ${waiting}`] : terminated ? [`${c.name} ${terminated.reason ?? 'Terminated'} (exit ${terminated.exitCode ?? '?'})`] : [];
  });
  const conditions = (status.conditions ?? []).filter((c) => c.status === 'False' && c.reason).map(said);
  return `pod ${pod.metadata?.name}: ${[status.phase ?? 'no phase', ...containers, ...conditions].join(', ')}`;
};

/**
 * Why a release's workloads are not ready, from the Kubernetes API: for each Deployment, StatefulSet and
 * DaemonSet of its manifest, its false conditions and its pods that are not Ready. Best effort and bounded:
 * it only adds to Helm's error, which says no more than that it timed out.
 */
export const describeNotReady = async (kube: KubeApi, namespace: string, manifest: string): Promise<string> => {
  const workloads = parseAllDocuments(manifest.slice(0, 4 * 1024 * 1024))
    .map((d) => d.toJS({ maxAliasCount: 0 }) as { kind?: unknown; metadata?: { name?: unknown } } | null)
    .filter((d): d is { kind: string; metadata: { name: string } } => typeof d?.kind === 'string' && d.kind in WORKLOADS && typeof d.metadata?.name === 'string')
    .slice(0, MAX_WORKLOADS);
  const reasons: string[] = [];
  for (const w of workloads) {
    const { status, body } = await kube.get<Workload>(`/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${WORKLOADS[w.kind]}/${encodeURIComponent(w.metadata.name)}`);
    if (status !== 200 || !body) continue;
    const falseConditions = (body.status?.conditions ?? []).filter((c) => c.status === 'False').map(said);
    const labels = Object.entries(body.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = labels
      ? ((await kube.get<{ items?: Pod[] }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(labels)}&limit=${MAX_PODS}`)).body?.items ?? [])
      : [];
    const notReady = pods.map(podReason).filter((r): r is string => r !== undefined);
    if (falseConditions.length || notReady.length) {
      reasons.push(`${w.kind} ${w.metadata.name} (${body.status?.readyReplicas ?? 0}/${body.status?.replicas ?? 0} ready): ${[...falseConditions, ...notReady].join('; ')}`);
    }
  }
  return reasons.join(' | ').slice(0, MAX_TEXT);
};
