import { MASK, parseVisiblePaths, redactText, redactValues } from './redaction';

describe('redactValues', () => {
  const values = {
    replicas: 3,
    image: { tag: '1.2.3', pullPolicy: 'Always' },
    database: { url: 'postgres://app:hunter2@db/x' },
    pwd: 's3cret',
    env: [{ name: 'DB_PASSWORD', value: 'envsecret' }],
    tls: { cert: 'PEM', enabled: true },
    note: null,
  };

  it('shows a viewer keys and value types only, by default: no string, number or boolean of the values', () => {
    expect(redactValues(values)).toEqual({
      replicas: '<number>',
      image: { tag: '<string>', pullPolicy: '<string>' },
      database: { url: '<string>' },
      pwd: MASK,
      env: [{ name: '<string>', value: '<string>' }],
      tls: { cert: MASK, enabled: '<boolean>' },
      note: null,
    });
    expect(JSON.stringify(redactValues(values))).not.toMatch(/hunter2|s3cret|envsecret|1\.2\.3/);
  });

  it('shows the values at declared paths, but never under secret-named keys nor credential-looking strings', () => {
    const visible = parseVisiblePaths(['replicas', 'image', '*.enabled', 'database.url', 'env.*.name', 'pwd']);
    expect(redactValues(values, visible)).toEqual({
      replicas: 3,
      image: { tag: '1.2.3', pullPolicy: 'Always' },
      database: { url: MASK },
      pwd: MASK,
      env: [{ name: 'DB_PASSWORD', value: '<string>' }],
      tls: { cert: MASK, enabled: true },
      note: null,
    });
  });
});

describe('redactText', () => {
  it('masks quoted text, credentials in URLs and secret pairs in Helm error text', () => {
    const text = `Error: looks like "https://u:pw@charts.internal/x" is not a valid chart repository; values 'hunter2'; password=topsecret token: abc`;
    const redacted = redactText(text);
    expect(redacted).not.toMatch(/pw@|hunter2|topsecret|abc/);
    expect(redacted).toContain('is not a valid chart repository');
    expect(redactText('dial tcp https://admin:x@10.0.0.1:443 refused')).toBe(`dial tcp https://${MASK}@10.0.0.1:443 refused`);
  });
});
