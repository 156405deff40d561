/**
 * Writes packages/client/openapi.json, the OpenAPI document of the API, from its built controllers without
 * starting anything (Nest's preview mode: no provider is made, no server reached), then the client's types
 * from it (openapi-typescript). Usage: npm run openapi (it builds first: Nest's injection needs the
 * decorator metadata that tsc emits). The conformance test fails while the file differs from the running
 * API's document, and the client's test while the types differ from the file.
 */
require('reflect-metadata');
const { execFileSync } = require('node:child_process');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { NestFactory } = require('@nestjs/core');

const root = join(__dirname, '..');
const { ApiModule } = require(join(root, 'dist/apps/api/src/api.module'));
const { openApiDocument } = require(join(root, 'dist/apps/api/src/openapi'));

const main = async () => {
  const app = await NestFactory.create(ApiModule, { preview: true, logger: false, abortOnError: false });
  const file = join(root, 'packages', 'client', 'openapi.json');
  writeFileSync(file, `${JSON.stringify(openApiDocument(app), null, 2)}\n`);
  await app.close();
  execFileSync(join(root, 'node_modules', '.bin', 'openapi-typescript'), [file, '--output', join(root, 'packages', 'client', 'src', 'schema.ts')], { stdio: 'inherit' });
  console.log('wrote packages/client/openapi.json and packages/client/src/schema.ts');
};

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
