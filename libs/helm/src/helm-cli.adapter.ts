import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationOptions, Values } from '@app/domain';
import { describeRevision, markRevision, releaseStaleLock } from './helm-storage';
import { AppliedRelease, DesiredRelease, HelmError, HelmHistoryEntry, HelmListedRelease, HelmPort, operationMarker, TestRun } from './helm.port';
import { KubeApi, kubeAuth } from './kube-api';
import { pullCredentials, type RepositoryCredentials } from './pull-credentials';
import { describeNotReady } from './not-ready';

export interface HelmCliOptions {
  /** Path of the helm binary. */
  helmBin: string;
  kubeconfig?: string;
  /** Helm's cache, config and data directories live here, apart from any user's own Helm setup. */
  homeDir: string;
  /** Where per-operation temp directories (values file, pulled chart) are made; the OS default if unset. */
  tmpDir?: string;
  /** Where pulled chart archives are kept, one per repository, name and version; `<homeDir>/charts` if unset. */
  chartCacheDir?: string;
  /** Variables of the executor's environment helm gets besides its own (helmEnvironment chooses them). */
  env?: Record<string, string>;
  /** Credentials of a chart repository, from configuration; none: pulled anonymously. */
  credentials?: (repository: string) => RepositoryCredentials | undefined;
}

interface RunResult {
  stdout: string;
  stderr: string;
}

const MAX_ERROR = 4_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,249}$/;

/**
 * Helm's flags for an operation, from the recorded options only (booleans, never text): `--wait` unless
 * it is turned off, which is the service's default, and each other flag when asked for.
 */
export const operationFlags = (options: OperationOptions = {}): string[] => [
  ...(options.wait === false ? [] : ['--wait']),
  ...(options.waitForJobs && options.wait !== false ? ['--wait-for-jobs'] : []),
  ...(options.noHooks ? ['--no-hooks'] : []),
  ...(options.cleanupOnFail ? ['--cleanup-on-fail'] : []),
  ...(options.force ? ['--force'] : []),
];

/**
 * Release names and namespaces are checked again here, whatever the caller validated: they become helm
 * arguments, and a name such as `--post-renderer=…` must never be read as a flag (every positional also
 * stands after `--`).
 */
const checkedName = (name: string): string => {
  if (!DNS_LABEL.test(name)) throw new HelmError(`'${name.slice(0, 100)}' is not a DNS label; nothing was run`);
  return name;
};

/**
 * Runs the real `helm` binary with execFile and an argument array: no shell ever sees a release name,
 * a chart reference or a value. Values travel in a private temp file (0600 in a 0700 directory) that is
 * removed afterwards. Charts are pulled first and installed from the archive, so the digest recorded for
 * a revision is the digest of exactly what was applied.
 *
 * A pulled chart version is kept and applied again from the cache (chart versions are immutable by
 * convention, and chart repositories refuse to overwrite one by default): a rollback then applies the very
 * archive its target recorded, even if the repository has since changed or gone, and an operation saves a
 * `helm pull` process. When a recorded digest is expected and the kept archive differs, the chart is
 * pulled again and must match it.
 */
export class HelmCliAdapter implements HelmPort {
  /** Helm's storage is written directly only to release a stale lock; the client is made on first use. */
  private kube?: KubeApi;

  constructor(private readonly options: HelmCliOptions) {}

  async apply(desired: DesiredRelease, { atomic, signal }: { atomic: boolean; signal?: AbortSignal }): Promise<AppliedRelease> {
    return this.withTempDir(async (dir) => {
      const { archive, chartDigest } = await this.chartArchive(desired, dir, signal);
      const valuesFile = join(dir, 'values.json');
      await writeFile(valuesFile, JSON.stringify(desired.values), { mode: 0o600 });
      let stdout: string;
      try {
        ({ stdout } = await this.run(
          [
            'upgrade', '--install',
            '--namespace', checkedName(desired.namespace), '--create-namespace',
            '--values', valuesFile,
            ...operationFlags(desired.options), '--timeout', `${desired.timeoutSeconds}s`,
            ...(atomic ? ['--atomic'] : []),
            ...(desired.operationId ? ['--description', operationMarker(desired.operationId)] : []),
            '--output', 'json',
            '--', checkedName(desired.name), archive,
          ],
          { signal, timeoutMs: (desired.timeoutSeconds + 30) * 1000 },
        ));
      } catch (error) {
        const purged = atomic && !(await this.exists(desired.name, desired.namespace));
        const message = purged ? (error as Error).message : await this.withReasons((error as Error).message, desired.name, desired.namespace);
        const failed = purged ? undefined : await this.latestRevision(desired.name, desired.namespace);
        await this.markFailed(desired.name, desired.namespace, failed, desired.helmRevisionBefore, desired.operationId);
        throw new HelmError(message, failed, purged);
      }
      // `--output json` prints the release, whose version is Helm's revision: no extra helm call needed.
      const version = Number(parseJson<{ version?: unknown }>(stdout)?.version);
      const helmRevision = Number.isInteger(version) && version > 0 ? version : (await this.latestRevision(desired.name, desired.namespace))!;
      return { helmRevision, chartDigest };
    });
  }

  /**
   * `helm rollback` has no --description: the operation's marker is written into the new revision's
   * stored description afterwards, so a redelivered rollback is found in Helm's history like an upgrade.
   */
  async rollback(
    name: string,
    namespace: string,
    helmRevision: number,
    timeoutSeconds: number,
    { signal, operationId, helmRevisionBefore, flags }: { signal?: AbortSignal; operationId?: string; helmRevisionBefore?: number; flags?: OperationOptions } = {},
  ): Promise<number> {
    try {
      await this.run(['rollback', '--namespace', checkedName(namespace), ...operationFlags(flags), '--timeout', `${timeoutSeconds}s`, '--', checkedName(name), String(helmRevision)], {
        signal,
        timeoutMs: (timeoutSeconds + 30) * 1000,
      });
    } catch (error) {
      const failed = await this.latestRevision(name, namespace);
      await this.markFailed(name, namespace, failed, helmRevisionBefore, operationId);
      throw new HelmError(await this.withReasons((error as Error).message, name, namespace), failed);
    }
    const revision = (await this.latestRevision(name, namespace))!;
    if (operationId) {
      // The rollback is done either way; without the marker a redelivery would only run it once more.
      await this.storage().then((kube) => describeRevision(kube, checkedName(namespace), checkedName(name), revision, operationMarker(operationId))).catch(() => false);
    }
    return revision;
  }

  /**
   * Without --logs: a test pod's logs are the application's output and may hold what values hold; the
   * phases Helm prints say which test failed, and the pods stay in the cluster for whoever may read them.
   */
  async test(name: string, namespace: string, timeoutSeconds: number, signal?: AbortSignal): Promise<TestRun> {
    try {
      const { stdout } = await this.run(['test', '--namespace', checkedName(namespace), '--timeout', `${timeoutSeconds}s`, '--', checkedName(name)], {
        signal,
        timeoutMs: (timeoutSeconds + 30) * 1000,
      });
      return { passed: true, output: stdout.slice(0, MAX_ERROR) };
    } catch (error) {
      // An aborted or unstartable test is not a verdict on the release: the caller reports it as an error.
      if (signal?.aborted || /release: not found/.test((error as Error).message)) throw error;
      return { passed: false, output: (error as Error).message.slice(0, MAX_ERROR) };
    }
  }

  async uninstall(name: string, namespace: string, timeoutSeconds: number, signal?: AbortSignal): Promise<void> {
    await this.run(['uninstall', '--namespace', checkedName(namespace), '--keep-history', '--wait', '--timeout', `${timeoutSeconds}s`, '--', checkedName(name)], {
      signal,
      timeoutMs: (timeoutSeconds + 30) * 1000,
    });
  }

  async history(name: string, namespace: string): Promise<HelmHistoryEntry[]> {
    try {
      const { stdout } = await this.run(['history', '--namespace', checkedName(namespace), '--max', '10000', '--output', 'json', '--', checkedName(name)]);
      return JSON.parse(stdout) as HelmHistoryEntry[];
    } catch (error) {
      if (/release: not found/.test((error as Error).message)) return [];
      throw error;
    }
  }

  async list(max: number): Promise<HelmListedRelease[]> {
    const { stdout } = await this.run(['list', '--all-namespaces', '--all', '--max', String(max), '--output', 'json']);
    const listed = parseJson<unknown>(stdout);
    if (!Array.isArray(listed)) throw new HelmError('helm list printed no JSON list');
    // Helm prints the revision as a string; an entry it could not have made is left out, not guessed at.
    return listed.flatMap((entry: Record<string, unknown>) => {
      const revision = Number(entry?.revision);
      const { name, namespace, status, chart, updated } = entry ?? {};
      if (typeof name !== 'string' || typeof namespace !== 'string' || !Number.isInteger(revision) || revision < 1) return [];
      return [{ name, namespace, revision, status: String(status ?? ''), chart: String(chart ?? ''), ...(typeof updated === 'string' ? { updated } : {}) }];
    });
  }

  async manifest(name: string, namespace: string): Promise<string> {
    try {
      return (await this.run(['get', 'manifest', '--namespace', checkedName(namespace), '--', checkedName(name)])).stdout;
    } catch (error) {
      if (/release: not found/.test((error as Error).message)) return '';
      throw error;
    }
  }

  async template(desired: DesiredRelease): Promise<string> {
    return this.withTempDir(async (dir) => {
      const { archive } = await this.chartArchive(desired, dir);
      const valuesFile = join(dir, 'values.json');
      await writeFile(valuesFile, JSON.stringify(desired.values), { mode: 0o600 });
      const { stdout } = await this.run(['template', '--namespace', checkedName(desired.namespace), '--values', valuesFile, '--no-hooks', '--', checkedName(desired.name), archive], {
        timeoutMs: desired.timeoutSeconds * 1000,
      });
      return stdout;
    });
  }

  async values(name: string, namespace: string, revision: number): Promise<Values> {
    const { stdout } = await this.run(['get', 'values', '--namespace', checkedName(namespace), '--revision', String(revision), '--output', 'json', '--', checkedName(name)]);
    return (JSON.parse(stdout) ?? {}) as Values;
  }

  async metadata(name: string, namespace: string, revision: number): Promise<{ chart: string; version: string }> {
    const { stdout } = await this.run(['get', 'metadata', '--namespace', checkedName(namespace), '--revision', String(revision), '--output', 'json', '--', checkedName(name)]);
    const meta = parseJson<{ chart?: unknown; version?: unknown }>(stdout);
    if (typeof meta?.chart !== 'string' || typeof meta.version !== 'string') throw new Error(`helm get metadata of ${namespace}/${name} revision ${revision}: no chart name and version`);
    return { chart: meta.chart, version: meta.version };
  }

  async releaseLock(name: string, namespace: string, revision: number, staleStatus: string, description: string): Promise<boolean> {
    return releaseStaleLock(await this.storage(), checkedName(namespace), checkedName(name), revision, staleStatus, description);
  }

  /**
   * A failed revision gets Helm's error as its description, which would make it look made outside the
   * service: the operation's marker is put before it, when the failed revision is new (above the one
   * Helm held before the call). Best effort: unmarked, it is only reported as drift later.
   */
  private async markFailed(name: string, namespace: string, failed: number | undefined, before: number | undefined, operationId: string | undefined): Promise<void> {
    if (failed === undefined || operationId === undefined || failed <= (before ?? 0)) return;
    await this.storage()
      .then((kube) => markRevision(kube, checkedName(namespace), checkedName(name), failed, operationMarker(operationId)))
      .catch(() => false);
  }

  /**
   * Helm's error for a wait that timed out says only that; Kubernetes knows why (a Deployment without
   * minimum availability, a pod in CrashLoopBackOff or Pending): its words are added, bounded. Best effort.
   */
  private async withReasons(message: string, name: string, namespace: string): Promise<string> {
    if (!/timed out|deadline exceeded/i.test(message)) return message;
    try {
      const { stdout } = await this.run(['get', 'manifest', '--namespace', checkedName(namespace), '--', checkedName(name)]);
      const why = await describeNotReady(await this.storage(), namespace, stdout);
      return why ? `${message}; not ready: ${why}`.slice(0, MAX_ERROR) : message;
    } catch {
      return message;
    }
  }

  /** The Kubernetes API, for the writes the helm CLI cannot make (releasing a lock, a rollback's description). */
  private async storage(): Promise<KubeApi> {
    this.kube ??= new KubeApi(kubeAuth(this.options.kubeconfig));
    return this.kube;
  }

  private async exists(name: string, namespace: string): Promise<boolean> {
    return (await this.history(name, namespace)).length > 0;
  }

  private async latestRevision(name: string, namespace: string): Promise<number | undefined> {
    const history = await this.history(name, namespace).catch(() => []);
    return history.length ? Math.max(...history.map((h) => h.revision)) : undefined;
  }

  /** The archive of the chart version to apply, kept or pulled into `dir`, and its digest (see the class). */
  private async chartArchive(desired: DesiredRelease, dir: string, signal?: AbortSignal): Promise<{ archive: string; chartDigest: string }> {
    const cacheDir = this.options.chartCacheDir ?? join(this.options.homeDir, 'charts');
    const key = createHash('sha256').update(`${desired.chart.repository}\n${desired.chart.name}\n${desired.chartVersion}`).digest('hex');
    const kept = join(cacheDir, `${key}.tgz`);
    const keptDigest = await sha256File(kept).catch(() => undefined);
    if (keptDigest && (!desired.expectedDigest || keptDigest === desired.expectedDigest)) return { archive: kept, chartDigest: keptDigest };
    const archive = await this.pull(desired, dir, signal);
    const chartDigest = await sha256File(archive);
    if (desired.expectedDigest && desired.expectedDigest !== chartDigest) {
      throw new HelmError(
        `Chart ${desired.chart.name} ${desired.chartVersion} now has digest ${chartDigest}, not the recorded ${desired.expectedDigest}: ` +
          'the repository serves a different chart under that version; nothing was applied',
      );
    }
    // Copied, then renamed into place: an operation reading the kept archive never sees half of one.
    await mkdir(cacheDir, { recursive: true, mode: 0o700 });
    const partial = `${kept}.${randomUUID()}.partial`;
    await copyFile(archive, partial);
    await rename(partial, kept);
    return { archive, chartDigest };
  }

  /** Pulls the chart archive of exactly `chartVersion` into `dir`; returns its path. */
  private async pull(desired: DesiredRelease, dir: string, signal?: AbortSignal): Promise<string> {
    const { repository, name } = desired.chart;
    if (!CHART_NAME.test(name)) throw new HelmError(`'${name.slice(0, 100)}' is not a chart name; nothing was run`);
    const [flags, chart] = repository.startsWith('oci://')
      ? [[], `${repository.replace(/\/$/, '')}/${name}`]
      : [['--repo', repository], name];
    // Helm sends them to the repository's own host only (no --pass-credentials); helm's error text does
    // not repeat them.
    const auth = await pullCredentials(repository, this.options.credentials?.(repository), this.options.tmpDir ?? tmpdir());
    try {
      await this.run(['pull', ...flags, ...auth.args, '--version', desired.chartVersion, '--destination', dir, '--', chart], { signal, timeoutMs: 120_000 });
    } finally {
      await auth.cleanup();
    }
    const archive = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
    if (!archive) throw new HelmError(`helm pull left no chart archive for ${name} ${desired.chartVersion}`);
    return join(dir, archive);
  }

  private run(args: string[], { signal, timeoutMs = 60_000 }: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<RunResult> {
    const home = this.options.homeDir;
    return new Promise((resolve, reject) => {
      execFile(
        this.options.helmBin,
        args,
        {
          env: {
            ...this.options.env,
            PATH: process.env.PATH ?? '',
            HOME: home,
            HELM_CACHE_HOME: join(home, 'cache'),
            HELM_CONFIG_HOME: join(home, 'config'),
            HELM_DATA_HOME: join(home, 'data'),
            ...(this.options.kubeconfig ? { KUBECONFIG: this.options.kubeconfig } : {}),
          },
          timeout: timeoutMs,
          maxBuffer: 64 * 1024 * 1024,
          ...(signal ? { signal } : {}),
        },
        (error, stdout, stderr) => {
          if (!error) return resolve({ stdout, stderr });
          // Never error.message: it repeats the whole command line, credentials included.
          const text = (stderr || (error.killed ? 'killed (timeout)' : `exit code ${String(error.code ?? 'unknown')}`)).trim();
          const why = signal?.aborted ? `aborted (${String(signal.reason ?? 'shutdown')}): ${text}` : text;
          reject(new HelmError(`helm ${args[0]} failed: ${why}`.slice(0, MAX_ERROR)));
        },
      );
    });
  }

  private async withTempDir<T>(work: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.options.tmpDir ?? tmpdir(), 'helm-op-'));
    try {
      return await work(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

const parseJson = <T>(text: string): T | undefined => {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
};

const sha256File = async (path: string): Promise<string> =>
  `sha256:${createHash('sha256').update(await readFile(path)).digest('hex')}`;
