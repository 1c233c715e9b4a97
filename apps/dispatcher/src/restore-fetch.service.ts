import { Inject, Injectable } from '@nestjs/common';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ARTIFACT_STORE, type ArtifactStore } from '@pbx/artifacts';
import type { AppEnv } from '@pbx/config';
import { destinationConfigFromStored, fetchedArchiveOf, toDeliveryError, type DestinationRegistry } from '@pbx/destinations';
import type { Logger } from '@pbx/observability';
import { ConfigurationEntity, DestinationEntity, RestoresRepository } from '@pbx/persistence';
import { APP_ENV, ROOT_LOGGER } from '@pbx/runtime';
import type { SecretBox } from '@pbx/secrets';
import { DataSource, IsNull } from 'typeorm';
import { DESTINATION_REGISTRY, SECRET_BOX } from './dispatcher.tokens';

/**
 * A restore from a destination's stored copy: the copy is read back to the artifact folder
 * (the dispatcher has the adapters, the packer that runs restores does not), checked against
 * the sha256 recorded when this service delivered it, and the restore is then asked for.
 */
@Injectable()
export class RestoreFetchService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly restores: RestoresRepository,
    @Inject(DESTINATION_REGISTRY) private readonly destinations: DestinationRegistry,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    @Inject(APP_ENV) private readonly env: AppEnv,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
    @Inject(ARTIFACT_STORE) private readonly artifacts: ArtifactStore,
  ) {}

  async fetch(restoreId: string): Promise<void> {
    const restore = await this.restores.find(restoreId);
    // Fetched already (a redelivery) or over: nothing to do.
    if (!restore || restore.status !== 'queued' || restore.phase !== null || !('destinationId' in restore.source)) return;
    const { destinationId, file } = restore.source;
    const key = fetchedArchiveOf(restoreId);
    // Read back into this host's ARTIFACT_DIR, then put into the artifact store for the packer
    // (fs: it is already there; s3: uploaded and the local copy deleted).
    const path = join(this.env.ARTIFACT_DIR, key);
    try {
      const dest = await this.dataSource.manager.findOne(DestinationEntity, { where: { id: destinationId, removedAt: IsNull() } });
      const configuration = dest && (await this.dataSource.manager.findOne(ConfigurationEntity, { where: { id: dest.configurationId } }));
      if (!dest || !configuration) throw new Error(`destination ${destinationId} no longer exists`);
      const config = destinationConfigFromStored(dest.type, dest.settings, dest.secrets, (sealed) => this.secrets.open(sealed));
      await mkdir(dirname(path), { recursive: true });
      const stored = await this.destinations.hash(config, configuration.name, file, { copyTo: path });
      if (stored.state === 'missing') throw new Error(`${file} is not at the destination`);
      if (stored.state === 'notVerifiable') throw new Error(`a ${dest.type} destination cannot be read back`);
      const recorded = await this.restores.recordedSha256(destinationId, file);
      // Compared as stored (an encrypted copy's recorded sha256 is the .sar.age's too); a file not ours has none.
      if (recorded && recorded !== stored.sha256) throw new Error(`${file} at the destination no longer matches the backup (sha256 ${stored.sha256}, recorded ${recorded})`);
      await this.artifacts.put(key, path);
      if (!(await this.restores.fetched(restoreId))) await this.artifacts.remove(key);
      this.logger.info({ restoreId, destinationType: dest.type, size: stored.size }, 'stored copy fetched for a restore');
    } catch (err) {
      await rm(path, { force: true });
      await this.artifacts.remove(key).catch(() => undefined);
      const message = toDeliveryError(err).message;
      this.logger.error({ restoreId, err: message }, 'stored copy could not be fetched for a restore');
      await this.restores.finish(restoreId, { status: 'failed', sections: null, error: `fetching the copy from the destination failed: ${message}` });
    }
  }
}
