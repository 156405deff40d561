import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { matchRepository } from '@app/contracts';
import { ConfigError } from './config';

const CredentialsFileSchema = z.array(
  z.strictObject({
    repository: z.string().regex(/^(https?|oci):\/\/[^\s@]+$/, 'must be an http(s):// or oci:// URL or pattern, without credentials'),
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(4096),
  }),
);

export interface RepositoryCredentials {
  username: string;
  password: string;
}

/**
 * Chart repository credentials from CHART_REPOSITORY_CREDENTIALS_FILE (a mounted secret): a JSON array of
 * `{ "repository": "<URL or pattern>", "username": "…", "password": "…" }`, the first match wins. Read
 * once at start; a bad file stops the executor with a message that never quotes the file.
 */
export const loadRepositoryCredentials = (path: string | undefined): ((repository: string) => RepositoryCredentials | undefined) => {
  if (!path) return () => undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new ConfigError([`CHART_REPOSITORY_CREDENTIALS_FILE: cannot read ${path}: ${why}`]);
  }
  const parsed = CredentialsFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `CHART_REPOSITORY_CREDENTIALS_FILE: entry ${i.path.join('.')}: ${i.message}`));
  }
  const entries = parsed.data;
  return (repository) => {
    const pattern = matchRepository(repository, entries.map((e) => e.repository));
    const entry = entries.find((e) => e.repository === pattern);
    return entry ? { username: entry.username, password: entry.password } : undefined;
  };
};
