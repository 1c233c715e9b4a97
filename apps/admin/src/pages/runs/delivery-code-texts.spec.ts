/// <reference types="node" />
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runsDe, runsEn } from './runs.i18n';

/** The pinned OpenAPI document the admin's types come from (read as data: the UI imports no project). */
const openapi = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'api', 'openapi.json'), 'utf8')) as {
  components: { schemas: Record<string, { properties: Record<string, { enum?: Array<string | null> }> }> };
};

describe('delivery code texts of the admin UI', () => {
  it('explain every delivery code of the OpenAPI document, in English and German', () => {
    const codes = (openapi.components.schemas.RunDeliveryEvent.properties.code.enum ?? []).filter((c): c is string => c !== null);
    const alsoDelivery = (openapi.components.schemas.Delivery.properties.code.enum ?? []).filter((c): c is string => c !== null);
    expect(codes.length).toBeGreaterThan(5);
    expect(alsoDelivery.sort()).toEqual([...codes].sort());
    for (const texts of [runsEn.deliveryCode, runsDe.deliveryCode]) {
      expect(Object.keys(texts).sort()).toEqual([...codes].sort());
      for (const t of Object.values(texts)) expect(t.sentence.length * t.hint.length).toBeGreaterThan(0);
    }
  });
});
