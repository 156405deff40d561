import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { asyncApiDocument, commandEvent, parseCommand } from '@app/contracts';

const root = join(__dirname, '../..');
const committed = readFileSync(join(root, 'docs', 'asyncapi.json'), 'utf8');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

// docs/asyncapi.json: written from the contracts (npm run asyncapi), valid by the AsyncAPI parser, and
// saying of a message what the service's own parser says.
describe('the AsyncAPI document of the topics', () => {
  it('is what the contracts build today (run `npm run asyncapi` after changing them)', () => {
    expect(JSON.parse(committed)).toEqual(asyncApiDocument(version));
  });

  it('is valid AsyncAPI 3.1, without a single diagnostic of the AsyncAPI parser', async () => {
    const { document, diagnostics } = await new Parser().parse(committed);
    expect(diagnostics.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document!.channels().all().map((c) => c.address()).sort()).toEqual(
      ['helm.release.command-results', 'helm.release.commands', 'helm.release.commands.dlq', 'helm.release.drift-checks', 'helm.release.events', 'helm.release.events.dlq', 'helm.release.inventory', 'helm.release.outcomes', 'helm.release.render-requests', 'helm.release.render-results', 'helm.release.upgrade-failed'].sort(),
    );
    // Each command type on the one topic the service accepts it from.
    const typesOn = (address: string) => document!.channels().all().find((c) => c.address() === address)!.messages().all().map((m) => m.title()).sort();
    expect(typesOn('helm.release.outcomes')).toEqual(['ExpireOperation', 'RecordDriftCheck', 'RecordOperationResult', 'ReportUpgradeFailure']);
    expect(typesOn('helm.release.commands')).toEqual(['InstallRelease', 'RetryOperation', 'RollbackRelease', 'RollbackToLastSuccessful', 'UninstallRelease', 'UpgradeRelease']);
  });

  it("accepts the rollback command the service accepts, and refuses the one it refuses", () => {
    const doc = JSON.parse(committed) as { components: { messages: Record<string, { payload: object }> } };
    const accepts = addFormats(new Ajv({ strict: false })).compile(doc.components.messages['command-rollback'].payload);
    const message = (targetRevision: number) =>
      JSON.parse(JSON.stringify(commandEvent({ type: 'RollbackRelease', data: { releaseId: 'web', targetRevision, reason: 'bad config' } }, { id: `c-${targetRevision}`, source: 'urn:ci', actor: 'ci', correlationId: 'x' })));
    const ok = message(2);
    expect({ doc: accepts(ok), service: parseCommand(JSON.stringify(ok), 'web').ok }).toEqual({ doc: true, service: true });
    const bad = message(0);
    expect({ doc: accepts(bad), service: parseCommand(JSON.stringify(bad), 'web').ok }).toEqual({ doc: false, service: false });
  });
});

// packages/client: its types are what openapi-typescript makes of its openapi.json (the running API's
// document, which test/api-conformance.e2e-spec.ts holds the file to).
describe('the typed client', () => {
  it('has the types openapi-typescript generates from openapi.json today (run `npm run openapi`)', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'client-types-')), 'schema.ts');
    await promisify(execFile)(join(root, 'node_modules', '.bin', 'openapi-typescript'), [join(root, 'packages', 'client', 'openapi.json'), '--output', out]);
    expect(readFileSync(join(root, 'packages', 'client', 'src', 'schema.ts'), 'utf8')).toBe(readFileSync(out, 'utf8'));
  });
});
