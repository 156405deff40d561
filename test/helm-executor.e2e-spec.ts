import { randomBytes } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { commandEvent, Topics } from '@app/contracts';
import { Captured, ChartRepo, kubeGet, remediationCaughtUp as caughtUp, request, Stack, startChartRepo, startStack, testCluster, testConfig, uniqueSuffix, waitFor } from '@app/test-support';

const run = promisify(execFile);

// The whole service on real parts: api, release-service, executor and remediation as processes, Kafka,
// FerretDB, the helm binary, a real kube-apiserver, and a chart repository on loopback.
const OPERATOR = 'operator-token-0123456789';

const VALUES_KEY = randomBytes(32).toString('base64');

describe('rollbacks with real Helm on a real API server (e2e)', () => {
  const { helmBin, kubeconfig, namespace, configMap } = testCluster('e2e');
  let repo: ChartRepo;
  let stack: Stack<'releaseService' | 'executor' | 'remediation' | 'secondRemediation' | 'api', 'events' | 'results'>;

  const http = async (method: string, path: string, body?: unknown) => {
    const res = await request(stack.apps.api, method, `/api/v1/helm${path}`, { body, token: OPERATOR });
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  };
  const release = async (id: string) => (await http('GET', `/releases/${id}`)).body;
  const history = async (id: string) => (await http('GET', `/releases/${id}/history`)).body.revisions as Array<Record<string, unknown>>;
  const settled = (id: string, timeoutMs = 90_000) =>
    waitFor(async () => {
      const r = await release(id);
      return r && !String(r.status).startsWith('PENDING') ? r : null;
    }, { timeoutMs, intervalMs: 300, what: `${id} to settle` });
  const install = (releaseId: string, values: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    http('POST', '/releases', { releaseId, namespace, chart: { name: 'web', repository: repo.url }, chartVersion: '1.0.0', values, timeoutSeconds: 30, ...extra });
  const installAndSettle = async (releaseId: string, values: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    await install(releaseId, values, extra);
    await settled(releaseId);
  };
  /** The values the chart wrote to the cluster for a release. */
  const clusterValues = async (name: string) => JSON.parse((await configMap(name)).data!['values.json']);
  const helmValues = async (name: string) =>
    JSON.parse((await run(helmBin, ['get', 'values', name, '-n', namespace, '-o', 'json'], { env: { ...process.env, KUBECONFIG: kubeconfig } })).stdout);
  /** A person at the helm CLI: `helm upgrade --install` of a chart version with one value set. */
  const helmCli = (name: string, version: string, greeting: string) =>
    run(helmBin, ['upgrade', '--install', '-n', namespace, '--wait', '--timeout', '60s', '--repo', repo.url, '--version', version, '--set', `greeting=${greeting}`, '--', name, 'web'], {
      env: { ...process.env, KUBECONFIG: kubeconfig },
    });
  const eventsOf = async (id: string) =>
    ((await http('GET', `/releases/${id}/events`)).body.commits as Array<{ events: Array<{ type: string; data: Record<string, unknown> }> }>).flatMap((c) => c.events);

  const remediationCaughtUp = (id: string, failure: Captured) => caughtUp(stack.probe, stack.recorded.results, id, failure);

  beforeAll(async () => {
    const config = testConfig({ AUTH_TOKENS: `operator:ops:${OPERATOR}`, REQUEST_TIMEOUT_MS: '20000' });
    repo = await startChartRepo(helmBin);
    stack = await startStack(config, {
      // Two remediators: a failure that both of them read must still be undone once (see the 'auto' test).
      apps: { releaseService: 'release-service', executor: 'executor', remediation: 'remediation', secondRemediation: 'remediation', api: 'api' },
      // Values sealed at rest and on Kafka in this suite: every value that reaches the cluster intact below was
      // encrypted by the API, stored sealed, and opened by the executor.
      // A lock grace above the longest Helm timeout of this suite (the crash test's orphaned helm, 20 s), so
      // only a lock nobody holds any more is released.
      // Drift is checked every few seconds, so the drift tests wait on the schedule, not on a sleep.
      env: { HELM_BIN: helmBin, KUBECONFIG: kubeconfig, SHUTDOWN_GRACE_MS: '20000', VALUES_ENCRYPTION_KEY: VALUES_KEY, HELM_LOCK_GRACE_SECONDS: '25', DRIFT_CHECK_INTERVAL_SECONDS: '4', HELM_INVENTORY_INTERVAL_SECONDS: '2' },
      record: { events: [Topics.events], results: [Topics.commandResults] },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await repo?.stop();
  });

  it('runs the seed scenario on the cluster: rollback to 1 restores chart 1.0.0 and revision 1 values', async () => {
    const id = 'seed';
    const v1 = { greeting: 'v1', quote: `it's "q"`, shell: '$(id); rm -rf / && echo `x`', lines: 'a\nb', unicode: 'grüße 🚀' };
    expect((await install(id, v1)).status).toBe(202);
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 1 });
    expect((await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0', values: { greeting: 'v2' } })).status).toBe(202);
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 2 });
    expect((await configMap(id)).data!.chartVersion).toBe('1.1.0');

    const rollback = await http('POST', `/releases/${id}/rollback`, { targetRevision: 1 });
    expect(rollback).toMatchObject({ status: 202, body: { revision: 3, targetRevision: 1, chartVersion: '1.0.0', status: 'PENDING_ROLLBACK' } });
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 3 });

    const data = (await configMap(id)).data!;
    expect(data.chartVersion).toBe('1.0.0');
    expect(JSON.parse(data['values.json'])).toEqual({ ...v1 });
    expect(await helmValues(id)).toEqual(v1);
    const revisions = await history(id);
    expect(revisions.map((r) => [r.revision, r.operation, r.chartVersion, r.status])).toEqual([
      [1, 'INSTALL', '1.0.0', 'DEPLOYED'],
      [2, 'UPGRADE', '1.1.0', 'DEPLOYED'],
      [3, 'ROLLBACK', '1.0.0', 'DEPLOYED'],
    ]);
    expect(revisions[2].helmRevision).toBe(3);
  });

  it('records Helm\'s message for a broken upgrade, and rolling back to the last successful restores the cluster', async () => {
    const id = 'broken';
    await installAndSettle(id, { greeting: 'good' });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.2.0', values: { greeting: 'bad' } });
    const failed = await settled(id);
    expect(failed.status).toBe('FAILED');
    expect(failed.lastError).toMatch(/not a valid key|Invalid value/);
    await http('POST', `/releases/${id}/rollback/last-successful`, { reason: 'recover' });
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 3 });
    expect(await clusterValues(id)).toEqual({ greeting: 'good' });
  });

  it('a failed rollback leaves the release FAILED; rollback elsewhere, upgrade, and uninstall + reinstall each recover', async () => {
    const id = 'recover';
    await installAndSettle(id, { greeting: 'one' });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.2.0' }); // rev 2: rejected by the API server
    await settled(id);
    const toBroken = await http('POST', `/releases/${id}/rollback`, { targetRevision: 2 }); // rev 3: fails again
    expect(toBroken.body.warnings[0]).toMatch(/never deployed successfully/);
    expect(await settled(id)).toMatchObject({ status: 'FAILED', currentRevision: 3 });

    await http('POST', `/releases/${id}/rollback`, { targetRevision: 1 }); // rev 4
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 4 });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.2.0', force: true }); // rev 5 fails (quarantined, forced)
    expect(await settled(id)).toMatchObject({ status: 'FAILED' });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0', values: { greeting: 'fresh' } }); // rev 6
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 6 });
    expect((await http('DELETE', `/releases/${id}`)).status).toBe(202);
    expect(await settled(id)).toMatchObject({ status: 'UNINSTALLED' });
    expect((await configMap(id)).status).toBe(404);
    await install(id, { greeting: 'again' });
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 7 });
    expect(await clusterValues(id)).toEqual({ greeting: 'again' });
  });

  it('removes a failed atomic install from the cluster: revision 1 FAILED, release UNINSTALLED, reinstall takes revision 2', async () => {
    const id = 'atomic';
    await http('POST', '/releases', { releaseId: id, namespace, chart: { name: 'web', repository: repo.url }, chartVersion: '1.3.0', values: {}, atomic: true, timeoutSeconds: 5 });
    expect(await settled(id)).toMatchObject({ status: 'UNINSTALLED', currentRevision: 1 });
    expect((await history(id)).map((r) => [r.revision, r.operation, r.status])).toEqual([[1, 'INSTALL', 'FAILED']]);
    expect((await configMap(id)).status).toBe(404);
    expect((await kubeGet(kubeconfig, `/apis/apps/v1/namespaces/${namespace}/deployments/${id}-never-ready`)).status).toBe(404);
    await install(id, { greeting: 'second try' });
    expect(await settled(id)).toMatchObject({ status: 'DEPLOYED', currentRevision: 2 });
    expect(await clusterValues(id)).toEqual({ greeting: 'second try' });
  });

  it('refuses an upgrade to a quarantined configuration unless forced', async () => {
    const id = 'quarantine';
    await installAndSettle(id, { greeting: 'good' });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.2.0', values: { greeting: 'bad' } });
    expect(await settled(id)).toMatchObject({ status: 'FAILED' });
    const refused = await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.2.0', values: { greeting: 'bad' } });
    expect(refused).toMatchObject({ status: 409, body: { code: 'CONFIGURATION_QUARANTINED' } });
    const forced = await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.2.0', values: { greeting: 'bad' }, force: true });
    expect(forced).toMatchObject({ status: 202, body: { revision: 3, warnings: [expect.stringMatching(/quarantined/)] } });
    expect(await settled(id)).toMatchObject({ status: 'FAILED', currentRevision: 3 });
  });

  it('undoes a failed atomic upgrade automatically, once, even with the failure delivered three times to two remediators', async () => {
    const id = 'auto';
    await installAndSettle(id, { greeting: 'good' });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.3.0', values: { greeting: 'never' }, atomic: true, timeoutSeconds: 5 });
    await waitFor(async () => (await history(id)).length === 3 && (await release(id)).status === 'DEPLOYED', { timeoutMs: 120_000, what: 'the automatic rollback' });
    // Deliver the failure event twice more, as a redelivery would.
    const failure = stack.recorded.events.find((e) => e.key === id && String((e.json() as { type: string }).type).endsWith('RevisionFailed'))!;
    await stack.probe.send(Topics.events, id, failure.value!);
    await stack.probe.send(Topics.events, id, failure.value!);
    await remediationCaughtUp(id, failure);
    const revisions = await history(id);
    expect(revisions.map((r) => [r.revision, r.operation, r.status, r.trigger, r.rollbackOf, r.causedByRevision])).toEqual([
      [1, 'INSTALL', 'DEPLOYED', 'MANUAL', null, null],
      [2, 'UPGRADE', 'FAILED', 'MANUAL', null, null],
      [3, 'ROLLBACK', 'DEPLOYED', 'AUTOMATIC', 1, 2],
    ]);
    expect(await clusterValues(id)).toEqual({ greeting: 'good' });
  });

  it('rolls back on an upgrade-failed signal from another service; a malformed signal is dead-lettered', async () => {
    const id = 'signal';
    await installAndSettle(id, { greeting: 'good' }, { autoRollback: true });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0', values: { greeting: 'deployed-but-broken' } });
    await settled(id);
    const dlq = await stack.probe.record([Topics.upgradeFailedSignalsDlq]);
    await stack.probe.send(Topics.upgradeFailedSignals, id, '{"not": "a signal"}');
    const signalId = `sig-${uniqueSuffix()}`;
    await stack.probe.send(Topics.upgradeFailedSignals, id, JSON.stringify({ specversion: '1.0', id: signalId, source: 'urn:test:smoke-tests', type: 'helm.release.upgrade-failed', data: { releaseId: id, revision: 2, reason: 'smoke tests failed' } }));
    await waitFor(async () => (await history(id)).length === 3 && (await release(id)).status === 'DEPLOYED', { timeoutMs: 90_000, what: 'the signalled rollback' });
    const revisions = await history(id);
    expect(revisions[1]).toMatchObject({ status: 'DEPLOYED', reportedFailure: 'smoke tests failed' });
    expect(revisions[2]).toMatchObject({ operation: 'ROLLBACK', trigger: 'AUTOMATIC', rollbackOf: 1, causedByRevision: 2, status: 'DEPLOYED' });
    await waitFor(() => dlq.length >= 1, { what: 'the dead-lettered signal' });
    expect(dlq[0].value!.toString()).toBe('{"not": "a signal"}');
  });

  it('an automatic rollback that fails triggers nothing further; the release stays FAILED', async () => {
    const id = 'noloop';
    await installAndSettle(id, { greeting: 'good' });
    // From here the test plays the executor, so the automatic rollback can be made to fail.
    await stack.apps.executor.stop();
    try {
      await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0', atomic: true });
      const reportFailure = async () => {
        const r = await release(id);
        const commandId = `fail-${uniqueSuffix()}`;
        await stack.probe.send(Topics.outcomes, id, JSON.stringify(commandEvent({ type: 'RecordOperationResult', data: { releaseId: id, operationId: r.pendingOperationId, outcome: 'FAILED', error: 'injected failure' } }, { id: commandId, source: 'urn:test', actor: 'test', correlationId: commandId })));
      };
      await reportFailure(); // the upgrade fails -> remediation asks for an automatic rollback
      await waitFor(async () => (await release(id)).status === 'PENDING_ROLLBACK', { what: 'the automatic rollback request' });
      await reportFailure(); // the automatic rollback fails too
      await waitFor(async () => (await release(id)).status === 'FAILED', { what: 'the failed rollback' });
      const failure = stack.recorded.events.filter((e) => e.key === id && String((e.json() as { type: string }).type).endsWith('RevisionFailed')).at(-1)!;
      await remediationCaughtUp(id, failure);
      const revisions = await history(id);
      expect(revisions.map((r) => [r.operation, r.status, r.trigger])).toEqual([
        ['INSTALL', 'DEPLOYED', 'MANUAL'],
        ['UPGRADE', 'FAILED', 'MANUAL'],
        ['ROLLBACK', 'FAILED', 'AUTOMATIC'],
      ]);
      expect((await release(id)).status).toBe('FAILED');
    } finally {
      stack.apps.executor = await stack.start('executor');
    }
  });

  it('survives kill -9 of the executor during a Helm call: the operation is finished after restart, never stuck', async () => {
    const id = 'crash';
    await installAndSettle(id, { greeting: 'good' });
    await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.3.0', timeoutSeconds: 20 });
    await waitFor(() => stack.apps.executor.output().includes('"operation started"') && stack.apps.executor.output().includes(id), { what: 'the Helm call to start' });
    await stack.apps.executor.stop('SIGKILL');
    stack.apps.executor = await stack.start('executor');
    // The redelivered operation runs again and fails by timeout (the watchdog would fail it otherwise).
    const after = await settled(id, 150_000);
    expect(after.status).toBe('FAILED');
    expect(after.pendingOperationId).toBeNull();
  });

  it('releases the lock a killed helm CLI left behind once it is older than the grace, then upgrades, and records HelmLockReleased', async () => {
    const id = 'unlock';
    await installAndSettle(id, { greeting: 'before' });
    const helmHistory = async () => JSON.parse((await run(helmBin, ['history', id, '-n', namespace, '-o', 'json'], { env: { ...process.env, KUBECONFIG: kubeconfig } })).stdout) as Array<{ revision: number; status: string; description: string }>;
    // A person's `helm upgrade --wait` of a chart that never becomes ready, killed (a cancelled CI job).
    const person = spawn(helmBin, ['upgrade', '--install', '-n', namespace, '--wait', '--timeout', '10m', '--repo', repo.url, '--version', '1.3.0', '--', id, 'web'], {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: 'ignore',
    });
    await waitFor(async () => (await helmHistory()).some((h) => h.status === 'pending-upgrade'), { timeoutMs: 60_000, what: 'the person upgrade to hold the lock' });
    person.kill('SIGKILL');
    await new Promise((resolve) => person.once('exit', resolve));
    expect((await http('POST', `/releases/${id}/upgrade`, { chartVersion: '1.1.0', values: { greeting: 'after' }, timeoutSeconds: 30 })).status).toBe(202);
    const after = await settled(id, 150_000);
    // The killed client's revision is in the history too, before the upgrade, as Helm holds them.
    expect(after).toMatchObject({ status: 'DEPLOYED', currentRevision: 3 });
    expect((await history(id)).map((r) => [r.revision, r.operation, r.status, r.helmRevision, r.chartVersion])).toEqual([
      [1, 'INSTALL', 'DEPLOYED', 1, '1.0.0'],
      [2, 'EXTERNAL', 'FAILED', 2, '1.3.0'],
      [3, 'UPGRADE', 'DEPLOYED', 3, '1.1.0'],
    ]);
    expect(await clusterValues(id)).toMatchObject({ greeting: 'after' });
    expect((await helmHistory()).map((h) => [h.revision, h.status])).toEqual([
      [1, 'superseded'],
      [2, 'failed'],
      [3, 'deployed'],
    ]);
    expect((await helmHistory())[1].description).toMatch(/^Released from a stale pending-upgrade by helm-rollback-service/);
    const log = (await http('GET', `/releases/${id}/events`)).body.commits as Array<{ events: Array<{ type: string; data: Record<string, unknown> }> }>;
    const released = log.flatMap((c) => c.events).find((e) => e.type === 'HelmLockReleased');
    expect(released?.data).toMatchObject({ helmRevision: 2, status: 'pending-upgrade', chart: 'web-1.3.0' });
    expect(released!.data.ageSeconds).toBeGreaterThanOrEqual(25);
  }, 240_000);

  it('adopts a release the helm CLI made with its three revisions (refused at once without adopt); rollback to the first restores its values', async () => {
    const id = 'adopted';
    await helmCli(id, '1.0.0', 'mine');
    await helmCli(id, '1.1.0', 'ours');
    await helmCli(id, '1.1.0', 'theirs');
    // The executor lists the cluster's Helm releases on a schedule; the API shows the ones nobody manages.
    const listed = await waitFor(async () => {
      const page = (await http('GET', `/helm-releases?namespace=${namespace}&unmanaged=true`)).body as { items: Array<Record<string, unknown>> };
      return page.items.find((i) => i.namespace === namespace && i.name === id && i.helmRevision === 3) ?? null;
    }, { timeoutMs: 30_000, intervalMs: 300, what: 'the inventory to list the CLI-made release' });
    expect(listed).toMatchObject({ status: 'deployed', chart: 'web-1.1.0', managedBy: null });

    const refused = await install(id, { greeting: 'service' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'RELEASE_EXISTS_IN_CLUSTER', detail: expect.stringMatching(new RegExp(`^Helm already holds ${namespace}/${id} at revision 3 \\(web-1\\.1\\.0, deployed;`)) });
    expect((await http('GET', `/releases/${id}`)).status).toBe(404);
    expect(await helmValues(id)).toEqual({ greeting: 'theirs' });

    expect((await install(id, {}, { adopt: true })).status).toBe(202);
    const adopted = await settled(id);
    expect(adopted).toMatchObject({ status: 'DEPLOYED', currentRevision: 3, drift: { policy: 'record', inSync: true } });
    expect((await history(id)).map((r) => [r.revision, r.operation, r.trigger, r.chartVersion, r.helmRevision, r.status])).toEqual([
      [1, 'IMPORTED', 'EXTERNAL', '1.0.0', 1, 'DEPLOYED'],
      [2, 'IMPORTED', 'EXTERNAL', '1.1.0', 2, 'DEPLOYED'],
      [3, 'IMPORTED', 'EXTERNAL', '1.1.0', 3, 'DEPLOYED'],
    ]);
    const managed = await waitFor(async () => {
      const page = (await http('GET', `/helm-releases?namespace=${namespace}`)).body as { items: Array<Record<string, unknown>> };
      return page.items.find((i) => i.namespace === namespace && i.name === id && i.managedBy === id) ?? null;
    }, { timeoutMs: 30_000, intervalMs: 300, what: 'the inventory to show the release managed' });
    expect(managed.helmRevision).toBe(3);
    const first = (await http('GET', `/releases/${id}/revisions/1`)).body;
    expect(first.values).toEqual({ greeting: 'mine' });

    expect((await http('POST', `/releases/${id}/rollback`, { targetRevision: 1 })).status).toBe(202);
    const rolledBack = await settled(id);
    expect(rolledBack).toMatchObject({ status: 'DEPLOYED', currentRevision: 4 });
    expect(await helmValues(id)).toEqual({ greeting: 'mine' });
    expect((await configMap(id)).data!.chartVersion).toBe('1.0.0');
    expect(await clusterValues(id)).toMatchObject({ greeting: 'mine' });
  }, 180_000);

  it('records an out-of-band helm upgrade as EXTERNAL under drift: record, and leaves the cluster as it is', async () => {
    const id = 'drift-record';
    await installAndSettle(id, { greeting: 'desired' });
    await helmCli(id, '1.1.0', 'manual');
    const drifted = await waitFor(async () => {
      const r = await release(id);
      return r.currentRevision === 2 ? r : null;
    }, { timeoutMs: 60_000, intervalMs: 500, what: 'the drift check to record the out-of-band upgrade' });
    expect(drifted).toMatchObject({ status: 'DEPLOYED', drift: { policy: 'record', inSync: false, checkedAt: expect.any(String) } });
    expect((await history(id)).map((r) => [r.revision, r.operation, r.trigger, r.chartVersion, r.helmRevision])).toEqual([
      [1, 'INSTALL', 'MANUAL', '1.0.0', 1],
      [2, 'EXTERNAL', 'EXTERNAL', '1.1.0', 2],
    ]);
    expect((await http('GET', `/releases/${id}/revisions/2`)).body.values).toEqual({ greeting: 'manual' });
    expect((await eventsOf(id)).filter((e) => e.type === 'DriftDetected').map((e) => e.data.correction)).toEqual(['recorded (drift policy record)']);
    expect(await clusterValues(id)).toMatchObject({ greeting: 'manual' });
  }, 120_000);

  it('corrects out-of-band upgrades under drift: correct by rolling back, and stops after three in a row', async () => {
    const id = 'drift-correct';
    await installAndSettle(id, { greeting: 'desired' }, { drift: 'correct' });
    for (let n = 1; n <= 4; n += 1) {
      await helmCli(id, '1.1.0', `manual ${n}`);
      // Judged on the release's view alone (the log is written a moment before it): current is the
      // rollback's revision while corrections are allowed, then the drift's EXTERNAL revision, and settled.
      const currentAfter = 1 + 2 * Math.min(n, 3) + Math.max(0, n - 3);
      await waitFor(async () => {
        const r = await release(id);
        return r.currentRevision === currentAfter && !String(r.status).startsWith('PENDING');
      }, {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: `drift ${n} recorded and acted on`,
      });
      const corrections = (await eventsOf(id)).filter((e) => e.type === 'DriftDetected').map((e) => String(e.data.correction));
      if (n <= 3) {
        expect(corrections[n - 1]).toMatch(/^corrected: rolling back to revision \d+/);
        expect(await clusterValues(id)).toMatchObject({ greeting: 'desired' });
        expect(await release(id)).toMatchObject({ status: 'DEPLOYED', drift: { inSync: true } });
      } else {
        expect(corrections[n - 1]).toMatch(/^not corrected: corrected 3 times in a row/);
        expect(await clusterValues(id)).toMatchObject({ greeting: 'manual 4' });
        expect(await release(id)).toMatchObject({ drift: { inSync: false } });
      }
    }
    const revisions = await history(id);
    expect(revisions.map((r) => [r.operation, r.trigger])).toEqual([
      ['INSTALL', 'MANUAL'],
      ...Array.from({ length: 3 }, () => [['EXTERNAL', 'EXTERNAL'], ['ROLLBACK', 'AUTOMATIC']]).flat(),
      ['EXTERNAL', 'EXTERNAL'],
    ]);
  }, 300_000);
});
