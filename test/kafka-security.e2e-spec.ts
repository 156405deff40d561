import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaConnection, loadConfig, serviceAcls } from '@app/platform';
import { envOf, request, RunningApp, startApp, testConfig, waitFor } from '@app/test-support';

const TOKEN = 'deployer-token-0123456789';

// The api and the release service on the security profile's broker (SASL_SSL, ACLs enforced), each as a
// principal of its own holding only the ACLs of SERVICE_ACCESS: a command goes through and is decided.
describe('the apps on a broker with TLS, SASL and ACLs (e2e)', () => {
  const brokers = process.env.KAFKA_SECURE_BROKERS;
  const dir = process.env.KAFKA_SECURE_DIR;
  if (!brokers || !dir) throw new Error('KAFKA_SECURE_BROKERS and KAFKA_SECURE_DIR are not set: run `npm test`, which starts the security profile broker (scripts/infra/kafka-secure.sh up)');
  const users = JSON.parse(readFileSync(join(dir, 'users.json'), 'utf8')) as Record<string, string>;
  const secrets = mkdtempSync(join(tmpdir(), 'kafka-secrets-'));
  const config = testConfig({ AUTH_TOKENS: `deployer:ops:${TOKEN}` });
  const as = (user: string): Record<string, string> => {
    const passwordFile = join(secrets, user);
    writeFileSync(passwordFile, users[user], { mode: 0o600 });
    return { KAFKA_BROKERS: brokers, KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'pki', 'ca.crt'), KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: user, KAFKA_SASL_PASSWORD_FILE: passwordFile };
  };
  let api: RunningApp | undefined;
  let releaseService: RunningApp | undefined;

  beforeAll(async () => {
    const admin = new Kafka({ clientId: 'acl-admin', ...kafkaConnection(loadConfig(as('admin'))), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createAcls({ acl: serviceAcls(config.KAFKA_TOPIC_PREFIX, { 'release-service': 'release-service', api: 'api', executor: 'executor', remediation: 'remediation' }) });
    } finally {
      await admin.disconnect();
    }
    releaseService = await startApp('release-service', envOf(config, as('release-service')));
    api = await startApp('api', envOf(config, as('api')));
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    await releaseService?.stop();
  });

  it('decides a command sent through the api, each app writing and reading only what its ACLs allow', async () => {
    const install = await request(api!, 'POST', '/api/v1/helm/releases', {
      token: TOKEN,
      body: { releaseId: 'secure-web', namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1/charts' }, chartVersion: '1.0.0', values: {} },
    });
    expect({ status: install.status, body: JSON.parse(install.text) }).toMatchObject({ status: 202, body: { releaseId: 'secure-web', revision: 1, status: 'PENDING_INSTALL' } });
    const release = await waitFor(async () => {
      const res = await request(api!, 'GET', '/api/v1/helm/releases/secure-web', { token: TOKEN });
      return res.status === 200 ? JSON.parse(res.text) : null;
    }, { what: 'the release in the read model' });
    expect(release).toMatchObject({ status: 'PENDING_INSTALL', currentRevision: 1 });
    // And the broker refused neither app anything on the way: the ACLs are all they need.
    expect(api!.output()).not.toMatch(/TOPIC_AUTHORIZATION_FAILED|GROUP_AUTHORIZATION_FAILED/);
    expect(releaseService!.output()).not.toMatch(/TOPIC_AUTHORIZATION_FAILED|GROUP_AUTHORIZATION_FAILED/);
  }, 60_000);
});
