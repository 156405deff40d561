import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigSchema } from '@app/platform';

// docs/deployment.md promises every configuration key with its default: held to the configuration's schema.
describe('docs/deployment.md', () => {
  const table = readFileSync(join(__dirname, '../../docs/deployment.md'), 'utf8');
  const documented = new Map([...table.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1], m[2].trim()]));

  it('names every configuration key, and no key that is not one', () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
  });

  it('gives the default each key has', () => {
    for (const [key, schema] of Object.entries(ConfigSchema.shape)) {
      const parsed = (schema as { safeParse: (v: unknown) => { success: boolean; data?: unknown } }).safeParse(undefined);
      const value = parsed.data;
      const plain = Array.isArray(value) ? value.join(',') : value === undefined ? undefined : String(value);
      // Unset and empty defaults are described in words; the others are the value, in backquotes.
      if (plain) expect({ key, doc: documented.get(key) }).toEqual({ key, doc: `\`${plain}\`` });
      else expect({ key, doc: documented.get(key) }).toEqual({ key, doc: expect.stringMatching(/^\((unset|none|empty)[^)]*\)|^`[^`]+`$/) });
    }
  });
});
