import { ConfigError, consumedTopic, loadConfig, topicName } from './config';

describe('config', () => {
  it('has working local defaults', () => {
    const config = loadConfig({});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:39092']);
    expect(config.MONGODB_URI).toMatch(/^mongodb:\/\/127\.0\.0\.1:37017\//);
    expect(config.AUTH_TOKENS).toEqual([]);
  });

  it('parses role:subject:token grants', () => {
    const config = loadConfig({ AUTH_TOKENS: 'viewer:ann:aaaaaaaaaaaaaaaaaaaa, operator:ops:bbbbbbbbbbbbbbbb:cc' });
    expect(config.AUTH_TOKENS).toEqual([
      { role: 'viewer', subject: 'ann', token: 'aaaaaaaaaaaaaaaaaaaa' },
      { role: 'operator', subject: 'ops', token: 'bbbbbbbbbbbbbbbb:cc' },
    ]);
  });

  it('names every problem at once and never echoes a token', () => {
    let error: unknown;
    try {
      loadConfig({ KAFKA_BROKERS: 'nope', API_PORT: '99999', AUTH_TOKENS: 'root:x:supersecretsupersecret' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/KAFKA_BROKERS/);
    expect(message).toMatch(/API_PORT/);
    expect(message).toMatch(/AUTH_TOKENS/);
    expect(message).not.toMatch(/supersecret/);
  });

  it('names a consumed topic from the prefix alone, as the loaded config names it', () => {
    for (const env of [{}, { KAFKA_TOPIC_PREFIX: 'run-7.' }, { KAFKA_TOPIC_PREFIX: 'x', API_PORT: 'not a port' }]) {
      expect(consumedTopic('helm.release.events', env)).toBe(`${env.KAFKA_TOPIC_PREFIX ?? ''}helm.release.events`);
    }
    expect(consumedTopic('helm.release.events', { KAFKA_TOPIC_PREFIX: 'run-7.' })).toBe(topicName(loadConfig({ KAFKA_TOPIC_PREFIX: 'run-7.' }), 'helm.release.events'));
    // A prefix the config refuses stops the app at start (loadConfig); the decorator is not where it fails.
    expect(consumedTopic('helm.release.events', { KAFKA_TOPIC_PREFIX: 'a b' })).toBe('helm.release.events');
    expect(() => loadConfig({ KAFKA_TOPIC_PREFIX: 'a b' })).toThrow(ConfigError);
  });
});
