import { diffManifests, MASKED, MASKED_CHANGED } from './manifest-diff';

const configMap = (name: string, greeting: string) => `---
# Source: web/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
data:
  greeting: ${greeting}
`;
const secret = (password: string, user = 'app') => `---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: ${password}
  user: ${user}
`;

describe('diffManifests', () => {
  it('diffs resources by kind, namespace and name, and counts what changed, came and went', () => {
    const result = diffManifests(configMap('web', 'v2') + configMap('old', 'x'), configMap('web', 'v1') + configMap('new', 'y'), { namespace: 'apps' });
    expect(result.resources).toEqual({ changed: 1, added: 1, removed: 1 });
    expect(result.diff).toContain('-  greeting: v2');
    expect(result.diff).toContain('+  greeting: v1');
    expect(result.diff).toContain('# ConfigMap apps/new');
    expect(result.truncated).toBe(false);
  });

  it('is empty when the renderings differ only in order and comments', () => {
    const a = configMap('a', '1') + configMap('b', '2');
    const b = `# another comment\n${configMap('b', '2')}${configMap('a', '1')}`;
    expect(diffManifests(a, b, { namespace: 'apps' })).toEqual({ diff: '', resources: { changed: 0, added: 0, removed: 0 }, truncated: false });
  });

  it('never shows Secret values: a changed one is marked changed, an unchanged one masked', () => {
    const result = diffManifests(secret('hunter2'), secret('correct-horse'), { namespace: 'apps' });
    expect(result.resources.changed).toBe(1);
    expect(result.diff).not.toContain('hunter2');
    expect(result.diff).not.toContain('correct-horse');
    expect(result.diff).toContain(`password: ${MASKED_CHANGED}`);
    expect(result.diff).toContain(`user: ${MASKED}`);
  });

  it('cuts a diff above maxBytes and says so', () => {
    const many = (v: string) => Array.from({ length: 200 }, (_, i) => configMap(`cm-${i}`, v)).join('');
    const result = diffManifests(many('a'), many('b'), { namespace: 'apps', maxBytes: 4096 });
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.diff)).toBeLessThan(4200);
    expect(result.resources.changed).toBe(200);
  });

  it('skips what is not a resource and bounds aliases (a billion-laughs manifest is not expanded)', () => {
    const laughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`;
    expect(() => diffManifests(laughs, configMap('web', 'v1'), { namespace: 'apps' })).toThrow();
    expect(diffManifests('just a string\n---\n- a list\n', configMap('web', 'v1'), { namespace: 'apps' }).resources).toEqual({ changed: 0, added: 1, removed: 0 });
  });
});
