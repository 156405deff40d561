import { randomBytes } from 'node:crypto';
import { commandEvent, parseCommand } from './commands';
import { parseReleaseEvent, releaseEventMessage } from './events';
import { isSealed, openIn, openText, openValues, sealIn, sealText, sealValues, ValuesCipher } from './values-cipher';

describe('ValuesCipher (AES-256-GCM)', () => {
  const cipher = new ValuesCipher(randomBytes(32));
  const values = { db: { password: 'hunter2', host: 'db.internal' }, 'a.b/c': [1, 'x'] };

  it('seals values so no plaintext remains, and opens them exactly', () => {
    const sealed = sealValues(cipher, values);
    expect(isSealed(sealed)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain('hunter2');
    expect(JSON.stringify(sealed)).not.toContain('db.internal');
    expect(openValues(cipher, sealed)).toEqual(values);
    // A fresh nonce each time: the same values never seal to the same text.
    expect(JSON.stringify(sealValues(cipher, values))).not.toBe(JSON.stringify(sealed));
  });

  it('seals the values of every revision in a list (adoption, drift) on Kafka, and a parsed command has them opened', () => {
    const revision = (helmRevision: number) => ({
      helmRevision, chartName: 'web', chartVersion: '1.0.0', values, helmStatus: 'deployed', description: 'Install complete', updatedAt: '2026-12-02T10:00:00Z',
    });
    const message = JSON.stringify(
      commandEvent(
        { type: 'RecordDriftCheck', data: { releaseId: 'web', revisions: [revision(2), revision(3)], checkedAt: '2026-12-02T10:00:00Z' } },
        { id: 'c1', source: 'urn:test', actor: 'system:executor', correlationId: 'c1' },
        cipher,
      ),
    );
    expect(message).not.toContain('hunter2');
    const parsed = parseCommand(message, 'web', { cipher });
    expect(parsed.ok && parsed.value.command.type === 'RecordDriftCheck' && parsed.value.command.data.revisions.map((r) => r.values)).toEqual([values, values]);
    expect(openIn(cipher, sealIn(cipher, { imported: [revision(1)], external: [revision(2)] }))).toEqual({ imported: [revision(1)], external: [revision(2)] });
  });

  it('refuses a wrong key and an altered ciphertext, and says a key is needed when none is configured', () => {
    const sealed = sealValues(cipher, values) as { $sealed: string };
    expect(() => openValues(new ValuesCipher(randomBytes(32)), sealed)).toThrow(/wrong VALUES_ENCRYPTION_KEY, or the data was altered/);
    const parts = sealed.$sealed.split('.');
    const flipped = Buffer.from(parts[3], 'base64url');
    flipped[0] ^= 1;
    expect(() => openValues(cipher, { $sealed: [...parts.slice(0, 3), flipped.toString('base64url')].join('.') })).toThrow(/altered/);
    expect(() => openValues(undefined, sealed)).toThrow(/set VALUES_ENCRYPTION_KEY/);
    expect(() => new ValuesCipher(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('passes plain values through (data written before a key was set) and seals nothing without a key', () => {
    expect(openValues(cipher, values)).toEqual(values);
    expect(sealValues(undefined, values)).toBe(values);
    expect(openIn(cipher, { releaseId: 'x', values })).toEqual({ releaseId: 'x', values });
    expect(openText(cipher, '{"a":1}')).toBe('{"a":1}');
    expect(openText(cipher, sealText(cipher, '{"a":"hunter2"}'))).toBe('{"a":"hunter2"}');
    expect(sealText(cipher, '{"a":"hunter2"}')).not.toContain('hunter2');
    expect(sealIn(cipher, { releaseId: 'x' })).toEqual({ releaseId: 'x' });
  });

  it('commands and events carry sealed values on the wire and are read back opened and validated', () => {
    const command = commandEvent(
      { type: 'UpgradeRelease', data: { releaseId: 'web', values } },
      { id: 'c1', source: 'urn:test', actor: 'ann', correlationId: 'c1' },
      cipher,
    );
    const wire = JSON.stringify(command);
    expect(wire).not.toContain('hunter2');
    const parsed = parseCommand(wire, 'web', { cipher });
    expect(parsed.ok && parsed.value.command.data).toEqual({ releaseId: 'web', values });
    // Without the key the command is refused with a reason (dead-lettered), never decided on ciphertext.
    const refused = parseCommand(wire, 'web');
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/set VALUES_ENCRYPTION_KEY/) });

    const now = new Date().toISOString();
    const data = {
      releaseId: 'web', revision: 2, operationId: 'op-2', cluster: 'default', name: 'web', namespace: 'apps', requestedBy: 'ann', requestedAt: now, trigger: 'MANUAL',
      timeoutSeconds: 60, deadline: now, chart: { name: 'web', repository: 'https://charts.example.com' }, chartVersion: '1.0.0', values, atomic: false,
    } as const;
    const event = releaseEventMessage(
      { type: 'UpgradeRequested', data },
      { eventId: 'web:2:0', releaseId: 'web', streamVersion: 2, time: new Date().toISOString(), source: 'urn:test', correlationId: 'c', causationId: 'c', actor: 'ann' },
      cipher,
    );
    expect(JSON.stringify(event)).not.toContain('hunter2');
    const received = parseReleaseEvent(JSON.stringify(event), { cipher });
    expect(received.ok && received.received?.event.data).toEqual(data);
  });
});
