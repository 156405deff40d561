import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_SOURCE, commandEvent, Topics } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { commandTopic, loadCommandSigner, SIGNATURE_HEADER, type CommandSigner } from '@app/platform';
import { Captured, envOf, KafkaProbe, request, RunningApp, startApp, testConfig, uniqueSuffix, waitFor } from '@app/test-support';
import { exportJWK, generateKeyPair } from 'jose';

// Signed commands on the real broker and database: the release service believes a command's sender only
// from its signature (KAFKA_SIGNERS_FILE), so the actor of a Kafka command is the principal that signed it,
// and only the API (KAFKA_ON_BEHALF_PRINCIPALS) may name the caller and grants it acts for.
const OPERATOR = 'operator-token-0123456789';

describe('signed commands (KAFKA_SIGNERS_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'signed-'));
  const keyFiles: Record<string, string> = {};
  const signers: Record<string, CommandSigner> = {};
  const config = testConfig({
    AUTH_TOKENS: `operator:ops:${OPERATOR}`,
    // The pipeline may deploy in namespace apps only.
    AUTH_GRANTS: JSON.stringify([{ principal: 'pipeline', role: 'deployer', namespaces: ['apps'] }]),
  });
  let service: RunningApp;
  let api: RunningApp;
  let probe: KafkaProbe;
  let results: Captured[];
  let dlq: Captured[];

  beforeAll(async () => {
    const publicKeys = [];
    for (const principal of ['api', 'release-service', 'executor', 'pipeline', 'stranger']) {
      const { publicKey, privateKey } = await generateKeyPair('EdDSA', { extractable: true });
      keyFiles[principal] = join(dir, `${principal}.jwk`);
      writeFileSync(keyFiles[principal], JSON.stringify({ ...(await exportJWK(privateKey)), kid: principal, alg: 'EdDSA' }));
      signers[principal] = (await loadCommandSigner({ KAFKA_SIGNING_KEY_FILE: keyFiles[principal] }))!;
      // The stranger's key is not among the signers.
      if (principal !== 'stranger') publicKeys.push({ ...(await exportJWK(publicKey)), kid: principal, alg: 'EdDSA' });
    }
    const signersFile = join(dir, 'signers.json');
    writeFileSync(signersFile, JSON.stringify({ keys: publicKeys }));
    service = await startApp('release-service', envOf(config, { KAFKA_SIGNERS_FILE: signersFile, KAFKA_SIGNING_KEY_FILE: keyFiles['release-service'] }));
    api = await startApp('api', envOf(config, { KAFKA_SIGNING_KEY_FILE: keyFiles.api }));
    probe = new KafkaProbe(config);
    await probe.start();
    [results, dlq] = await Promise.all([probe.record([Topics.commandResults]), probe.record([Topics.commandsDlq])]);
  }, 120_000);

  afterAll(async () => {
    await probe?.stop();
    await Promise.all([api?.stop(), service?.stop()]);
  });

  const http = async (method: string, path: string, body?: object) => {
    const res = await request(api, method, `/api/v1/helm${path}`, { body, token: OPERATOR });
    return { status: res.status, body: res.text ? JSON.parse(res.text) : null };
  };

  /** Sends `command` as `as` signs it (none: unsigned), claiming whatever `claims` says; its decision. */
  const send = async (command: ReleaseCommand, as: string | null, claims: { source?: string; actor?: string; grants?: unknown[] } = {}, options: { topic?: string; tamper?: (v: string) => string } = {}) => {
    const id = `signed-${uniqueSuffix()}`;
    const value = JSON.stringify(commandEvent(command, { id, source: claims.source ?? 'urn:pipeline:deploy', actor: claims.actor ?? 'claims-to-be-root', correlationId: id, ...(claims.grants ? { grants: claims.grants as never } : {}) }));
    const headers = as ? { [SIGNATURE_HEADER]: await signers[as].sign(value) } : undefined;
    const sent = options.tamper ? options.tamper(value) : value;
    await probe.producer.send({ topic: probe.topic(options.topic ?? commandTopic(command)), acks: -1, messages: [{ key: command.data.releaseId, value: sent, ...(headers ? { headers } : {}) }] });
    const result = await waitFor(() => results.find((r) => (r.json() as { data: { commandId: string } }).data.commandId === id), { what: `the decision on ${id}` });
    return { id, ...(result.json() as { data: { outcome: string; error?: { code: string; message: string } } }).data };
  };

  const settle = async (releaseId: string, as = 'executor') => {
    const release = (await http('GET', `/releases/${releaseId}`)).body;
    const outcome = await send({ type: 'RecordOperationResult', data: { releaseId, operationId: release.pendingOperationId, outcome: 'SUCCEEDED', helmRevision: release.currentRevision } }, as, { source: 'urn:executor', actor: 'system:executor' });
    expect(outcome).toMatchObject({ outcome: 'ACCEPTED' });
    await waitFor(async () => (await http('GET', `/releases/${releaseId}`)).body.status === 'DEPLOYED', { what: `${releaseId} deployed` });
  };

  const install = (releaseId: string, namespace = 'apps'): ReleaseCommand => ({
    type: 'InstallRelease',
    data: { releaseId, namespace, chart: { name: 'web', repository: 'http://127.0.0.1:8879' }, chartVersion: '1.0.0', values: { v: 1 } },
  });

  it('decides the API\'s commands for the caller it names, and the executor\'s signed outcome', async () => {
    const res = await http('POST', '/releases', install('through-api').data);
    expect(res.status).toBe(202);
    await settle('through-api');
    expect((await http('GET', '/releases/through-api/history')).body.revisions[0]).toMatchObject({ revision: 1, requestedBy: 'ops', unauthenticated: false });
  });

  it('refuses an unsigned command, a command changed after signing, and a signer it does not know, and dead-letters each with the reason', async () => {
    const admin = [{ role: 'admin', clusters: ['*'], namespaces: ['*'] }];
    const unsigned = await send(install('forged-1'), null, { source: API_SOURCE, actor: 'root', grants: admin });
    expect(unsigned).toMatchObject({ outcome: 'REJECTED', error: { code: 'UNAUTHORIZED', message: expect.stringContaining('not signed') } });
    const changed = await send(install('forged-2'), 'pipeline', {}, { tamper: (v) => v.replace('"v":1', '"v":2') });
    expect(changed).toMatchObject({ outcome: 'REJECTED', error: { code: 'UNAUTHORIZED', message: expect.stringContaining('signature verification failed') } });
    const stranger = await send(install('forged-3'), 'stranger');
    expect(stranger).toMatchObject({ outcome: 'REJECTED', error: { code: 'UNAUTHORIZED' } });
    for (const { id } of [unsigned, changed, stranger]) {
      const parked = await waitFor(() => dlq.find((d) => (JSON.parse(d.value!.toString()) as { id: string }).id === id), { what: `${id} dead-lettered` });
      expect(parked.headers?.['dlq-error']?.toString()).toMatch(/not signed|signature/);
    }
    for (const releaseId of ['forged-1', 'forged-2', 'forged-3']) expect((await http('GET', `/releases/${releaseId}`)).status).toBe(404);
  });

  it("takes a signed pipeline's command as the pipeline's, with its own grants, whatever actor, source and grants it claims", async () => {
    const admin = [{ role: 'admin', clusters: ['*'], namespaces: ['*'] }];
    expect(await send(install('by-pipeline'), 'pipeline', { source: API_SOURCE, actor: 'root', grants: admin })).toMatchObject({ outcome: 'ACCEPTED' });
    await settle('by-pipeline');
    expect((await http('GET', '/releases/by-pipeline/history')).body.revisions[0]).toMatchObject({ revision: 1, requestedBy: 'pipeline', unauthenticated: false });
    // Its grants are in namespace apps only: the admin grants it claims count for nothing.
    expect(await send(install('by-pipeline-kube', 'kube-system'), 'pipeline', { source: API_SOURCE, actor: 'root', grants: admin })).toMatchObject({ outcome: 'REJECTED', error: { code: 'FORBIDDEN' } });
  });

  it('accepts outcomes only from the service\'s own principals, on the outcomes topic', async () => {
    expect((await http('POST', '/releases', install('outcomes-only').data)).status).toBe(202);
    const release = (await http('GET', '/releases/outcomes-only')).body;
    const outcome: ReleaseCommand = { type: 'RecordOperationResult', data: { releaseId: 'outcomes-only', operationId: release.pendingOperationId, outcome: 'SUCCEEDED', helmRevision: 1 } };
    expect(await send(outcome, 'pipeline')).toMatchObject({ outcome: 'REJECTED', error: { code: 'FORBIDDEN', message: expect.stringContaining("'pipeline' may not send outcomes") } });
    expect(await send(outcome, 'executor', {}, { topic: Topics.commands })).toMatchObject({ outcome: 'REJECTED', error: { code: 'FORBIDDEN', message: expect.stringContaining('accepted only on helm.release.outcomes') } });
    expect((await http('GET', '/releases/outcomes-only')).body).toMatchObject({ status: 'PENDING_INSTALL' });
    await settle('outcomes-only');
  });
});
