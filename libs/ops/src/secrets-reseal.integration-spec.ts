import { generateKey, SecretBox, SecretError } from '@pbx/secrets';
import { migratedDatabase } from '@pbx/testing';
import { SecretsRepository } from './secrets.repository';
import { SecretsResealService } from './secrets-reseal.service';

describe('secrets reseal (key rotation step 2, real Postgres)', () => {
  let db: Awaited<ReturnType<typeof migratedDatabase>>;
  const k0 = generateKey(); // a key nobody has any more
  const k1 = generateKey(); // the old key
  const k2 = generateKey(); // the new key

  beforeEach(async () => {
    db = await migratedDatabase('reseal');
  });
  afterEach(async () => db.close());

  async function destination(secrets: Record<string, string>): Promise<string> {
    const [{ id: configurationId }] = await db.dataSource.query(
      `INSERT INTO configurations (kind, name, name_key, report_to, interval, timezone, data)
       VALUES ('backup', $1, $1, 'a@example.com', 'manual', 'UTC', '{}') RETURNING id`,
      [`c-${Math.random().toString(36).slice(2)}`],
    );
    const [{ id }] = await db.dataSource.query(
      `INSERT INTO destinations (configuration_id, position, type, secrets) VALUES ($1, 0, 'sftp', $2::jsonb) RETURNING id`,
      [configurationId, JSON.stringify(secrets)],
    );
    return id;
  }
  const secretsOf = async (id: string): Promise<Record<string, string>> => (await db.dataSource.query('SELECT secrets FROM destinations WHERE id = $1', [id]))[0].secrets;

  it('re-seals every value under an older key with the first key, leaves unreadable ones alone, and is idempotent', async () => {
    const old = new SecretBox(`k1:${k1}`);
    const lost = new SecretBox(`k0:${k0}`);
    const a = await destination({ password: old.seal('pw-a'), privateKey: old.seal('key-a') });
    const current = new SecretBox(`k2:${k2}`).seal('pw-b');
    const b = await destination({ password: current });
    const c = await destination({ password: lost.seal('pw-c') });

    const service = new SecretsResealService(new SecretsRepository(db.dataSource), new SecretBox(`k2:${k2},k1:${k1}`));
    const report = await service.reseal();
    expect(report).toMatchObject({ destinations: 3, fields: 4, resealed: 2, skippedChanged: 0 });
    expect(report.unreadable).toEqual([{ destinationId: c, field: 'password', reason: expect.stringContaining('k0') }]);

    // The old key can go now: the new key alone opens everything that was readable.
    const onlyNew = new SecretBox(`k2:${k2}`);
    const sa = await secretsOf(a);
    expect([onlyNew.open(sa.password), onlyNew.open(sa.privateKey)]).toEqual(['pw-a', 'key-a']);
    expect((await secretsOf(b)).password).toBe(current); // already current: untouched
    const sc = await secretsOf(c);
    expect(() => onlyNew.open(sc.password)).toThrow(SecretError);
    expect(lost.open(sc.password)).toBe('pw-c'); // unchanged, still openable by its own key

    expect(await service.reseal()).toMatchObject({ resealed: 0 });
  });

  it('never overwrites a value saved through the API while it ran', async () => {
    const old = new SecretBox(`k1:${k1}`);
    const before = { password: old.seal('pw') };
    const id = await destination(before);
    const repo = new SecretsRepository(db.dataSource);
    const saved = { password: new SecretBox(`k2:${k2}`).seal('new-pw') };
    await db.dataSource.query('UPDATE destinations SET secrets = $2::jsonb WHERE id = $1', [id, JSON.stringify(saved)]);
    expect(await repo.replaceIfUnchanged(id, before, { password: 'x' })).toBe(false);
    expect(await secretsOf(id)).toEqual(saved);
  });

  it('re-seals archive passphrases (docs/encryption.md) too, and names an unreadable one by its configuration', async () => {
    const configuration = async (sealed: string): Promise<string> =>
      (
        await db.dataSource.query(
          `INSERT INTO configurations (kind, name, name_key, report_to, interval, timezone, data, encryption, encryption_passphrase)
           VALUES ('backup', $1, $1, 'a@example.com', 'manual', 'UTC', '{}', '{"mode":"passphrase"}', $2) RETURNING id`,
          [`p-${Math.random().toString(36).slice(2)}`, sealed],
        )
      )[0].id;
    const a = await configuration(new SecretBox(`k1:${k1}`).seal('correct horse battery staple'));
    const lost = await configuration(new SecretBox(`k0:${k0}`).seal('gone with its key'));
    const report = await new SecretsResealService(new SecretsRepository(db.dataSource), new SecretBox(`k2:${k2},k1:${k1}`)).reseal();
    expect(report).toMatchObject({ passphrases: 2, fields: 2, resealed: 1 });
    expect(report.unreadable).toEqual([{ configurationId: lost, field: 'encryption.passphrase', reason: expect.stringContaining('k0') }]);
    const [{ encryption_passphrase: sealed }] = await db.dataSource.query('SELECT encryption_passphrase FROM configurations WHERE id = $1', [a]);
    expect(new SecretBox(`k2:${k2}`).open(sealed)).toBe('correct horse battery staple');
  });

  it('re-seals webhook secrets (configurations.webhook_secrets), so webhooks still sign after the old key is dropped', async () => {
    const configuration = async (secrets: Record<string, string>): Promise<string> =>
      (
        await db.dataSource.query(
          `INSERT INTO configurations (kind, name, name_key, report_to, interval, timezone, data, webhooks, webhook_secrets)
           VALUES ('backup', $1, $1, 'a@example.com', 'manual', 'UTC', '{}', $2::jsonb, $3::jsonb) RETURNING id`,
          [
            `w-${Math.random().toString(36).slice(2)}`,
            JSON.stringify(Object.keys(secrets).map((id) => ({ id, url: `https://hooks.example.com/${id}`, format: 'json', events: ['failure'] }))),
            JSON.stringify(secrets),
          ],
        )
      )[0].id;
    const webhookSecretsOf = async (id: string): Promise<Record<string, string>> => (await db.dataSource.query('SELECT webhook_secrets FROM configurations WHERE id = $1', [id]))[0].webhook_secrets;
    const old = new SecretBox(`k1:${k1}`);
    const [w1, w2, w3] = ['5b0c1a52-0000-4000-8000-000000000001', '5b0c1a52-0000-4000-8000-000000000002', '5b0c1a52-0000-4000-8000-000000000003'];
    const current = new SecretBox(`k2:${k2}`).seal('whsec-current-0001');
    const a = await configuration({ [w1]: old.seal('whsec-old-00000001'), [w2]: current });
    const lost = await configuration({ [w3]: new SecretBox(`k0:${k0}`).seal('whsec-gone-000001') });

    const service = new SecretsResealService(new SecretsRepository(db.dataSource), new SecretBox(`k2:${k2},k1:${k1}`));
    const report = await service.reseal();
    expect(report).toMatchObject({ webhookSecrets: 3, fields: 3, resealed: 1, skippedChanged: 0 });
    expect(report.unreadable).toEqual([{ configurationId: lost, field: `webhooks[${w3}].secret`, reason: expect.stringContaining('k0') }]);

    // With the old key gone, the notifier's box still opens the secret it signs with.
    const onlyNew = new SecretBox(`k2:${k2}`);
    const after = await webhookSecretsOf(a);
    expect(onlyNew.open(after[w1])).toBe('whsec-old-00000001');
    expect(after[w2]).toBe(current); // already current: untouched
    expect(await service.reseal()).toMatchObject({ resealed: 0 });
  });

  it('never overwrites webhook secrets saved through the API while it ran', async () => {
    const repo = new SecretsRepository(db.dataSource);
    const [{ id }] = await db.dataSource.query(
      `INSERT INTO configurations (kind, name, name_key, report_to, interval, timezone, data, webhook_secrets)
       VALUES ('backup', 'w-race', 'w-race', 'a@example.com', 'manual', 'UTC', '{}', $1::jsonb) RETURNING id`,
      [JSON.stringify({ w: new SecretBox(`k1:${k1}`).seal('whsec-before-0001') })],
    );
    const [before] = (await repo.webhookSecrets()).filter((c) => c.id === id);
    const saved = { w: new SecretBox(`k2:${k2}`).seal('whsec-patched-001') };
    await db.dataSource.query('UPDATE configurations SET webhook_secrets = $2::jsonb WHERE id = $1', [id, JSON.stringify(saved)]);
    expect(await repo.replaceWebhookSecretsIfUnchanged(id, before.secrets, { w: 'x' })).toBe(false);
    expect((await db.dataSource.query('SELECT webhook_secrets FROM configurations WHERE id = $1', [id]))[0].webhook_secrets).toEqual(saved);
  });
});
