/**
 * Replay throughput into a rebuilt read model vs a raw read of the same collection, same run (issue 7,
 * goal >= 0.5x). Both read every commit; the replay also decodes, upcasts, projects and writes the views.
 */
import { randomUUID } from 'node:crypto';
import { CommandMetadata, ReleaseState } from '@app/domain';
import { handleCommand, loadStream } from '@app/event-store';
import { RELEASE_AGGREGATE, ReleaseReadModel } from '@app/release-store';
import { withBenchDatabase } from './database';
import { figure, now, report } from './support';

const RELEASES = Number(process.env.BENCH_REPLAY_RELEASES ?? 50);
const UPGRADES = Number(process.env.BENCH_REPLAY_UPGRADES ?? 10);

async function main(): Promise<void> {
  await withBenchDatabase('bench_replay', async ({ connection, store }) => {
    const meta = (): CommandMetadata => ({ commandId: randomUUID(), now: new Date().toISOString(), actor: 'bench', correlationId: 'bench' });
    for (let r = 0; r < RELEASES; r += 1) {
      const id = `r-${r}`;
      for (let u = 0; u <= UPGRADES; u += 1) {
        await handleCommand(store, id, u === 0
          ? { type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { r } } }
          : { type: 'UpgradeRelease', data: { releaseId: id, values: { r, u } } }, meta(), RELEASE_AGGREGATE);
        const { state } = await loadStream(store, id, RELEASE_AGGREGATE.decider);
        const pending = (state as Exclude<ReleaseState, { status: 'NONE' }>).pending!;
        await handleCommand(store, id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: pending.operationId, outcome: 'SUCCEEDED' } }, meta(), RELEASE_AGGREGATE);
      }
    }
    const total = await store.commits.countDocuments();
    let start = now();
    const raw = await store.commits.collection.find().toArray();
    const rawMs = now() - start;
    const model = new ReleaseReadModel(connection, `bench_${randomUUID().slice(0, 6)}_`);
    start = now();
    await model.rebuild(store);
    const replayMs = now() - start;
    report('replay', [
      figure({ figure: `replay into a rebuilt read model, ${total} commits (commits/s)`, ours: (total / replayMs) * 1000, baseline: (raw.length / rawMs) * 1000, unit: '/s', higherIsBetter: true, goalValue: 0.5, goal: '>= 0.5x' }),
    ]);
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
