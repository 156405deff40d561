import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { Topics } from '@app/contracts';
import { kafkaConnection, loadConfig, serviceAcls } from '@app/platform';
import { uniqueSuffix } from '@app/test-support';

// The security profile's broker (scripts/infra/kafka-secure.sh): SASL_SSL only, TLS from a CA of its own,
// ACLs enforced. The service's clients reach it with their own settings (kafkaConnection: CA and password
// from files), and with the service's ACLs (serviceAcls) no app but the release service can write an
// event or a decision, so none can forge one.
describe('Kafka with TLS, SASL and ACLs (a real broker enforcing them)', () => {
  const brokers = process.env.KAFKA_SECURE_BROKERS;
  const dir = process.env.KAFKA_SECURE_DIR;
  if (!brokers || !dir) throw new Error('KAFKA_SECURE_BROKERS and KAFKA_SECURE_DIR are not set: run `npm test`, which starts the security profile broker (scripts/infra/kafka-secure.sh up)');
  const users = JSON.parse(readFileSync(join(dir, 'users.json'), 'utf8')) as Record<string, string>;
  const ca = join(dir, 'pki', 'ca.crt');
  const prefix = `sec-${uniqueSuffix()}.`;
  const secrets = mkdtempSync(join(tmpdir(), 'kafka-secrets-'));
  const clients: Kafka[] = [];

  /** A client as the service's apps make one, from the configuration keys of docs/deployment.md. */
  const client = (user: string, overrides: Record<string, string> = {}) => {
    const passwordFile = join(secrets, user);
    writeFileSync(passwordFile, `${users[user] ?? 'not-a-password'}\n`, { mode: 0o600 });
    const config = loadConfig({
      KAFKA_BROKERS: brokers,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: user,
      KAFKA_SASL_PASSWORD_FILE: passwordFile,
      ...overrides,
    });
    const kafka = new Kafka({ clientId: `security-${user}`, ...kafkaConnection(config), logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100 }, connectionTimeout: 5_000 });
    clients.push(kafka);
    return kafka;
  };
  const send = async (kafka: Kafka, topic: string): Promise<string> => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, retry: { retries: 0 } });
    try {
      await producer.connect();
      await producer.send({ topic: `${prefix}${topic}`, messages: [{ key: 'web', value: JSON.stringify({ forged: true }) }] });
      return 'written';
    } catch (error) {
      // kafkajs wraps the broker's answer (retries exceeded, non-retriable): the innermost one says why.
      let e = error as { type?: string; message: string; cause?: unknown; originalError?: unknown };
      while (e.cause ?? e.originalError) e = (e.cause ?? e.originalError) as typeof e;
      return e.type ?? e.message;
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    const admin = client('admin').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [Topics.commands, Topics.outcomes, Topics.commandResults, Topics.events].map((t) => ({ topic: `${prefix}${t}`, numPartitions: 1 })), waitForLeaders: true });
      await admin.createAcls({ acl: serviceAcls(prefix, { 'release-service': 'release-service', api: 'api', executor: 'executor', remediation: 'remediation' }) });
    } finally {
      await admin.disconnect();
    }
  }, 60_000);

  it('lets each app write what it must: the release service events and decisions, the api commands, the executor outcomes', async () => {
    expect(await send(client('release-service'), Topics.events)).toBe('written');
    expect(await send(client('release-service'), Topics.commandResults)).toBe('written');
    // PLAIN works as well as SCRAM, over the same TLS listener.
    expect(await send(client('api', { KAFKA_SASL_MECHANISM: 'plain' }), Topics.commands)).toBe('written');
    expect(await send(client('executor'), Topics.outcomes)).toBe('written');
    // The watchdog's expiries are outcomes too, its retries commands.
    expect(await send(client('release-service'), Topics.outcomes)).toBe('written');
    expect(await send(client('release-service'), Topics.commands)).toBe('written');
  });

  it('refuses a forged outcome from a principal that only sends commands', async () => {
    for (const user of ['api', 'outsider']) expect({ user, outcomes: await send(client(user), Topics.outcomes) }).toEqual({ user, outcomes: 'TOPIC_AUTHORIZATION_FAILED' });
    // The executor reports outcomes; it has no business on the commands topic.
    expect(await send(client('executor'), Topics.commands)).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('refuses a forged event or decision from every other principal', async () => {
    for (const user of ['api', 'executor', 'remediation', 'outsider']) {
      expect({ user, events: await send(client(user), Topics.events), results: await send(client(user), Topics.commandResults) }).toEqual({
        user,
        events: 'TOPIC_AUTHORIZATION_FAILED',
        results: 'TOPIC_AUTHORIZATION_FAILED',
      });
    }
    // A principal with no grant may not even send commands.
    expect(await send(client('outsider'), Topics.commands)).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('refuses a wrong password, and a broker certificate from an unknown CA', async () => {
    users.intruder = 'guessed-password';
    expect(await send(client('intruder'), Topics.commands)).toMatch(/SCRAM SHA512 authentication failed: .*invalid credentials/);
    // Without the profile's CA the broker's certificate is not trusted: the TLS handshake fails.
    const noCa = new Kafka({ clientId: 'no-ca', ...kafkaConnection(loadConfig({ KAFKA_BROKERS: brokers, KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'api', KAFKA_SASL_PASSWORD: users.api })), logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 5_000 });
    expect(await send(noCa, Topics.commands)).toMatch(/self-signed certificate in certificate chain/);
  });
});
