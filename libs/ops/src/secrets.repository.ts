import type { DataSource } from 'typeorm';

export interface StoredSecrets {
  id: string;
  secrets: Record<string, string>;
}

/** The sealed secrets: destinations' fields (removed ones too: past runs still name them), configurations' passphrases and webhook secrets. */
export class SecretsRepository {
  constructor(private readonly ds: DataSource) {}

  async destinationsWithSecrets(): Promise<StoredSecrets[]> {
    return this.ds.query(`SELECT id, secrets FROM destinations WHERE secrets <> '{}'::jsonb ORDER BY created_at, id`);
  }

  /** Configurations' sealed archive passphrases (docs/encryption.md), deleted ones too. */
  async sealedPassphrases(): Promise<{ id: string; sealed: string }[]> {
    return this.ds.query(`SELECT id, encryption_passphrase AS sealed FROM configurations WHERE encryption_passphrase IS NOT NULL ORDER BY created_at, id`);
  }

  /** Configurations' sealed webhook secrets (configurations.webhook_secrets: webhook id → sealed), deleted ones too. */
  async webhookSecrets(): Promise<StoredSecrets[]> {
    return this.ds.query(`SELECT id, webhook_secrets AS secrets FROM configurations WHERE webhook_secrets <> '{}'::jsonb ORDER BY created_at, id`);
  }

  /** Like replaceIfUnchanged, for a configuration's webhook secrets (a PATCH meanwhile wins). */
  async replaceWebhookSecretsIfUnchanged(id: string, before: Record<string, string>, after: Record<string, string>): Promise<boolean> {
    const [, count] = (await this.ds.query('UPDATE configurations SET webhook_secrets = $3::jsonb WHERE id = $1 AND webhook_secrets = $2::jsonb', [
      id,
      JSON.stringify(before),
      JSON.stringify(after),
    ])) as [unknown, number];
    return count === 1;
  }

  /** Like replaceIfUnchanged, for a configuration's passphrase. */
  async replacePassphraseIfUnchanged(id: string, before: string, after: string): Promise<boolean> {
    const [, count] = (await this.ds.query('UPDATE configurations SET encryption_passphrase = $3 WHERE id = $1 AND encryption_passphrase = $2', [id, before, after])) as [unknown, number];
    return count === 1;
  }

  /**
   * Replaces a destination's sealed fields only if they are still what was read: a value saved
   * through the API meanwhile (already sealed with the current key) is never overwritten.
   */
  async replaceIfUnchanged(id: string, before: Record<string, string>, after: Record<string, string>): Promise<boolean> {
    const [, count] = (await this.ds.query('UPDATE destinations SET secrets = $3::jsonb WHERE id = $1 AND secrets = $2::jsonb', [
      id,
      JSON.stringify(before),
      JSON.stringify(after),
    ])) as [unknown, number];
    return count === 1;
  }
}
