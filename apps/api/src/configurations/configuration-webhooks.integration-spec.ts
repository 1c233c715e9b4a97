import request from 'supertest';
import { SecretBox } from '@pbx/secrets';
import { uniqueName } from '@pbx/testing';
import { ADMIN_TOKEN, startTestApi, type TestApi } from '../api.test-helper';

const CONFIGS = '/api/v1/backup-configurations';

/** A webhook's secret is write-only: PATCH keeps it for an entry that names its id (issue #22). */
describe('webhook secrets on PATCH (real Postgres + RabbitMQ, in-process)', () => {
  let testApi: TestApi;
  let box: SecretBox;

  beforeAll(async () => {
    testApi = await startTestApi('hooksec');
    box = new SecretBox(testApi.env.SECRETS_KEY!);
  });
  afterAll(async () => {
    await testApi?.close();
  });

  const call = (method: 'post' | 'patch' | 'get', path: string) => request(testApi.base)[method](path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  const sealedOf = async (id: string): Promise<Record<string, string>> => (await testApi.ds.query('SELECT webhook_secrets FROM configurations WHERE id = $1', [id]))[0].webhook_secrets;
  const SECRET = 'whsec-0123456789abcdef';
  const create = async () => {
    const res = await call('post', CONFIGS).send({
      name: uniqueName('Hooks'), reportTo: 'ops@example.com', interval: 'manual', data: { coreData: true },
      destinations: [{ type: 'local' }],
      webhooks: [
        { url: 'https://hooks.example.com/signed', secret: SECRET, events: ['failure', 'success'] },
        { url: 'https://hooks.example.com/plain', format: 'slack' },
      ],
      action: 'save',
    });
    expect(res.status).toBe(201);
    const configuration = res.body.configuration as { id: string; webhooks: { id: string; url: string; format: string; events: string[]; hasSecret: boolean }[] };
    const [signed] = configuration.webhooks;
    const sealed = await sealedOf(configuration.id);
    expect(Object.keys(sealed)).toEqual([signed.id]);
    expect(box.open(sealed[signed.id])).toBe(SECRET);
    return { configuration, signed, sealed };
  };

  it('an entry that carries its id and no secret keeps the stored secret, also with a new URL and events', async () => {
    const { configuration, signed, sealed } = await create();
    const res = await call('patch', `${CONFIGS}/${configuration.id}`).send({ webhooks: [{ id: signed.id, url: 'https://hooks.example.com/moved', events: ['failure'] }] });
    expect(res.status).toBe(200);
    expect(res.body.webhooks).toEqual([{ id: signed.id, url: 'https://hooks.example.com/moved', format: 'json', events: ['failure'], hasSecret: true }]);
    // The very same sealed value: not re-entered, not re-sealed, and the dropped webhook's entry gone.
    expect(await sealedOf(configuration.id)).toEqual({ [signed.id]: sealed[signed.id] });
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
  });

  it('the webhooks of a GET sent back unchanged in a PATCH keep every webhook and its secret', async () => {
    const { configuration, sealed } = await create();
    const shown = (await call('get', `${CONFIGS}/${configuration.id}`)).body as { webhooks: Record<string, unknown>[]; destinations: unknown[] };
    expect(shown.webhooks).toEqual(configuration.webhooks);
    // The lists exactly as GET shows them (docs/api.md: entries, not the whole body with its read-only fields).
    const res = await call('patch', `${CONFIGS}/${configuration.id}`).send({ webhooks: shown.webhooks, destinations: shown.destinations });
    expect(res.status).toBe(200);
    expect(res.body.webhooks).toEqual(configuration.webhooks);
    expect(await sealedOf(configuration.id)).toEqual(sealed);
    // The admin UI's echo form: hasSecret and a "***" placeholder for the secret.
    const echoed = shown.webhooks.map((w) => (w.hasSecret ? { ...w, secret: '***' } : w));
    const again = await call('patch', `${CONFIGS}/${configuration.id}`).send({ webhooks: echoed });
    expect(again.status).toBe(200);
    expect(again.body.webhooks).toEqual(configuration.webhooks);
    expect(await sealedOf(configuration.id)).toEqual(sealed);
  });

  it('an entry without an id is a new webhook (no secret); a new secret replaces the stored one; an unknown id is refused', async () => {
    const { configuration, signed } = await create();
    const fresh = await call('patch', `${CONFIGS}/${configuration.id}`).send({ webhooks: [{ url: signed.url }] });
    expect(fresh.status).toBe(200);
    expect(fresh.body.webhooks).toEqual([expect.objectContaining({ url: signed.url, hasSecret: false })]);
    expect(fresh.body.webhooks[0].id).not.toBe(signed.id);
    expect(await sealedOf(configuration.id)).toEqual({});

    const other = await create();
    const replaced = await call('patch', `${CONFIGS}/${other.configuration.id}`).send({ webhooks: [{ id: other.signed.id, url: other.signed.url, secret: 'whsec-another-secret-1' }] });
    expect(replaced.status).toBe(200);
    const after = await sealedOf(other.configuration.id);
    expect(box.open(after[other.signed.id])).toBe('whsec-another-secret-1');

    const unknown = await call('patch', `${CONFIGS}/${configuration.id}`).send({ webhooks: [{ id: signed.id, url: signed.url }] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ field: 'webhooks[0].id', message: expect.stringContaining('not a webhook of this configuration') }]);
  });
});
