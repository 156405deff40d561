import { randomBytes } from 'node:crypto';
import { commandEvent, Topics, ValuesCipher } from '@app/contracts';
import { request, Stack, startStack, testConfig, uniqueSuffix, waitFor } from '@app/test-support';
import mongoose, { Connection } from 'mongoose';
import { recordScenario } from './harness';

// With VALUES_ENCRYPTION_KEY set, a secret in Helm values must not be readable in the raw database (any
// collection) nor in the raw bytes of any topic, while operators still read it through the API.
const OPERATOR = `op-${uniqueSuffix()}-${uniqueSuffix()}`;
const VIEWER = `vw-${uniqueSuffix()}-${uniqueSuffix()}`;
const SECRET = `s3cr3t-${uniqueSuffix()}`;
const SECRET2 = `s3cr3t-two-${uniqueSuffix()}`;
/** Helm's error text quotes values: it is sealed like them. */
const ERROR_SECRET = `err-s3cr3t-${uniqueSuffix()}`;
const KEY = randomBytes(32).toString('base64');

describe('faults: values encrypted at rest and on Kafka', () => {
  let stack: Stack<'service' | 'api', 'topics'>;
  let db: Connection;

  const http = async (method: string, path: string, body?: object, token = OPERATOR) => {
    const res = await request(stack.apps.api, method, `/api/v1/helm${path}`, { body, token });
    return { status: res.status, body: JSON.parse(res.text) as Record<string, unknown> };
  };
  const complete = async (releaseId: string, operationId: string) => {
    await stack.probe.send(
      Topics.outcomes,
      releaseId,
      JSON.stringify(commandEvent({ type: 'RecordOperationResult', data: { releaseId, operationId, outcome: 'SUCCEEDED', helmRevision: 1 } }, { id: `done-${operationId}`, source: 'urn:test', actor: 'executor', correlationId: operationId })),
    );
    await waitFor(async () => (await http('GET', `/releases/${releaseId}`)).body.status === 'DEPLOYED', { what: `${releaseId} deployed` });
  };

  beforeAll(async () => {
    stack = await startStack(testConfig({ AUTH_TOKENS: `operator:ops:${OPERATOR},viewer:ann:${VIEWER}` }), {
      apps: { service: 'release-service', api: 'api' },
      env: { VALUES_ENCRYPTION_KEY: KEY },
      record: { topics: [Topics.commands, Topics.events, Topics.commandResults, Topics.commandsDlq] },
    });
    db = await mongoose.createConnection(stack.config.MONGODB_URI).asPromise();
  });

  afterAll(async () => {
    await stack?.stop();
    await db?.dropDatabase().catch(() => undefined);
    await db?.close();
  });

  it('no plaintext secret (values or error text) in any collection or topic; operators read it, viewers see it masked', async () => {
    const id = `enc-${uniqueSuffix()}`;
    const install = await http('POST', '/releases', {
      releaseId: id,
      namespace: 'apps',
      chart: { name: 'web', repository: 'http://127.0.0.1:1' },
      chartVersion: '1.0.0',
      values: { db: { password: SECRET, host: 'db.internal' }, replicas: 2 },
    });
    expect(install.status).toBe(202);
    await complete(id, install.body.operationId as string);
    const upgrade = await http('POST', `/releases/${id}/upgrade`, { values: { db: { password: SECRET2, host: 'db.internal' }, replicas: 3 } });
    expect(upgrade.status).toBe(202);
    await complete(id, upgrade.body.operationId as string);
    const rollback = await http('POST', `/releases/${id}/rollback`, { targetRevision: 1 });
    expect(rollback.status).toBe(202);
    await waitFor(() => stack.recorded.topics.filter((t) => t.topic.endsWith(Topics.events)).length >= 5, { what: 'the events on Kafka' });
    // The rollback fails with error text that quotes a value, reported sealed as the executor reports it.
    const errorText = `helm upgrade failed: ConfigMap "web" is invalid: data.password: "${ERROR_SECRET}"`;
    await stack.probe.send(
      Topics.outcomes,
      id,
      JSON.stringify(
        commandEvent(
          { type: 'RecordOperationResult', data: { releaseId: id, operationId: rollback.body.operationId as string, outcome: 'FAILED', error: errorText } },
          { id: `fail-${id}`, source: 'urn:test', actor: 'executor', correlationId: id },
          ValuesCipher.fromBase64(KEY),
        ),
      ),
    );
    await waitFor(async () => (await http('GET', `/releases/${id}`)).body.status === 'FAILED', { what: 'the rollback failed' });
    expect((await http('GET', `/releases/${id}`)).body.lastError).toBe(errorText);
    expect((await http('GET', `/releases/${id}/history`)).body.revisions).toEqual(expect.arrayContaining([expect.objectContaining({ revision: 3, error: errorText })]));
    expect(JSON.stringify((await http('GET', `/releases/${id}`, undefined, VIEWER)).body)).not.toContain(ERROR_SECRET);

    // Through the API: the operator reads the exact values, a viewer the masked ones.
    expect((await http('GET', `/releases/${id}/revisions/3`)).body.values).toEqual({ db: { password: SECRET, host: 'db.internal' }, replicas: 2 });
    const masked = JSON.stringify((await http('GET', `/releases/${id}/revisions/2`, undefined, VIEWER)).body.values);
    expect(masked).not.toContain(SECRET2);

    // Raw database: every document of every collection.
    let documents = 0;
    let sealed = 0;
    for (const { name } of await db.db!.listCollections().toArray()) {
      for (const doc of await db.collection(name).find({}).toArray()) {
        const text = JSON.stringify(doc);
        documents += 1;
        if (text.includes('$sealed') || text.includes('sealed:v1.')) sealed += 1;
        for (const secret of [SECRET, SECRET2, 'db.internal', ERROR_SECRET]) expect({ collection: name, leaked: text.includes(secret) }).toEqual({ collection: name, leaked: false });
      }
    }
    // Raw topics: every message's bytes.
    for (const message of stack.recorded.topics) {
      const text = message.value?.toString() ?? '';
      for (const secret of [SECRET, SECRET2, 'db.internal', ERROR_SECRET]) expect({ topic: message.topic, leaked: text.includes(secret) }).toEqual({ topic: message.topic, leaked: false });
    }
    const sealedMessages = stack.recorded.topics.filter((t) => t.value?.toString().includes('$sealed')).length;
    recordScenario('values encrypted at rest and on Kafka', { documents, sealedDocuments: sealed, messages: stack.recorded.topics.length, sealedMessages, plaintextFound: 0 });
    // The check above could pass by storing nothing: the sealed values are there.
    expect(sealed).toBeGreaterThanOrEqual(5);
    expect(sealedMessages).toBeGreaterThanOrEqual(5);
  });
});
