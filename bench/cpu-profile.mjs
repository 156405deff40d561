/**
 * Preloaded into an app by the throughput benchmark when BENCH_CPU_PROF_DIR is set (node refuses
 * --cpu-prof in NODE_OPTIONS, but takes --import): profiles the whole process with V8's sampling
 * profiler and writes <dir>/<app>-<pid>.cpuprofile when it exits. Summarise with bench/profile-top.ts.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join, basename, dirname } from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 1 ms: fine enough for calls of a few ms, small enough a file for a run of minutes.
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  const app = basename(dirname(dirname(process.argv[1] || 'app/src/main.js')));
  process.on('exit', () => {
    // The in-process inspector session answers synchronously, so this runs before the process is gone.
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(join(dir, `${app}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
