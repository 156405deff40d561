import { Topics } from '@app/contracts';
import { AppConfig } from '@app/platform';
import { envOf, RunningApp, startApp } from './apps';
import { Captured, KafkaProbe } from './kafka';
import { waitFor } from './servers';

type AppName = Parameters<typeof startApp>[0];

/** The apps one suite runs, each its own process on the suite's topics and database, and a probe on their topics. */
export interface Stack<A extends string, R extends string = never> {
  config: AppConfig;
  /**
   * The running apps by the suite's names for them. A suite that replaces one (a restart after a kill)
   * puts the new one here, so that stop() stops it.
   */
  apps: Record<A, RunningApp>;
  probe: KafkaProbe;
  /** Every message of each list of topics the suite asked to record, from the beginning, in arrival order. */
  recorded: Record<R, Captured[]>;
  /** Starts one more app with the environment the others got. */
  start: (name: AppName) => Promise<RunningApp>;
  /** Stops the probe, then every app at once (SIGTERM, the last started first); their exit codes in that order. */
  stop: () => Promise<Array<number | null>>;
}

/**
 * Starts `apps` one after another in the order written, each with `envOf(config, env)`, then a KafkaProbe
 * recording each list of topics of `record` with a consumer of its own. Whatever it started is stopped
 * again when a later step fails, so a suite whose set-up failed leaves no process behind.
 */
export const startStack = async <A extends string, R extends string = never>(
  config: AppConfig,
  { apps, env = {}, record = {} as Record<R, string[]> }: { apps: Record<A, AppName>; env?: Record<string, string>; record?: Record<R, string[]> },
): Promise<Stack<A, R>> => {
  const running = {} as Record<A, RunningApp>;
  let probe: KafkaProbe | undefined;
  const start = (name: AppName) => startApp(name, envOf(config, env));
  const stop = async () => {
    await probe?.stop();
    return Promise.all(Object.values<RunningApp>(running).reverse().map((app) => app.stop()));
  };
  try {
    for (const [label, name] of Object.entries(apps) as Array<[A, AppName]>) running[label] = await start(name);
    probe = new KafkaProbe(config);
    await probe.start();
    const lists = Object.entries(record) as Array<[R, string[]]>;
    const captured = await Promise.all(lists.map(([, topics]) => probe!.record(topics)));
    const recorded = Object.fromEntries(lists.map(([label], i) => [label, captured[i]])) as Record<R, Captured[]>;
    return { config, apps: running, probe, recorded, start, stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
};

/**
 * Waits until remediation has acted on every event of release `id` so far and the release service has
 * decided what it asked: a marker failure (of a revision that does not exist, made from the captured
 * `failure` of that release) behind them on the same partition, whose rollback request is answered only
 * after theirs. Proves an absence (no automatic rollback) without sleeping. `results` records the
 * command-results topic.
 */
export const remediationCaughtUp = async (probe: KafkaProbe, results: Captured[], id: string, failure: Captured): Promise<void> => {
  const marker = JSON.parse(failure.value!.toString()) as { id: string; data: Record<string, unknown> };
  const revision = 900 + Math.floor(Math.random() * 99);
  await probe.send(Topics.events, id, JSON.stringify({ ...marker, id: `${marker.id}-marker-${revision}`, data: { ...marker.data, revision, remediate: true } }));
  await waitFor(() => results.some((r) => (r.json() as { data: { commandId: string } }).data.commandId === `remediate:${id}:${revision}`), {
    timeoutMs: 60_000,
    what: 'the marker rollback request answered',
  });
};
