import request from 'supertest';
import { DELIVERY_CODES, LANGUAGES } from '@pbx/contracts';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';

describe('GET /api/v1/vocabulary/delivery-codes (real Postgres + RabbitMQ, in-process)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi('voc');
  });
  afterAll(async () => {
    await api?.close();
  });

  const get = (query: string) => request(api.base).get(`/api/v1/vocabulary/delivery-codes${query}`).set('Authorization', `Bearer ${ADMIN_TOKEN}`);

  it('explains every delivery code in each language, as the report mails do', async () => {
    const texts: Record<string, Record<string, { sentence: string; hint: string }>> = {};
    for (const lang of LANGUAGES) {
      const res = await get(`?lang=${lang}`);
      expect(res.status).toBe(200);
      expect(res.body.language).toBe(lang);
      expect(Object.keys(res.body.codes).sort()).toEqual([...DELIVERY_CODES].sort());
      for (const code of DELIVERY_CODES) expect(res.body.codes[code]).toEqual({ sentence: expect.stringMatching(/\S{2,}/), hint: expect.stringMatching(/\S{2,}/) });
      texts[lang] = res.body.codes;
    }
    expect(texts.de!.authFailed!.sentence).not.toBe(texts.en!.authFailed!.sentence);
    expect(texts.de!.successful!.sentence).toBe('Die Sicherung wurde erfolgreich gespeichert.');
    // English unless asked.
    expect((await get('')).body).toEqual({ language: 'en', codes: texts.en });
  });

  it('refuses an unknown language beside its field', async () => {
    const res = await get('?lang=fr');
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'lang', message: 'must be one of en, de' }]);
  });
});
