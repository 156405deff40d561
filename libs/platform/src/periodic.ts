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
