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

/** When a PeriodicJob runs and what it logs of a failed run; `everyMs` 0: never. */
export interface Schedule {
  everyMs: number;
  immediately?: boolean;
  failed: (error: unknown) => void;
}

/**
 * A provider whose job runs from the app's start to its shutdown through runPeriodically, on the schedule
 * its constructor gives. Subclasses say what one run does.
 */
export abstract class PeriodicJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private running?: { stop: () => Promise<void> };

  protected constructor(private readonly schedule: Schedule) {}

  protected abstract runOnce(now: Date): Promise<unknown>;

  onApplicationBootstrap(): void {
    const { everyMs, immediately = false, failed } = this.schedule;
    if (everyMs === 0) return;
    this.running = runPeriodically(everyMs, () => this.runOnce(new Date()), failed, { immediately });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.running?.stop();
  }
}
