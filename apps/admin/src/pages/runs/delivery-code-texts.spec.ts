import { describe, expect, it } from '@jest/globals';
import openapi from '../../../../api/openapi.json';
import { runsDe, runsEn } from './runs.i18n';

describe('delivery code texts of the admin UI', () => {
  it('explain every delivery code of the OpenAPI document, in English and German', () => {
    const codes = (openapi.components.schemas.RunDeliveryEvent.properties.code.enum as Array<string | null>).filter((c): c is string => c !== null);
    expect(codes.length).toBeGreaterThan(5);
    for (const texts of [runsEn.deliveryCode, runsDe.deliveryCode]) {
      expect(Object.keys(texts).sort()).toEqual([...codes].sort());
      for (const t of Object.values(texts)) expect(t.sentence.length * t.hint.length).toBeGreaterThan(0);
    }
  });
});
