import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRepositoryCredentials } from './repository-credentials';

describe('chart repository credentials from a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'creds-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('finds the first entry whose repository pattern matches, and none for others', () => {
    const lookup = loadRepositoryCredentials(
      file('ok.json', JSON.stringify([
        { repository: 'https://charts.example.com/team-a*', username: 'a', password: 'pa' },
        { repository: 'https://charts.example.com/*', username: 'all', password: 'pall' },
      ])),
    );
    expect(lookup('https://charts.example.com/team-a/stable')).toEqual({ username: 'a', password: 'pa' });
    expect(lookup('https://charts.example.com/other')).toEqual({ username: 'all', password: 'pall' });
    expect(lookup('https://elsewhere.example.com/')).toBeUndefined();
    expect(loadRepositoryCredentials(undefined)('https://charts.example.com/x')).toBeUndefined();
  });

  it('refuses a bad file without ever quoting it', () => {
    for (const text of ['{"password": "hunter2-in-broken-json', JSON.stringify([{ repository: 'https://x.example.com', username: 'u', password: 'hunter2', extra: 1 }]), JSON.stringify([{ repository: 'https://u:hunter2@x.example.com', username: 'u', password: 'p' }])]) {
      const path = file(`bad-${text.length}.json`, text);
      expect(() => loadRepositoryCredentials(path)).toThrow(/CHART_REPOSITORY_CREDENTIALS_FILE/);
      try {
        loadRepositoryCredentials(path);
      } catch (error) {
        expect((error as Error).message).not.toContain('hunter2');
      }
    }
  });
});
