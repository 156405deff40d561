/**
 * Writes docs/asyncapi.json, the AsyncAPI 3 document of the topics, from the contracts (libs/contracts,
 * asyncApiDocument). Usage: npm run asyncapi. A test fails while the file differs from what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asyncApiDocument } from '@app/contracts';

const root = join(__dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
writeFileSync(join(root, 'docs', 'asyncapi.json'), `${JSON.stringify(asyncApiDocument(version), null, 2)}\n`);
console.log('wrote docs/asyncapi.json');
