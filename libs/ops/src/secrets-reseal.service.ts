import { SecretError, type SecretBox } from '@pbx/secrets';
import type { SecretsRepository } from './secrets.repository';

export interface ResealReport {
  /** Destinations with at least one sealed field. */
  destinations: number;
  /** Sealed fields seen / sealed under an older key and now re-sealed under the current one. */
  fields: number;
  resealed: number;
  /** Destinations or configurations changed through the API while we worked: left as saved there (sealed with the current key). */
  skippedChanged: number;
  /** Configurations with a sealed archive passphrase (counted in fields and resealed too). */
  passphrases: number;
  /** Sealed webhook secrets (counted in fields and resealed too). */
  webhookSecrets: number;
  /** Fields no key in SECRETS_KEY opens: left untouched; their destinations (or packing) fail until re-entered. */
  unreadable: (({ destinationId: string } | { configurationId: string }) & { field: string; reason: string })[];
}

/**
 * Key rotation, step 2: every sealed value — destination secrets, archive passphrases, webhook
 * secrets — not sealed with the first key of SECRETS_KEY is opened with the ring and sealed
 * again with the first key, so the old key can be dropped. Idempotent; a second run finds nothing to do.
 */
export class SecretsResealService {
  constructor(
    private readonly repo: SecretsRepository,
    private readonly box: SecretBox,
  ) {}

  async reseal(): Promise<ResealReport> {
    const report: ResealReport = { destinations: 0, fields: 0, resealed: 0, skippedChanged: 0, passphrases: 0, webhookSecrets: 0, unreadable: [] };
    for (const dest of await this.repo.destinationsWithSecrets()) {
      report.destinations++;
      const changed = this.resealAll(dest.secrets, report, (field, reason) => report.unreadable.push({ destinationId: dest.id, field, reason }));
      if (!changed) continue;
      if (await this.repo.replaceIfUnchanged(dest.id, dest.secrets, changed.next)) report.resealed += changed.count;
      else report.skippedChanged++;
    }
    // A webhook's secret signs its json bodies: one the notifier cannot open is a webhook it cannot call.
    for (const { id, secrets } of await this.repo.webhookSecrets()) {
      report.webhookSecrets += Object.keys(secrets).length;
      const changed = this.resealAll(secrets, report, (webhookId, reason) => report.unreadable.push({ configurationId: id, field: `webhooks[${webhookId}].secret`, reason }));
      if (!changed) continue;
      if (await this.repo.replaceWebhookSecretsIfUnchanged(id, secrets, changed.next)) report.resealed += changed.count;
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

  /** Every value of a map of sealed ones not under the first key, sealed again; null when none needed it. */
  private resealAll(
    sealed: Record<string, string>,
    report: ResealReport,
    unreadable: (key: string, reason: string) => void,
  ): { next: Record<string, string>; count: number } | null {
    const next: Record<string, string> = { ...sealed };
    let count = 0;
    for (const [key, value] of Object.entries(sealed)) {
      report.fields++;
      try {
        if (!this.box.needsRotation(value)) continue;
        next[key] = this.box.seal(this.box.open(value));
        count++;
      } catch (err) {
        if (!(err instanceof SecretError)) throw err;
        unreadable(key, err.message);
      }
    }
    return count ? { next, count } : null;
  }
}
