import { randomUUID } from 'node:crypto';
import { QueryFailedError, type EntityManager } from 'typeorm';
import { DomainError, ERROR_CODES, missingSecret, type EncryptionInput, type FieldError, type Interval, type ConfigurationKind, type WebhookInput } from '@pbx/contracts';
import {
  ConfigurationEntity,
  DestinationEntity,
  eraseDestinationSecrets,
  notifyScheduleChanged,
  RunsRepository,
  type RunEntity,
} from '@pbx/persistence';
import { InvalidScheduleError, nextRunAt } from '@pbx/scheduling';
import { HostAllowlist } from '@pbx/destinations';
import type { SecretBox } from '@pbx/secrets';
import { notFound } from '../common/ids';
import { offsetOf, pageOf, type Page } from '../common/pagination';
import { toConfigurationResponse, toDestinationResponse, toLastRunResponse, type ConfigurationResponse, type DestinationResponse } from './configuration.mapper';
import type { ConfigurationAction } from './configuration-fields';
import { MAX_DESTINATIONS } from './destination-fields';
import { configurationColumns, type ConfigurationDraft, type ConfigurationPatch } from './configuration-draft';
import { ConfigurationsRepository } from './configurations.repository';
import { sealSecrets, splitDestination, type DestinationRecord } from './destination-secrets';
import { assertHostsAllowed } from '../destinations/destination-hosts';
import { confirmHostKeys, NO_PIN_LISTENER, reportPins, type ConfirmedHostKeys, type HostKeyPinListener, type HostKeyProbe } from './host-key-pinning';

/** Exchanges a Dropbox authorization code for a refresh token (network; never logged). */
export type DropboxCodeExchange = (code: string) => Promise<string>;

export interface CreateResult {
  configuration?: ConfigurationResponse;
  run?: RunEntity;
}

export interface ConfigurationsServiceOptions {
  /** Postgres schema: the scheduler's NOTIFY channel is per schema. */
  schema: string;
  now?: () => Date;
  /** DESTINATION_HOSTS_ALLOWED; default anywhere. */
  hosts?: HostAllowlist;
  /** WEBHOOK_HOSTS_ALLOWED; default anywhere. */
  webhookHosts?: HostAllowlist;
}

type WebhookColumns = Pick<ConfigurationEntity, 'webhooks' | 'webhookSecrets'>;

const KIND_LABEL: Record<ConfigurationKind, string> = { backup: 'backup configuration', archive: 'archive configuration' };
const UNIQUE_NAME_INDEX = 'configurations_name_unique';

/**
 * The rules of backup and archive configurations: unique names, write-only secrets sealed at
 * rest, Dropbox code exchange, next run computation, runs with their due event in the same
 * transaction. Nothing is written when a request is refused.
 */
export class ConfigurationsService {
  private readonly now: () => Date;

  constructor(
    private readonly repository: ConfigurationsRepository,
    private readonly runs: RunsRepository,
    private readonly box: SecretBox,
    private readonly exchangeDropboxCode: DropboxCodeExchange,
    private readonly probeHostKey: HostKeyProbe,
    private readonly options: ConfigurationsServiceOptions,
    private readonly pins: HostKeyPinListener = NO_PIN_LISTENER,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  async create(kind: ConfigurationKind, draft: ConfigurationDraft, action: ConfigurationAction): Promise<CreateResult> {
    const ephemeral = action === 'runOnly';
    // Cheap refusals first, so a Dropbox code is not spent on a request that fails anyway.
    if (!ephemeral) await this.assertNameFree(this.repository.manager, kind, draft.name);
    await this.assertWebhookHostsAllowed(draft.webhooks);
    const { destinations, pinned } = await this.prepareDestinations(draft.destinations, (i) => `destinations[${i}]`);
    return this.inTransaction(async (tx) => {
      if (!ephemeral) await this.assertNameFree(tx, kind, draft.name);
      const entity = tx.create(ConfigurationEntity, {
        kind,
        startAt: null,
        keepLast: null,
        ...configurationColumns(draft),
        encryptionPassphrase: this.passphraseColumn(draft.encryption, null),
        ...this.webhookColumns(draft.webhooks ?? [], null),
        ephemeral,
        // An ephemeral configuration must never be picked up by the scheduler.
        nextRunAt: ephemeral ? null : this.computeNextRun(draft.interval, draft.startAt, draft.timezone),
      });
      const configuration = await this.repository.saveConfiguration(tx, entity);
      const stored = await this.repository.saveDestinations(
        tx,
        destinations.map((d, position) => this.newDestination(tx, configuration.id, position, d)),
      );
      let run: RunEntity | undefined;
      if (action !== 'save') run = await this.runs.createRun(tx, { configuration, trigger: ephemeral ? 'runOnly' : 'manual' });
      if (!ephemeral) await notifyScheduleChanged(tx, this.options.schema);
      await reportPins(this.pins, configuration.id, stored.map((d) => d.id), pinned);
      return { configuration: ephemeral ? undefined : toConfigurationResponse(configuration, stored), run };
    });
  }

  async list(kind: ConfigurationKind, q: { page: number; limit: number }): Promise<Page<ConfigurationResponse>> {
    const [rows, total] = await this.repository.list(kind, offsetOf(q), q.limit);
    const destinations = await this.repository.activeDestinations(this.repository.manager, rows.map((r) => r.id));
    const byConfig = new Map<string, DestinationEntity[]>();
    for (const d of destinations) byConfig.set(d.configurationId, [...(byConfig.get(d.configurationId) ?? []), d]);
    const lastRuns = new Map((await this.repository.lastRuns(this.repository.manager, rows.map((r) => r.id))).map((r) => [r.configurationId, r]));
    return pageOf(rows.map((r) => ({ ...toConfigurationResponse(r, byConfig.get(r.id) ?? []), lastRun: toLastRunResponse(lastRuns.get(r.id)) })), total, q);
  }

  async get(kind: ConfigurationKind, id: string): Promise<ConfigurationResponse> {
    const m = this.repository.manager;
    const configuration = await this.findOrFail(m, kind, id);
    const [last] = await this.repository.lastRuns(m, [id]);
    return { ...toConfigurationResponse(configuration, await this.repository.activeDestinations(m, [id])), lastRun: toLastRunResponse(last) };
  }

  async patch(kind: ConfigurationKind, id: string, patch: ConfigurationPatch): Promise<ConfigurationResponse> {
    const m = this.repository.manager;
    await this.findOrFail(m, kind, id);
    if (patch.name !== undefined) await this.assertNameFree(m, kind, patch.name, id);
    await this.assertWebhookHostsAllowed(patch.webhooks);
    const incoming = patch.destinations ? await this.prepareDestinations(patch.destinations, (i) => `destinations[${i}]`) : undefined;
    return this.inTransaction(async (tx) => {
      const c = await this.findOrFail(tx, kind, id, true);
      if (patch.name !== undefined) await this.assertNameFree(tx, kind, patch.name, id);
      Object.assign(c, configurationColumns(patch));
      c.encryptionPassphrase = this.passphraseColumn(patch.encryption, c.encryptionPassphrase);
      if (patch.webhooks !== undefined) Object.assign(c, this.webhookColumns(patch.webhooks, c));
      if (c.interval !== 'manual' && !c.startAt) {
        throw validationError([{ field: 'startAt', message: `is required when interval is "${c.interval}" (only "manual" needs none)` }]);
      }
      c.nextRunAt = this.computeNextRun(c.interval, c.startAt ?? undefined, c.timezone);
      const current = await this.repository.activeDestinations(tx, [id]);
      let destinations = current;
      if (incoming) destinations = await this.replaceDestinations(tx, id, current, incoming.destinations);
      const saved = await this.repository.saveConfiguration(tx, c);
      await notifyScheduleChanged(tx, this.options.schema);
      if (incoming) await reportPins(this.pins, id, destinations.map((d) => d.id), incoming.pinned);
      return toConfigurationResponse(saved, destinations);
    });
  }

  /** Soft delete: the row stays (deleted_at) so its runs keep their history. */
  async remove(kind: ConfigurationKind, id: string): Promise<void> {
    await this.repository.transaction(async (tx) => {
      await this.findOrFail(tx, kind, id, true);
      await this.repository.softDelete(tx, id);
      await eraseDestinationSecrets(tx, id); // nothing delivers there again
      await notifyScheduleChanged(tx, this.options.schema);
    });
  }

  async addDestination(kind: ConfigurationKind, id: string, input: DestinationRecord): Promise<DestinationResponse> {
    await this.findOrFail(this.repository.manager, kind, id);
    const {
      destinations: [destination],
      pinned,
    } = await this.prepareDestinations([input], () => '');
    return this.repository.transaction(async (tx) => {
      await this.findOrFail(tx, kind, id, true);
      const current = await this.repository.activeDestinations(tx, [id]);
      if (current.length >= MAX_DESTINATIONS) {
        throw new DomainError(ERROR_CODES.conflict, `a configuration has at most ${MAX_DESTINATIONS} destinations`);
      }
      const position = await this.repository.nextPosition(tx, id);
      const [saved] = await this.repository.saveDestinations(tx, [this.newDestination(tx, id, position, destination)]);
      await reportPins(this.pins, id, [saved.id], pinned);
      return toDestinationResponse(saved);
    });
  }

  async removeDestination(kind: ConfigurationKind, id: string, destinationId: string): Promise<void> {
    await this.repository.transaction(async (tx) => {
      await this.findOrFail(tx, kind, id, true);
      const current = await this.repository.activeDestinations(tx, [id]);
      if (!current.some((d) => d.id === destinationId)) {
        throw notFound(`destination in this ${KIND_LABEL[kind]}`);
      }
      if (current.length === 1) {
        throw new DomainError(ERROR_CODES.conflict, 'the last destination cannot be removed (a configuration needs at least one; add another first)');
      }
      await this.repository.removeDestinations(tx, [destinationId]);
    });
  }

  /** "Run now": a queued run and its due event, in one transaction. */
  async runNow(kind: ConfigurationKind, id: string): Promise<RunEntity> {
    return this.repository.transaction(async (tx) => {
      const configuration = await this.findOrFail(tx, kind, id, true);
      return this.runs.createRun(tx, { configuration, trigger: 'manual' });
    });
  }

  // -------------------------------------------------------------------------------------------

  private async inTransaction<T>(fn: (tx: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.repository.transaction(fn);
    } catch (err) {
      // Two concurrent creates with the same name: the unique index decides.
      if (err instanceof QueryFailedError && (err.driverError as { constraint?: string }).constraint === UNIQUE_NAME_INDEX) {
        throw nameConflict();
      }
      throw err;
    }
  }

  private async findOrFail(m: EntityManager, kind: ConfigurationKind, id: string, lock = false): Promise<ConfigurationEntity> {
    const c = await this.repository.findVisible(m, kind, id, lock);
    if (!c) throw notFound(KIND_LABEL[kind]);
    return c;
  }

  private async assertNameFree(m: EntityManager, kind: ConfigurationKind, name: string, exceptId?: string): Promise<void> {
    if (await this.repository.nameTaken(m, kind, name, exceptId)) throw nameConflict();
  }

  /**
   * The sealed passphrase a request leaves stored: a given one sealed, the stored one kept when
   * omitted (PATCH, as destination secrets), none outside passphrase mode (no live secret left).
   */
  private passphraseColumn(encryption: EncryptionInput | undefined, stored: string | null): string | null {
    if (encryption === undefined) return stored;
    if (encryption.mode !== 'passphrase') return null;
    if (encryption.passphrase !== undefined) return this.box.seal(encryption.passphrase);
    if (stored !== null) return stored;
    throw validationError([{ field: 'encryption.passphrase', message: 'is required (no passphrase is stored yet)' }]);
  }

  /**
   * The webhooks a request leaves stored: new ones get an id, a given secret is sealed, an entry
   * with an id and no secret keeps the stored one (as destination secrets on PATCH).
   */
  private webhookColumns(input: WebhookInput[], stored: WebhookColumns | null): WebhookColumns {
    const known = new Set((stored?.webhooks ?? []).map((w) => w.id));
    const errors: FieldError[] = [];
    const columns: WebhookColumns = { webhooks: [], webhookSecrets: {} };
    input.forEach((w, i) => {
      if (w.id !== undefined && !known.has(w.id)) errors.push({ field: `webhooks[${i}].id`, message: 'is not a webhook of this configuration (leave it out for a new one)' });
      const id = w.id ?? randomUUID();
      columns.webhooks.push({ id, url: w.url, format: w.format, events: [...w.events] });
      const sealed = w.secret !== undefined ? this.box.seal(w.secret) : w.id !== undefined ? stored?.webhookSecrets?.[w.id] : undefined;
      if (sealed !== undefined) columns.webhookSecrets[id] = sealed;
    });
    if (errors.length) throw validationError(errors);
    return columns;
  }

  /** WEBHOOK_HOSTS_ALLOWED on save (the notifier checks again the address it dials). */
  private async assertWebhookHostsAllowed(webhooks: WebhookInput[] | undefined): Promise<void> {
    const hosts = this.options.webhookHosts ?? HostAllowlist.anywhere;
    if (!webhooks?.length || hosts.unrestricted) return;
    const errors: FieldError[] = [];
    await Promise.all(
      webhooks.map(async (w, i) => {
        if (!(await hosts.permits(new URL(w.url).hostname))) errors.push({ field: `webhooks[${i}].url`, message: 'names a host that is not in WEBHOOK_HOSTS_ALLOWED' });
      }),
    );
    if (errors.length) throw validationError(errors);
  }

  private computeNextRun(interval: Interval, startAt: string | undefined, timezone: string): Date | null {
    if (interval === 'manual' || startAt === undefined) return null;
    try {
      return nextRunAt({ interval, startAt, timezone }, this.now());
    } catch (err) {
      if (err instanceof InvalidScheduleError) throw validationError([{ field: 'startAt', message: 'cannot be interpreted in the given timezone' }]);
      throw err;
    }
  }

  /**
   * The checks that reach out before a save: the host allowlist, then SFTP host keys, then
   * Dropbox codes last (they work once, so a refusal must not spend one). Pins are reported
   * inside the save's transaction, so a listener that fails (the audit trail) saves nothing.
   */
  private async prepareDestinations(destinations: DestinationRecord[], at: (i: number) => string): Promise<ConfirmedHostKeys> {
    await assertHostsAllowed(this.options.hosts ?? HostAllowlist.anywhere, destinations, at);
    const confirmed = await confirmHostKeys(destinations, this.probeHostKey, at);
    return { ...confirmed, destinations: await this.exchangeCodes(confirmed.destinations, at) };
  }

  /** Replaces each Dropbox authorizationCode by the refresh token it is worth. */
  private async exchangeCodes(destinations: DestinationRecord[], at: (i: number) => string): Promise<DestinationRecord[]> {
    return Promise.all(
      destinations.map(async (d, i) => {
        if (d.type !== 'dropbox' || typeof d.authorizationCode !== 'string') return d;
        const code = d.authorizationCode;
        let refreshToken: string;
        try {
          refreshToken = await this.exchangeDropboxCode(code);
        } catch (err) {
          if (err instanceof DomainError) throw err; // this server's Dropbox app is not set up: not the code's fault
          const reason = err instanceof Error ? err.message.split(code).join('***') : 'unknown error';
          const prefix = at(i);
          throw new DomainError(ERROR_CODES.permanent, 'Dropbox did not accept the authorization code; nothing was saved', [
            { field: prefix ? `${prefix}.authorizationCode` : 'authorizationCode', message: `was not accepted by Dropbox (${reason}); get a new code and try again` },
          ]);
        }
        const rest: DestinationRecord = { ...d };
        delete rest.authorizationCode;
        return { ...rest, refreshToken };
      }),
    );
  }

  private newDestination(tx: EntityManager, configurationId: string, position: number, input: DestinationRecord): DestinationEntity {
    const { type, settings, secrets } = splitDestination(input);
    return tx.create(DestinationEntity, { configurationId, position, type, settings, secrets: sealSecrets(this.box, secrets), removedAt: null });
  }

  /**
   * PATCH `destinations` is the whole new list: entries with an id update that destination
   * (omitted secrets are kept when the type is unchanged), entries without one are added,
   * stored ones not named are removed (soft, past deliveries still point at them).
   */
  private async replaceDestinations(tx: EntityManager, configurationId: string, current: DestinationEntity[], incoming: DestinationRecord[]): Promise<DestinationEntity[]> {
    const byId = new Map(current.map((d) => [d.id, d]));
    const errors: FieldError[] = [];
    const seen = new Set<string>();
    const next: DestinationEntity[] = [];
    let position = await this.repository.nextPosition(tx, configurationId);
    incoming.forEach((input, i) => {
      const { type, settings, secrets } = splitDestination(input);
      const sealed = sealSecrets(this.box, secrets);
      if (input.id !== undefined) {
        const stored = byId.get(input.id);
        if (!stored || seen.has(input.id)) {
          errors.push({ field: `destinations[${i}].id`, message: stored ? 'is listed twice' : 'is not a destination of this configuration' });
          return;
        }
        seen.add(input.id);
        const kept = stored.type === type ? stored.secrets : {};
        stored.type = type;
        stored.settings = settings;
        stored.secrets = { ...kept, ...sealed };
        stored.position = position++;
        next.push(stored);
      } else {
        next.push(tx.create(DestinationEntity, { configurationId, position: position++, type, settings, secrets: sealed, removedAt: null }));
      }
      const missing = missingSecret(type, next[next.length - 1].secrets);
      if (missing) errors.push({ field: `destinations[${i}].${missing.field}`, message: missing.message });
    });
    if (errors.length) throw validationError(errors);
    await this.repository.removeDestinations(tx, current.filter((d) => !seen.has(d.id)).map((d) => d.id));
    return this.repository.saveDestinations(tx, next);
  }
}

function nameConflict(): DomainError {
  return new DomainError(ERROR_CODES.conflict, 'a configuration with this name already exists (names are compared after Unicode normalisation and case-insensitively)', [
    { field: 'name', message: 'is already used by another configuration' },
  ]);
}

function validationError(errors: FieldError[]): DomainError {
  return new DomainError(ERROR_CODES.validation, 'Request validation failed', errors);
}
