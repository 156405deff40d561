import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface RepositoryCredentials {
  username: string;
  password: string;
}

/**
 * The helm arguments that hand a pull its repository's credentials, and how to clean up after it. An OCI
 * registry's go in a registry config of this pull only (a docker config file, mode 0600, removed after),
 * so the password is never on a command line; a chart repository's can only be given as --username and
 * --password (helm has no other way for --repo), which only the executor's own container can read.
 */
export const pullCredentials = async (
  repository: string,
  credentials: RepositoryCredentials | undefined,
  tmpDir: string,
): Promise<{ args: string[]; cleanup: () => Promise<void> }> => {
  if (!credentials) return { args: [], cleanup: async () => undefined };
  if (!repository.startsWith('oci://')) return { args: ['--username', credentials.username, '--password', credentials.password], cleanup: async () => undefined };
  const host = new URL(repository.replace(/^oci:/, 'https:')).host;
  const dir = await mkdtemp(join(tmpDir, 'registry-auth-'));
  const file = join(dir, 'config.json');
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  await writeFile(file, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
  return { args: ['--registry-config', file], cleanup: () => rm(dir, { recursive: true, force: true }) };
};
