import { DELIVERY_CODE_TEXTS } from './delivery-code-texts';
import { DELIVERY_CODES } from './delivery-codes';
import { LANGUAGES } from './language';

describe('delivery code texts', () => {
  it('every delivery code has a sentence and a hint in every language, and each language its own words', () => {
    expect(Object.keys(DELIVERY_CODE_TEXTS).sort()).toEqual([...LANGUAGES].sort());
    for (const lang of LANGUAGES) {
      expect(Object.keys(DELIVERY_CODE_TEXTS[lang]).sort()).toEqual([...DELIVERY_CODES].sort());
      for (const code of DELIVERY_CODES) {
        expect(DELIVERY_CODE_TEXTS[lang][code].sentence).toMatch(/^\S.{9,}[.!]$/);
        expect(DELIVERY_CODE_TEXTS[lang][code].hint).toMatch(/^\S.{4,}\.$/);
      }
    }
    for (const code of DELIVERY_CODES.filter((c) => c !== 'successful')) expect(DELIVERY_CODE_TEXTS.de[code].sentence).not.toBe(DELIVERY_CODE_TEXTS.en[code].sentence);
  });
});
