import { ConfigError, loadConfig } from './config';

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
      loadConfig({ KAFKA_BROKERS: 'nope', API_PORT: '99999', AUTH_TOKENS: 'admin:x:supersecretsupersecret' });
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
});
