import { MASK, redactValues } from './redaction';

describe('redactValues', () => {
  it('keeps keys and plain values, masks values under secret-named keys at any depth', () => {
    expect(
      redactValues({
        replicas: 3,
        image: { tag: '1.2.3' },
        db: { password: 'hunter2', user: 'app', credentials: { id: 'x', nested: ['a', 'b'] } },
        apiKey: 'abc',
        tls: { cert: 'PEM', enabled: true },
      }),
    ).toEqual({
      replicas: 3,
      image: { tag: '1.2.3' },
      db: { password: MASK, user: 'app', credentials: { id: MASK, nested: [MASK, MASK] } },
      apiKey: MASK,
      tls: { cert: MASK, enabled: true },
    });
  });

  it('masks strings that look like credentials wherever they are', () => {
    expect(redactValues({ note: '-----BEGIN RSA PRIVATE KEY-----\nabc', gh: 'ghp_abcdefghijklmnop123', short: 'hello' })).toEqual({
      note: MASK,
      gh: MASK,
      short: 'hello',
    });
  });
});
