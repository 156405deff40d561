/**
 * The diff of two renderings of a release's manifests (what the helm-diff plugin shows): resources matched
 * by kind, namespace and name, each printed in a stable form, Secret data masked, as one unified diff.
 */
import { createTwoFilesPatch } from 'diff';
import { parseAllDocuments, stringify } from 'yaml';

export const MASKED = '<masked>';
export const MASKED_CHANGED = '<masked (changed)>';

export interface ManifestDiff {
  /** Unified diff, `current` against `target`; empty when nothing differs. */
  diff: string;
  resources: { changed: number; added: number; removed: number };
  /** True when the diff was cut at `maxBytes`. */
  truncated: boolean;
}

type Resource = Record<string, unknown> & { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };

/** The resources of a multi-document manifest, by `kind namespace/name`; what is not a resource is skipped. */
const resources = (manifest: string, namespace: string, maxDocuments: number): Map<string, Resource> => {
  const byKey = new Map<string, Resource>();
  // Helm's own output, but still bounded: at most maxDocuments documents, each an object with a kind.
  const documents = parseAllDocuments(manifest);
  const list = Array.isArray(documents) ? documents : [documents];
  for (const document of list.slice(0, maxDocuments)) {
    const value = document.toJS({ maxAliasCount: 100 }) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) continue;
    const resource = value as Resource;
    const kind = typeof resource.kind === 'string' ? resource.kind : 'Unknown';
    const name = typeof resource.metadata?.name === 'string' ? resource.metadata.name : '(unnamed)';
    const ns = typeof resource.metadata?.namespace === 'string' ? resource.metadata.namespace : namespace;
    byKey.set(`${kind} ${ns}/${name}`, resource);
  }
  return byKey;
};

/**
 * A Secret's data and stringData masked: the target side marks a key whose value differs from the current
 * side's (`<masked (changed)>`), so the diff shows that it changes, never what it was or becomes.
 */
const maskSecret = (resource: Resource, other: Resource | undefined, target: boolean): Resource => {
  if (resource.kind !== 'Secret') return resource;
  const masked: Resource = { ...resource };
  for (const field of ['data', 'stringData'] as const) {
    const entries = resource[field];
    if (!entries || typeof entries !== 'object') continue;
    const theirs = (other?.[field] ?? {}) as Record<string, unknown>;
    masked[field] = Object.fromEntries(
      Object.entries(entries as Record<string, unknown>).map(([key, value]) => [key, target && other && key in theirs && theirs[key] !== value ? MASKED_CHANGED : MASKED]),
    );
  }
  return masked;
};

const canonical = (resource: Resource): string => stringify(resource, { sortMapEntries: true, lineWidth: 0 });

/** Each resource printed in a stable form (keys sorted), Secret data masked against the other side. */
const printed = (byKey: Map<string, Resource>, other: Map<string, Resource>, target: boolean): Map<string, string> =>
  new Map([...byKey.keys()].sort().map((key) => [key, `# ${key}\n${stringify(maskSecret(byKey.get(key)!, other.get(key), target), { sortMapEntries: true, lineWidth: 0 })}`]));

export const diffManifests = (
  current: string,
  target: string,
  { namespace, maxBytes = 256 * 1024, maxDocuments = 2000 }: { namespace: string; maxBytes?: number; maxDocuments?: number },
): ManifestDiff => {
  const before = resources(current, namespace, maxDocuments);
  const after = resources(target, namespace, maxDocuments);
  const was = printed(before, after, false);
  const becomes = printed(after, before, true);
  let changed = 0;
  let added = 0;
  let removed = 0;
  for (const [key, text] of becomes) {
    if (!was.has(key)) added += 1;
    // Compared unmasked: a Secret whose only change is a value is changed too.
    else if (was.get(key) !== text || canonical(before.get(key)!) !== canonical(after.get(key)!)) changed += 1;
  }
  for (const key of was.keys()) if (!becomes.has(key)) removed += 1;
  if (changed + added + removed === 0) return { diff: '', resources: { changed, added, removed }, truncated: false };
  const patch = createTwoFilesPatch('current', 'target', [...was.values()].join('---\n'), [...becomes.values()].join('---\n'), undefined, undefined, { context: 3 });
  const truncated = Buffer.byteLength(patch) > maxBytes;
  return { diff: truncated ? `${Buffer.from(patch).subarray(0, maxBytes).toString('utf8')}\n… (cut at ${maxBytes} bytes)` : patch, resources: { changed, added, removed }, truncated };
};
