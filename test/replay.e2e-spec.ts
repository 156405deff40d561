import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { CommandMetadata, ReleaseCommand, ReleaseState } from '@app/domain';
import { handleCommand, loadStream, MongoEventStore } from '@app/event-store';
import { RELEASE_AGGREGATE, RELEASE_EVENT_SCHEMAS, ReleaseReadModel } from '@app/release-store';
import { AppConfig } from '@app/platform';
import { envOf, request, Stack, startStack, testConfig, uniqueSuffix, waitFor } from '@app/test-support';
import mongoose, { Connection } from 'mongoose';

const CLI = join(__dirname, '..', 'dist', 'apps', 'replay', 'src', 'cli.js');
const VIEWER = 'viewer-token-0123456789ab';

// The audit replay tool and the whole-log route, on a log written through the real command handler.
describe('audit replay (e2e)', () => {
  let config: AppConfig;
  let connection: Connection;
  let store: MongoEventStore;
  let live: ReleaseReadModel;
  let stack: Stack<'api'>;
  let n = 0;

  const cli = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...envOf(config) } }, (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const meta = (): CommandMetadata => ({ commandId: `c-${(n += 1)}-${uniqueSuffix()}`, now: new Date().toISOString(), actor: 'auditor', correlationId: 'c' });
  const handle = async (id: string, command: ReleaseCommand) => {
    await handleCommand(store, id, command, meta(), RELEASE_AGGREGATE);
    await live.catchUp(store, id);
  };
  const complete = async (id: string, outcome: 'SUCCEEDED' | 'FAILED') => {
    const { state } = await loadStream(store, id, RELEASE_AGGREGATE.decider);
    const { pending } = state as Exclude<ReleaseState, { status: 'NONE' }>;
    await handle(id, { type: 'RecordOperationResult', data: { releaseId: id, operationId: pending!.operationId, outcome } });
  };

  beforeAll(async () => {
    config = testConfig({ AUTH_TOKENS: `viewer:ann:${VIEWER}` });
    connection = await mongoose.createConnection(config.MONGODB_URI, { autoIndex: false }).asPromise();
    store = new MongoEventStore(connection, { schemas: RELEASE_EVENT_SCHEMAS });
    live = new ReleaseReadModel(connection);
    await store.ensureIndexes();
    await live.ensureIndexes();
    // Interleaved releases, so the log mixes them.
    for (let round = 0; round < 4; round += 1) {
      for (let r = 0; r < 5; r += 1) {
        const id = `app-${r}`;
        if (round === 0) {
          await handle(id, { type: 'InstallRelease', data: { releaseId: id, namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { r, password: 'p4ss-w0rd' } } });
        } else {
          await handle(id, { type: 'UpgradeRelease', data: { releaseId: id, chartVersion: `1.${round}.0` } });
        }
        await complete(id, (r + round) % 4 === 3 ? 'FAILED' : 'SUCCEEDED');
      }
    }
    stack = await startStack(config, { apps: { api: 'api' } });
  });

  afterAll(async () => {
    await stack?.stop();
    await connection?.dropDatabase();
    await connection?.close();
  });

  it('pages through the whole log in a stable order, each release in version order, secrets masked for viewers', async () => {
    const readAll = async () => {
      const commits: Array<{ releaseId: string; version: number }> = [];
      let next: string | null = null;
      do {
        const res = await request(stack.apps.api, 'GET', `/api/v1/helm/events?limit=7${next ? `&after=${next}` : ''}`, { token: VIEWER });
        const body = JSON.parse(res.text) as { commits: Array<{ releaseId: string; version: number }>; next: string | null };
        commits.push(...body.commits);
        expect(JSON.stringify(body)).not.toContain('p4ss-w0rd');
        next = body.next;
      } while (next);
      return commits;
    };
    const first = await readAll();
    expect(first).toHaveLength(40);
    expect(await readAll()).toEqual(first);
    for (let r = 0; r < 5; r += 1) {
      expect(first.filter((c) => c.releaseId === `app-${r}`).map((c) => c.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });

  it('re-publishes every event to a topic, in per-release order, for a fresh consumer group', async () => {
    const topic = `${config.KAFKA_TOPIC_PREFIX}audit-sink`;
    const admin = stack.probe.kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const result = await cli('publish', '--topic', topic);
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toMatch(/published 40 events of 40 commits/);
    const received = await stack.probe.record([topic.slice(config.KAFKA_TOPIC_PREFIX.length)]);
    await waitFor(() => received.length >= 40, { what: '40 republished events' });
    // The command has exited: everything it published is on the topic, so reading to the end proves the count.
    await stack.probe.caughtUp(received, topic.slice(config.KAFKA_TOPIC_PREFIX.length));
    expect(received).toHaveLength(40);
    const ids = received.map((m) => (m.json() as { id: string }).id);
    expect(new Set(ids).size).toBe(40);
    for (let r = 0; r < 5; r += 1) {
      const versions = received.filter((m) => m.key === `app-${r}`).map((m) => (m.json() as { streamversion: number }).streamversion);
      expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });

  it('rebuilds and verifies the read model, shows a release as of a version, and exits 1 on tampering', async () => {
    expect(await cli('rebuild')).toMatchObject({ code: 0, stdout: expect.stringMatching(/equals the live one/) });
    const asOf = await cli('as-of', '--release', 'app-1', '--version', '2');
    expect(asOf.code).toBe(0);
    expect(JSON.parse(asOf.stdout)).toMatchObject({ releaseId: 'app-1', version: 2, status: 'DEPLOYED', revisions: [{ revision: 1, status: 'DEPLOYED' }] });
    expect(await cli('verify')).toMatchObject({ code: 0, stdout: expect.stringMatching(/chain is intact/) });
    await store.commits.updateOne({ streamId: 'app-3', version: 5 }, { $set: { 'metadata.actor': 'mallory' } });
    const tampered = await cli('verify');
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/TAMPERED app-3 version 5: EDITED/);
    expect((await cli('as-of', '--release', 'app-1')).code).toBe(2);
    expect((await cli('--help')).code).toBe(0);
  });
});
