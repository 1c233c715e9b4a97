import type { EntityManager } from 'typeorm';

/**
 * Sealed destination secrets (passwords, keys, refresh tokens) are kept only while something
 * may still deliver with them: a leaked database or key ring then holds fewer live credentials.
 * Erased, a destination's `secrets` is `{}`; its non-secret settings stay for the run history.
 */

/** A deleted configuration's: nothing delivers there any more. Returns the destinations erased. */
export function eraseDestinationSecrets(manager: EntityManager, configurationId: string): Promise<number> {
  return erase(manager, configurationId, false);
}

/** A runOnly (ephemeral) configuration's, once its one run is final; kept configurations are untouched. */
export function eraseEphemeralDestinationSecrets(manager: EntityManager, configurationId: string): Promise<number> {
  return erase(manager, configurationId, true);
}

async function erase(manager: EntityManager, configurationId: string, onlyEphemeral: boolean): Promise<number> {
  // The archives' encryption passphrase goes with them: nothing packs for this configuration again.
  await manager.query(`UPDATE configurations SET encryption_passphrase = NULL WHERE id = $1 AND ($2::boolean = false OR ephemeral) AND encryption_passphrase IS NOT NULL`, [
    configurationId,
    onlyEphemeral,
  ]);
  // Webhook secrets only with a deleted configuration: a runOnly configuration's final run is
  // reported after it is final, and the report must still be signed.
  if (!onlyEphemeral) await manager.query(`UPDATE configurations SET webhook_secrets = '{}'::jsonb WHERE id = $1 AND webhook_secrets <> '{}'::jsonb`, [configurationId]);
  // TypeORM answers an UPDATE … RETURNING with [rows, affected].
  const [, affected]: [unknown[], number] = await manager.query(
    `UPDATE destinations d SET secrets = '{}'::jsonb
       FROM configurations c
      WHERE c.id = d.configuration_id AND c.id = $1 AND ($2::boolean = false OR c.ephemeral) AND d.secrets <> '{}'::jsonb
      RETURNING d.id`,
    [configurationId, onlyEphemeral],
  );
  return affected;
}
