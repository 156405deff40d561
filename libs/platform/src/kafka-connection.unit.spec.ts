import { loadConfig } from './config';
import { kafkaConnection } from './kafka';

describe('how the clients reach Kafka', () => {
  it('is plain by default, TLS and SASL when configured', () => {
    expect(kafkaConnection(loadConfig({ KAFKA_BROKERS: 'k1:9092,k2:9092' }))).toEqual({ brokers: ['k1:9092', 'k2:9092'] });
    expect(kafkaConnection(loadConfig({ KAFKA_SSL: 'true', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'release-service', KAFKA_SASL_PASSWORD: 's3cret' }))).toEqual({
      brokers: ['127.0.0.1:39092'],
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'release-service', password: 's3cret' },
    });
  });

  it('refuses settings that cannot work together, naming them', () => {
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'api' })).toThrow(/SASL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/KAFKA_SASL_MECHANISM/);
    expect(() => loadConfig({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: '/c.pem' })).toThrow(/needs its key/);
    expect(() => loadConfig({ KAFKA_SSL_CA_FILE: '/ca.pem' })).toThrow(/only with KAFKA_SSL=true/);
  });
});
