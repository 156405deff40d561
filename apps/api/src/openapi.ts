import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { z } from 'zod';
import { ValuesSchema } from '@app/contracts';

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
