import type { INestApplication } from '@nestjs/common';
import { ApiHeader, ApiParam, ApiQuery, ApiResponse, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { OperationOptionsSchema, ValuesSchema } from '@app/contracts';
import { ProblemCode, STATUS_OF_CODE } from './problem';

const documentConfig = () =>
  new DocumentBuilder()
    .setTitle('Helm release rollback service')
    .setDescription(
      'Revision history of Helm releases as an append-only event log; install, upgrade, rollback and uninstall ' +
        'through Helm. Writes answer 202 with the new revision once the command is decided; errors are ' +
        'application/problem+json with a stable `code`. Send `Idempotency-Key` to make a write safe to retry.',
    )
    .setVersion('1')
    .addBearerAuth()
    .setLicense('Apache-2.0', 'https://www.apache.org/licenses/LICENSE-2.0')
    .build();

/** The OpenAPI document of the app's routes (also built without servers, for packages/client: scripts/openapi.ts). */
export const openApiDocument = (app: INestApplication) => {
  const document = SwaggerModule.createDocument(app, documentConfig());
  document.components = { ...document.components, schemas: { ...document.components?.schemas, ...problemSchemas() } };
  return document;
};

/** Serves the OpenAPI document at /docs-json and its page at /docs. */
export const setupOpenApi = (app: INestApplication): void => {
  SwaggerModule.setup('docs', app, () => openApiDocument(app), { jsonDocumentUrl: 'docs-json' });
};

/**
 * A zod schema of the contracts as an OpenAPI 3.0 schema object (Helm values shown as any JSON object):
 * what a request may hold (`input`, the default: a field with a default is optional) or what an answer
 * holds (`output`).
 */
export const openApiSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> => {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    unrepresentable: 'any',
    io,
    override: (ctx) => {
      // What the refinement checks, in the words of JSON Schema: waitForJobs only while Helm waits.
      if ((ctx.zodSchema as unknown) === OperationOptionsSchema) {
        Object.assign(ctx.jsonSchema, { not: { required: ['wait', 'waitForJobs'], properties: { wait: { enum: [false] }, waitForJobs: { enum: [true] } } } });
      }
      if ((ctx.zodSchema as unknown) === ValuesSchema) {
        for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Record<string, unknown>)[key];
        Object.assign(ctx.jsonSchema, { type: 'object', additionalProperties: true, description: 'Helm values: any JSON object, stored exactly' });
      }
    },
  }) as Record<string, unknown>;
  delete json.definitions;
  delete json.$schema;
  return json;
};

/** Codes answered with another status than their own where a read asks for the missing thing itself. */
const ALSO_AT: Partial<Record<number, ProblemCode[]>> = { 404: ['REVISION_NOT_FOUND'] };
const codesAt = (status: number): ProblemCode[] => [...(Object.keys(STATUS_OF_CODE) as ProblemCode[]).filter((c) => STATUS_OF_CODE[c] === status), ...(ALSO_AT[status] ?? [])];

/**
 * The problem+json answers of a route, one per status, each naming the codes it may carry (the codes of
 * STATUS_OF_CODE with that status), so a client generated from the document knows them.
 */
export const problemResponses = (...statuses: number[]): MethodDecorator[] =>
  statuses.map((status) =>
    ApiResponse({
      status,
      description: 'application/problem+json (RFC 9457) with a stable `code`',
      content: { 'application/problem+json': { schema: { $ref: `#/components/schemas/${problemName(status)}` } } },
    }),
  );

const problemName = (status: number) => `Problem${status}`;

/** The problem+json schema of each status, once in the document's components (problemResponses refers to them). */
const problemSchemas = (): Record<string, object> =>
  Object.fromEntries(
    [...new Set([...Object.values(STATUS_OF_CODE), 404])].map((status) => [
      problemName(status),
      {
        type: 'object',
        required: ['type', 'title', 'status', 'code', 'detail'],
        properties: {
          type: { type: 'string', example: 'urn:helm-rollback-service:problem:revision-not-found' },
          title: { type: 'string' },
          status: { type: 'integer', enum: [status] },
          code: { type: 'string', enum: codesAt(status) },
          detail: { type: 'string' },
          instance: { type: 'string' },
          correlationId: { type: 'string' },
          errors: { type: 'array', items: { type: 'object' }, description: 'for VALIDATION_FAILED: each problem of the input, with its path' },
        },
        additionalProperties: true,
      },
    ]),
  );

/** The Idempotency-Key of a write: the same key again is answered with the first decision, applied once. */
export const idempotencyKey = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: '8 to 200 of A-Z a-z 0-9 . _ : -; scoped to the caller. The same key with another body is refused (422 IDEMPOTENCY_KEY_REUSED).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{8,200}$' },
});

/** A 2xx answer of a route with its body's schema (responses.ts). */
export const answers = (status: number, schema: z.ZodType, description: string): MethodDecorator =>
  ApiResponse({ status, description, content: { 'application/json': { schema: openApiSchema(schema, 'output') } } });

/**
 * The query parameters of a route from the schema it parses them with, so the document's constraints are
 * the validator's: a request valid by the document is one the route accepts.
 */
export const queryParams = (schema: z.ZodObject, descriptions: Record<string, string> = {}): MethodDecorator[] =>
  Object.entries(schema.shape).map(([name, field]) =>
    ApiQuery({ name, required: !(field as z.ZodType).safeParse(undefined).success, schema: openApiSchema(field as z.ZodType), ...(descriptions[name] ? { description: descriptions[name] } : {}) }),
  );

/** A path parameter from the schema the route parses it with. */
export const pathParam = (name: string, schema: z.ZodType): MethodDecorator => ApiParam({ name, required: true, schema: openApiSchema(schema) });

/** Several decorators as one. */
export const apply = (...decorators: MethodDecorator[]): MethodDecorator => (target, key, descriptor) => {
  for (const d of decorators) d(target, key, descriptor);
};
