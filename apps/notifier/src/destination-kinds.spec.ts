import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DELIVERY_CODES,
  DESTINATION_KINDS,
  destinationSchema,
  HOST_FIELD,
  patchDestinationSchema,
  SECRET_FIELDS_BY_KIND,
  SECRETS_NEEDED,
  type DestinationKind,
} from '@pbx/contracts';
import { createDestinationRegistry } from '@pbx/destinations/adapters';
import { DELIVERY_CODE_TEXTS, DESTINATION_LABELS } from './templates';

/**
 * Every destination kind is complete: its schema (create and PATCH), its adapter in the registry,
 * the served OpenAPI document, the notifier's label and texts, and its section in
 * docs/destinations.md. The kinds come from the contracts' union, so a kind added there and
 * forgotten anywhere else fails here (or, for the registry and the labels, does not compile).
 * It lives in the notifier because that is the one consumer that is an app; the others are
 * libs it may import or files it reads.
 */
const ROOT = join(__dirname, '../../..');
const openapi = JSON.parse(readFileSync(join(ROOT, 'apps/api/openapi.json'), 'utf8')) as {
  components: { schemas: Record<string, { oneOf?: { properties: { type: { const: string } } }[]; properties?: Record<string, unknown> }> };
};
const docs = readFileSync(join(ROOT, 'docs/destinations.md'), 'utf8');

const unionKinds = (schema: { options: readonly { shape: { type: { value: string } } }[] }) => schema.options.map((o) => o.shape.type.value);
const openApiRequestKinds = () => (openapi.components.schemas.DestinationRequest.oneOf ?? []).map((o) => o.properties.type.const);
const openApiResponseKinds = () => ((openapi.components.schemas.Destination.properties?.type as { enum?: string[] } | undefined)?.enum ?? []);
/** A heading like "### `sftp` — …" in docs/destinations.md. */
const docsSection = (kind: string) => new RegExp(`^#{2,4} \`${kind}\``, 'm').test(docs);
const docsCodeRow = (code: string) => new RegExp(`^\\| \`${code}\` \\|`, 'm').test(docs);

const registry = createDestinationRegistry({ localRoot: '/nonexistent/local', usbRoot: '/nonexistent/usb', smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'a@b.c', dropbox: { appKey: 'k' } });

describe('every destination kind is complete', () => {
  it('the checks below see a kind that is missing', () => {
    expect(openApiRequestKinds()).not.toContain('ftp');
    expect(docsSection('ftp')).toBe(false);
    expect(() => registry.get('ftp' as DestinationKind)).toThrow();
  });

  describe.each(DESTINATION_KINDS.map((kind) => [kind]))('%s', (kind) => {
    it('has a create and a PATCH schema', () => {
      expect(unionKinds(destinationSchema)).toContain(kind);
      expect(unionKinds(patchDestinationSchema)).toContain(kind);
    });

    it('names only fields marked secret as the secrets it needs', () => {
      const rule = SECRETS_NEEDED[kind];
      const missing = rule?.(() => false);
      if (missing) expect(SECRET_FIELDS_BY_KIND[kind]).toContain(missing.field);
      expect(rule?.(() => true)).toBeUndefined();
    });

    it('names its host field, if any, among its fields', () => {
      const field = HOST_FIELD[kind];
      const shape = destinationSchema.options.find((o) => o.shape.type.value === kind)?.shape ?? {};
      if (field !== null) expect(Object.keys(shape)).toContain(field);
    });

    it('has an adapter in the registry', () => {
      expect(registry.get(kind).type).toBe(kind);
    });

    it('is in the served OpenAPI document (request union and response enum)', () => {
      expect(openApiRequestKinds()).toContain(kind);
      expect(openApiResponseKinds()).toContain(kind);
    });

    it('has a label in the reports', () => {
      expect(DESTINATION_LABELS[kind]).toMatch(/\S/);
    });

    it('has a section in docs/destinations.md', () => {
      expect(docsSection(kind)).toBe(true);
    });
  });

  it.each(DELIVERY_CODES.map((code) => [code]))('delivery code %s has a text in every language and a row in the docs', (code) => {
    for (const texts of Object.values(DELIVERY_CODE_TEXTS)) expect(texts[code].sentence).toMatch(/\S/);
    if (code !== 'successful') expect(docsCodeRow(code)).toBe(true);
  });
});
