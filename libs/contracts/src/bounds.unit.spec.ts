import { commandEvent, DEFAULT_MESSAGE_LIMITS, parseCommand } from './commands';
import { checkValues, jsonTextDepth } from './bounds';
import { parseReleaseEvent } from './events';

const deep = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const install = (values: string) =>
  JSON.stringify(
    commandEvent(
      { type: 'InstallRelease', data: { releaseId: 'web', namespace: 'apps', chart: { name: 'web', repository: 'https://charts.example.com' }, chartVersion: '1.0.0', values: {} } },
      { id: 'c1', source: 'urn:test', actor: 'ann', correlationId: 'c1' },
    ),
  ).replace('"values":{}', `"values":${values}`);

describe('bounded parsing of untrusted JSON', () => {
  it('measures the nesting of JSON text in one pass, ignoring brackets inside strings', () => {
    expect(jsonTextDepth('{"a":[1,{"b":"[[[{{{"}]}')).toBe(3);
    expect(jsonTextDepth('"\\"{["')).toBe(0);
    expect(jsonTextDepth(deep(100_000))).toBe(100_000);
  });

  it('checks values without recursion: a million levels deep is refused, not a stack overflow', () => {
    expect(checkValues(JSON.parse(deep(1_000_000)))).toEqual({ ok: false, kind: 'shape', reason: expect.stringMatching(/deeper than 64 levels/) });
    expect(checkValues(JSON.parse(deep(63)))).toEqual({ ok: true });
  });

  it('refuses __proto__, constructor and prototype keys explicitly, and non-JSON values', () => {
    expect(checkValues(JSON.parse('{"a":{"__proto__":{"x":1}}}'))).toMatchObject({ ok: false, reason: "values.a: the key '__proto__' is not allowed" });
    expect(checkValues({ constructor: 1 })).toMatchObject({ ok: false, kind: 'shape' });
    expect(checkValues({ a: [1, { prototype: 2 }] })).toMatchObject({ ok: false, reason: expect.stringContaining('values.a.1') });
    expect(checkValues({ a: Number.NaN })).toMatchObject({ ok: false, kind: 'shape' });
    expect(checkValues([1])).toMatchObject({ ok: false, kind: 'shape' });
  });

  it('bounds the size of values as their JSON text would be', () => {
    expect(checkValues({ blob: 'x'.repeat(300 * 1024) })).toMatchObject({ ok: false, kind: 'size' });
    expect(checkValues({ blob: 'x'.repeat(200 * 1024) })).toEqual({ ok: true });
    expect(checkValues({ blob: 'x'.repeat(2_000) }, { maxDepth: 64, maxBytes: 1_024 })).toMatchObject({ ok: false, kind: 'size' });
  });

  it('parseCommand never throws: deep, huge, invalid UTF-8 and prototype keys are refused with a code and a reason', () => {
    const cases: Array<[string, Buffer | string, string, RegExp]> = [
      ['values 3,000 deep (18 KB)', install(deep(3_000)), 'INVALID_MESSAGE', /deeper than/],
      ['values 65 deep, within the message budget', install(deep(65)), 'VALIDATION_FAILED', /deeper than 64/],
      ['5 MB', install(`{"pad":"${'x'.repeat(5 * 1024 * 1024)}"}`), 'INVALID_MESSAGE', /over the limit/],
      ['invalid UTF-8', Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), 'INVALID_MESSAGE', /not valid UTF-8/],
      ['__proto__ in values', install('{"__proto__":{"admin":true}}'), 'VALIDATION_FAILED', /__proto__/],
      ['values over 256 KB', install(`{"blob":"${'x'.repeat(300 * 1024)}"}`), 'VALIDATION_FAILED', /larger than/],
    ];
    for (const [what, message, code, reason] of cases) {
      const parsed = parseCommand(message, 'web', { limits: DEFAULT_MESSAGE_LIMITS });
      expect({ what, ok: parsed.ok, code: !parsed.ok && parsed.code, reason: !parsed.ok && reason.test(parsed.error) }).toEqual({ what, ok: false, code, reason: true });
    }
    expect(parseCommand(install('{"a":1}'), 'web').ok).toBe(true);
  });

  it('parseReleaseEvent validates what the executor acts on and never throws', () => {
    const event = (data: Record<string, unknown>) =>
      JSON.stringify({ specversion: '1.0', id: 'web:2:0', type: 'helm.release.event.UninstallRequested', source: 'urn:rs', subject: 'web', streamversion: 2, data });
    const now = new Date().toISOString();
    const good = { releaseId: 'web', operationId: 'op', name: 'web', namespace: 'apps', requestedBy: 'ann', requestedAt: now, trigger: 'MANUAL', timeoutSeconds: 60, deadline: now };
    expect(parseReleaseEvent(event(good))).toMatchObject({ ok: true, received: { event: { type: 'UninstallRequested' } } });
    expect(parseReleaseEvent(event({ ...good, name: '--post-renderer=/bin/sh' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/name: must be a DNS label/) });
    expect(parseReleaseEvent(event({ ...good, releaseId: 'other' }))).toMatchObject({ ok: false, reason: expect.stringMatching(/subject/) });
    expect(parseReleaseEvent(Buffer.from([0xff, 0xfe]))).toMatchObject({ ok: false, reason: 'message is not valid UTF-8' });
    expect(parseReleaseEvent(deep(10_000))).toMatchObject({ ok: false, reason: expect.stringMatching(/deeper/) });
    expect(parseReleaseEvent(JSON.stringify({ specversion: '1.0', id: 'x', type: 'io.other', source: 's', subject: 'web', streamversion: 1 }))).toEqual({ ok: true, received: null });
  });
});
