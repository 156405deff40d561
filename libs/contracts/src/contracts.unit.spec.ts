import { ReleaseCommand, ReleaseEvent } from '@app/domain';
import { driftCheckEvent, parseDriftCheckRequest } from './drift-checks';
import { inventoryEvent, MAX_INVENTORY_RELEASES, parseInventoryReport } from './helm-inventory';
import { commandEvent, parseCommand } from './commands';
import { parseReleaseEvent, releaseEventMessage } from './events';
import { commandResultEvent } from './results';
import { Topics } from './topics';

const context = {
  id: 'cmd-1',
  source: 'urn:test',
  time: '2026-11-01T12:00:00.000Z',
  actor: 'alice',
  correlationId: 'corr-1',
};
const json = (event: unknown) => JSON.parse(JSON.stringify(event));

describe('contracts', () => {
  it('pins the topic names', () => {
    expect(Topics).toEqual({
      commands: 'helm.release.commands',
      outcomes: 'helm.release.outcomes',
      commandResults: 'helm.release.command-results',
      events: 'helm.release.events',
      eventsDlq: 'helm.release.events.dlq',
      commandsDlq: 'helm.release.commands.dlq',
      driftChecks: 'helm.release.drift-checks',
      renderRequests: 'helm.release.render-requests',
      renderResults: 'helm.release.render-results',
      inventory: 'helm.release.inventory',
      upgradeFailedSignals: 'helm.release.upgrade-failed',
      upgradeFailedSignalsDlq: 'helm.release.upgrade-failed.dlq',
    });
  });

  it('pins the JSON of a rollback command', () => {
    const command: ReleaseCommand = { type: 'RollbackRelease', data: { releaseId: 'web', targetRevision: 3, reason: 'bad' } };
    expect(json(commandEvent(command, context))).toEqual({
      specversion: '1.0',
      id: 'cmd-1',
      source: 'urn:test',
      type: 'helm.release.command.rollback',
      subject: 'web',
      time: '2026-11-01T12:00:00.000Z',
      datacontenttype: 'application/json',
      actor: 'alice',
      correlationid: 'corr-1',
      schemaversion: 1,
      data: { releaseId: 'web', targetRevision: 3, reason: 'bad' },
    });
  });

  it.each<[string, ReleaseCommand]>([
    ['install', { type: 'InstallRelease', data: { releaseId: 'web', namespace: 'apps', chart: { name: 'web', repository: 'http://127.0.0.1:1' }, chartVersion: '1.0.0', values: { a: 1 }, atomic: true } }],
    ['upgrade', { type: 'UpgradeRelease', data: { releaseId: 'web', chartVersion: '1.1.0' } }],
    ['rollback', { type: 'RollbackRelease', data: { releaseId: 'web', targetRevision: 1 } }],
    ['rollback-last-successful', { type: 'RollbackToLastSuccessful', data: { releaseId: 'web', trigger: 'AUTOMATIC', causedByRevision: 2 } }],
    ['uninstall', { type: 'UninstallRelease', data: { releaseId: 'web' } }],
    ['operation-result', { type: 'RecordOperationResult', data: { releaseId: 'web', operationId: 'op', outcome: 'FAILED', error: 'boom', purged: true } }],
    ['expire-operation', { type: 'ExpireOperation', data: { releaseId: 'web', operationId: 'op' } }],
  ])('round-trips the %s command', (wire, command) => {
    const message = JSON.stringify(commandEvent(command, context));
    expect(JSON.parse(message).type).toBe(`helm.release.command.${wire}`);
    const parsed = parseCommand(Buffer.from(message), 'web');
    expect(parsed).toEqual({ ok: true, value: { command, context } });
  });

  describe('rejects what cannot be parsed or validated, saying why', () => {
    const valid = json(commandEvent({ type: 'RollbackRelease', data: { releaseId: 'web', targetRevision: 3 } }, context));
    it.each<[string, unknown, RegExp]>([
      ['bad JSON', '{"id": ', /not JSON/],
      ['an empty message', '', /empty/],
      ['a non-envelope', { hello: 1 }, /CloudEvents/],
      ['an unknown type', { ...valid, type: 'helm.release.command.explode' }, /unknown command type 'helm.release.command.explode'/],
      ['a wrong schema version', { ...valid, schemaversion: 7 }, /unsupported schemaversion '7'/],
      ['a string target revision', { ...valid, data: { releaseId: 'web', targetRevision: '3' } }, /targetRevision/],
      ['a fractional target revision', { ...valid, data: { releaseId: 'web', targetRevision: 2.5 } }, /integer >= 1/],
      ['an unknown field', { ...valid, data: { releaseId: 'web', targetRevision: 1, rm: '-rf' } }, /rm/],
      ['a release id that is not a DNS label', { ...valid, subject: 'Web_1', data: { releaseId: 'Web_1', targetRevision: 1 } }, /DNS label/],
      ['a subject that disagrees with the data', { ...valid, subject: 'other' }, /subject and key/],
      ['an unknown Helm flag', { ...valid, data: { releaseId: 'web', targetRevision: 1, options: { postRenderer: '/bin/sh' } } }, /postRenderer/],
      ['a Helm flag that is not a boolean', { ...valid, data: { releaseId: 'web', targetRevision: 1, options: { noHooks: '--post-renderer=x' } } }, /noHooks/],
      ['waitForJobs without wait', { ...valid, data: { releaseId: 'web', targetRevision: 1, options: { wait: false, waitForJobs: true } } }, /waitForJobs needs wait/],
    ])('%s', (_name, message, reason) => {
      const result = parseCommand(typeof message === 'string' ? message : JSON.stringify(message), 'web');
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatch(reason);
    });
  });

  it('pins the JSON of a command result', () => {
    expect(
      json(
        commandResultEvent(
          {
            commandId: 'cmd-1',
            releaseId: 'web',
            outcome: 'REJECTED',
            error: { code: 'OPERATION_IN_PROGRESS', message: 'busy' },
          },
          { source: 'urn:release-service', correlationId: 'corr-1', time: context.time },
        ),
      ),
    ).toEqual({
      specversion: '1.0',
      id: 'result:cmd-1',
      source: 'urn:release-service',
      type: 'helm.release.command-result',
      subject: 'web',
      time: context.time,
      datacontenttype: 'application/json',
      causationid: 'cmd-1',
      correlationid: 'corr-1',
      schemaversion: 1,
      data: { commandId: 'cmd-1', releaseId: 'web', outcome: 'REJECTED', error: { code: 'OPERATION_IN_PROGRESS', message: 'busy' } },
    });
  });

  it('pins the JSON of a revision event and parses it back', () => {
    const event: ReleaseEvent = {
      type: 'RevisionDeployed',
      data: { releaseId: 'web', revision: 3, operationId: 'op', helmRevision: 3, completedAt: context.time },
    };
    const message = releaseEventMessage(event, {
      eventId: 'web:5:0',
      releaseId: 'web',
      streamVersion: 5,
      time: context.time,
      source: 'urn:release-service',
      correlationId: 'corr-1',
      causationId: 'cmd-1',
      actor: 'alice',
    });
    expect(json(message)).toEqual({
      specversion: '1.0',
      id: 'web:5:0',
      source: 'urn:release-service',
      type: 'helm.release.event.RevisionDeployed',
      subject: 'web',
      time: context.time,
      datacontenttype: 'application/json',
      correlationid: 'corr-1',
      causationid: 'cmd-1',
      actor: 'alice',
      streamversion: 5,
      schemaversion: 1,
      data: event.data,
    });
    expect(parseReleaseEvent(JSON.stringify(message))).toEqual({
      ok: true,
      received: { id: 'web:5:0', releaseId: 'web', streamVersion: 5, correlationId: 'corr-1', causationId: 'cmd-1', event },
    });
  });

  it('reads a drift check request, and refuses one whose subject is another release or whose data is off schema', () => {
    const request = { releaseId: 'web', cluster: 'b', name: 'web', namespace: 'apps', knownHelmRevision: 3 };
    const message = JSON.stringify(driftCheckEvent(request, { id: 'drift:web:1', source: 'urn:test' }));
    expect(parseDriftCheckRequest(message)).toEqual({ ok: true, id: 'drift:web:1', request });
    // Sent before releases had clusters: the legacy cluster's.
    expect(parseDriftCheckRequest(message.replace('"cluster":"b",', ''))).toEqual({ ok: true, id: 'drift:web:1', request: { ...request, cluster: 'default' } });
    expect(parseDriftCheckRequest(message.replace('"subject":"web"', '"subject":"api"'))).toMatchObject({ ok: false, reason: 'subject must equal data.releaseId' });
    expect(parseDriftCheckRequest(message.replace('"namespace":"apps"', '"namespace":"Apps;rm"'))).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
    expect(parseDriftCheckRequest(Buffer.from([0xff, 0xfe]))).toMatchObject({ ok: false });
  });

  it('reads an inventory report, and refuses one with a release name that is no DNS label, too many releases, or no cluster', () => {
    const listed = { namespace: 'apps', name: 'web', revision: 3, status: 'deployed', chart: 'web-1.1.0', updated: '2026-12-02 10:00:00.1 +0000 UTC' };
    const report = { cluster: 'default', takenAt: '2026-12-02T10:00:00.000Z', complete: true, releases: [listed] };
    const message = JSON.stringify(inventoryEvent(report, { id: 'inventory:1', source: 'urn:test' }));
    expect(parseInventoryReport(message)).toEqual({ ok: true, id: 'inventory:1', report });
    expect(parseInventoryReport(message.replace('"name":"web"', '"name":"--post-renderer=x"'))).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
    expect(parseInventoryReport(message.replace('"cluster":"default",', ''))).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
    const many = { ...report, releases: Array.from({ length: MAX_INVENTORY_RELEASES + 1 }, (_, i) => ({ ...listed, name: `web-${i}` })) };
    expect(parseInventoryReport(JSON.stringify(inventoryEvent(many, { id: 'inventory:2', source: 'urn:test' })))).toMatchObject({ ok: false, code: 'INVALID_MESSAGE' });
    expect(parseInventoryReport('{"a":'.repeat(5000))).toMatchObject({ ok: false });
  });
});
