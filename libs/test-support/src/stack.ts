import { AppConfig } from '@app/platform';
import { envOf, RunningApp, startApp } from './apps';
import { Captured, KafkaProbe } from './kafka';

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
