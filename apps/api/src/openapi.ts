import type { INestApplication } from '@nestjs/common';
import { ApiHeader, ApiResponse, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { ValuesSchema } from '@app/contracts';
import { ProblemCode, STATUS_OF_CODE } from './problem';

/** Serves the OpenAPI document at /docs-json and its page at /docs. */
export const setupOpenApi = (app: INestApplication): void => {
  const config = new DocumentBuilder()
    .setTitle('Helm release rollback service')
    .setDescription(
      'Revision history of Helm releases as an append-only event log; install, upgrade, rollback and uninstall ' +
        'through Helm. Writes answer 202 with the new revision once the command is decided; errors are ' +
        'application/problem+json with a stable `code`. Send `Idempotency-Key` to make a write safe to retry.',
    )
    .setVersion('1')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config), { jsonDocumentUrl: 'docs-json' });
};

/** A zod schema of the contracts as an OpenAPI 3.0 schema object (Helm values shown as any JSON object). */
export const openApiSchema = (schema: z.ZodType): Record<string, unknown> => {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    unrepresentable: 'any',
    override: (ctx) => {
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

/**
 * The problem+json answers of a route, one per status, each naming the codes it may carry (the codes of
 * STATUS_OF_CODE with that status), so a client generated from the document knows them.
 */
export const problemResponses = (...statuses: number[]): MethodDecorator[] =>
  statuses.map((status) =>
    ApiResponse({
      status,
      description: 'application/problem+json (RFC 9457) with a stable `code`',
      content: {
        'application/problem+json': {
          schema: {
            type: 'object',
            required: ['type', 'title', 'status', 'code', 'detail'],
            properties: {
              type: { type: 'string', example: 'urn:helm-rollback-service:problem:revision-not-found' },
              title: { type: 'string' },
              status: { type: 'integer', enum: [status] },
              code: { type: 'string', enum: (Object.keys(STATUS_OF_CODE) as ProblemCode[]).filter((c) => STATUS_OF_CODE[c] === status) },
              detail: { type: 'string' },
              instance: { type: 'string' },
              correlationId: { type: 'string' },
              errors: { type: 'array', items: { type: 'object' }, description: 'for VALIDATION_FAILED: each problem of the input, with its path' },
            },
            additionalProperties: true,
          },
        },
      },
    }),
  );

/** The Idempotency-Key of a write: the same key again is answered with the first decision, applied once. */
export const idempotencyKey = ApiHeader({
  name: 'Idempotency-Key',
  required: false,
  description: '8 to 200 of A-Z a-z 0-9 . _ : -; scoped to the caller. The same key with another body is refused (422 IDEMPOTENCY_KEY_REUSED).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{8,200}$' },
});
