import { SecretError, type SecretBox } from '@pbx/secrets';
import type { SecretsRepository } from './secrets.repository';

export interface ResealReport {
  /** Destinations with at least one sealed field. */
  destinations: number;
  /** Sealed fields seen / sealed under an older key and now re-sealed under the current one. */
  fields: number;
  resealed: number;
  /** Changed through the API while we worked: left as saved there (sealed with the current key). */
  skippedChanged: number;
  /** Configurations with a sealed archive passphrase (counted in fields and resealed too). */
  passphrases: number;
  /** Fields no key in SECRETS_KEY opens: left untouched; their destinations (or packing) fail until re-entered. */
  unreadable: (({ destinationId: string } | { configurationId: string }) & { field: string; reason: string })[];
}

/**
 * Key rotation, step 2: every sealed destination secret not sealed with the first key of
 * SECRETS_KEY is opened with the ring and sealed again with the first key, so the old key can
 * be dropped. Idempotent; a second run finds nothing to do.
 */
export class SecretsResealService {
  constructor(
    private readonly repo: SecretsRepository,
    private readonly box: SecretBox,
  ) {}

  async reseal(): Promise<ResealReport> {
    const report: ResealReport = { destinations: 0, fields: 0, resealed: 0, skippedChanged: 0, passphrases: 0, unreadable: [] };
    for (const dest of await this.repo.destinationsWithSecrets()) {
      report.destinations++;
      const next: Record<string, string> = { ...dest.secrets };
      let changed = 0;
      for (const [field, sealed] of Object.entries(dest.secrets)) {
        report.fields++;
        try {
          if (!this.box.needsRotation(sealed)) continue;
          next[field] = this.box.seal(this.box.open(sealed));
          changed++;
        } catch (err) {
          if (!(err instanceof SecretError)) throw err;
          report.unreadable.push({ destinationId: dest.id, field, reason: err.message });
        }
      }
      if (!changed) continue;
      if (await this.repo.replaceIfUnchanged(dest.id, dest.secrets, next)) report.resealed += changed;
      else report.skippedChanged++;
    }
    for (const { id, sealed } of await this.repo.sealedPassphrases()) {
      report.passphrases++;
      report.fields++;
      try {
        if (!this.box.needsRotation(sealed)) continue;
        if (await this.repo.replacePassphraseIfUnchanged(id, sealed, this.box.seal(this.box.open(sealed)))) report.resealed++;
        else report.skippedChanged++;
      } catch (err) {
        if (!(err instanceof SecretError)) throw err;
        report.unreadable.push({ configurationId: id, field: 'encryption.passphrase', reason: err.message });
      }
    }
    return report;
  }
}
