import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { requestSchemaComponents } from './request-schemas';
import { RESPONSE_SCHEMAS } from './response-schemas';

export const DOCS_PATH = 'api/docs';
export const DOCS_JSON_PATH = 'api/docs-json';

/** The OpenAPI 3.1 document: paths from the controllers' decorators, request schemas from zod. */
export function buildOpenApiDocument(app: INestApplication, defaultTimezone: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('pbx-backup API')
    .setDescription(
      'Backup and archive configurations, runs, downloads and dead letters of the PBX backup service. ' +
        'Every route except health, metrics and these docs needs `Authorization: Bearer <token>` of a role that ' +
        'allows it (`x-permission` on each operation; docs/security.md). Errors are application/problem+json (RFC 7807).',
    )
    .setVersion('1')
    // Tokens are opaque random strings; addBearerAuth would otherwise claim bearerFormat JWT.
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'opaque', description: 'an opaque API token' }, 'bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...RESPONSE_SCHEMAS, ...requestSchemaComponents(defaultTimezone) },
  };
  // Operations carry their security from @RequirePermission (bearer); public ones have none.
  return document;
}

export function setupOpenApi(app: INestApplication, defaultTimezone: string): OpenAPIObject {
  const document = buildOpenApiDocument(app, defaultTimezone);
  SwaggerModule.setup(DOCS_PATH, app, document, { jsonDocumentUrl: DOCS_JSON_PATH, yamlDocumentUrl: 'api/docs-yaml' });
  return document;
}
