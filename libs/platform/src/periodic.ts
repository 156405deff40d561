import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

/**
 * A job run every `intervalMs` (and at once when `immediately`), never two runs at a time: a tick while a
 * run is still going is skipped. A failed run is reported to `onError` and the next tick tries again.
 * `stop` clears the timer and waits for the run in progress, for a clean shutdown.
 */
export const runPeriodically = (
  intervalMs: number,
  job: () => Promise<unknown>,
  onError: (error: unknown) => void,
  { immediately = false }: { immediately?: boolean } = {},
): { stop: () => Promise<void> } => {
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return;
    running = job()
      .catch(onError)
      .finally(() => (running = undefined));
  };
  if (immediately) tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
};

/**
 * A provider whose job runs from the app's start to its shutdown through runPeriodically: every
 * `intervalMs()` (0: never), at once too when `immediately`. Subclasses say what runs and what a failure logs.
 */
export abstract class PeriodicJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private schedule?: { stop: () => Promise<void> };
  protected readonly immediately: boolean = false;

  protected abstract intervalMs(): number;
  protected abstract runOnce(now: Date): Promise<unknown>;
  protected abstract failed(error: unknown): void;

  onApplicationBootstrap(): void {
    const intervalMs = this.intervalMs();
    if (intervalMs === 0) return;
    this.schedule = runPeriodically(intervalMs, () => this.runOnce(new Date()), (error) => this.failed(error), { immediately: this.immediately });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.schedule?.stop();
  }
}
