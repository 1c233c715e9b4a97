import { join } from 'node:path';
import { ARTIFACT_STORE, type ArtifactStore } from '@pbx/artifacts';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, DiscoveryModule, Reflector } from '@nestjs/core';
import { ServeStaticModule } from '@nestjs/serve-static';
import { ThrottlerModule } from '@nestjs/throttler';
import { DataSource } from 'typeorm';
import type { AppEnv } from '@pbx/config';
import { HostAllowlist, type DestinationRegistry } from '@pbx/destinations';
import { AmqpConnection, OutboxWriter } from '@pbx/messaging';
import { PbxMetrics, type Logger } from '@pbx/observability';
import { ApiTokensRepository, ApiTokensService, AuditRepository, AuditService, DeadLettersRepository, DeadLettersService, UploadStore } from '@pbx/ops';
import { RestoresRepository, RunLifecycle, RunsRepository, restoreEventsChannel, runEventsChannel } from '@pbx/persistence';
import { CoreModule, lazyDestinationRegistry, lazyDropboxAuthorizeUrl, lazyDropboxCodeExchange, lifecycleMetrics, secretBoxFromEnv } from '@pbx/runtime';
import type { SecretBox } from '@pbx/secrets';
import { ArchiveConfigurationsController } from './archive-configurations/archive-configurations.controller';
import { resolveAdminToken } from './auth/admin-token';
import { AccessGuard } from './auth/access.guard';
import { adminUiStatic } from './admin-ui/admin-ui-static';
import { AUTH_FAILURE_LIMIT, AuthFailuresService } from './auth/auth-failures.service';
import { MeController } from './auth/me.controller';
import { VocabularyController } from './vocabulary/vocabulary.controller';
import { RouteAccessCheck } from './auth/route-access.check';
import { TokenBudgetGuard } from './auth/token-budget.guard';
import { AuditEventsController } from './audit/audit-events.controller';
import { AuditInterceptor } from './audit/audit.interceptor';
import { AuditRetentionService } from './audit/audit-retention.service';
import { hostKeyPinsToAudit } from './audit/request-audit';
import { ADMIN_TOKEN, DEFAULT_TIMEZONE, DESTINATION_REGISTRY, DROPBOX_AUTHORIZE_URL, DROPBOX_CODE_EXCHANGE, SECRET_BOX } from './api.tokens';
import { ProblemDetailsFilter } from './common/problem-details.filter';
import { BackupConfigurationsController } from './configurations/backup-configurations.controller';
import { ConfigurationSchemas } from './configurations/configuration-schemas';
import { ConfigurationsRepository } from './configurations/configurations.repository';
import { ConfigurationsService, type DropboxCodeExchange } from './configurations/configurations.service';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { DestinationTestService } from './destinations/destination-test.service';
import { DestinationsController } from './destinations/destinations.controller';
import { StoredCopiesController } from './destinations/stored-copies.controller';
import { StoredCopiesService } from './destinations/stored-copies.service';
import { UsbVolumesService } from './destinations/usb-volumes.service';
import { DropboxController, type DropboxAuthorizeUrl } from './dropbox/dropbox.controller';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { RunEventsHub } from './runs/run-events.hub';
import { RunEventsService } from './runs/run-events.service';
import { RunsController } from './runs/runs.controller';
import { RunVerificationController } from './runs/run-verification.controller';
import { RunCancelRepository } from './runs/run-cancel.repository';
import { RunVerificationRepository } from './runs/run-verification.repository';
import { RunsQueryRepository } from './runs/runs.query.repository';
import { RunsService } from './runs/runs.service';
import { RestoresController } from './restores/restores.controller';
import { RestoreEventsHub, RestoreEventsService } from './restores/restore-events.service';
import { RestoresService } from './restores/restores.service';
import { UploadExpiryService } from './uploads/upload-expiry.service';
import { UploadsController } from './uploads/uploads.controller';
import { UploadsService } from './uploads/uploads.service';

export interface ApiModuleOptions {
  /** Where a generated admin token is written when ADMIN_API_TOKEN is unset. */
  adminTokenFile?: string;
  /** Tests may swap the adapters (e.g. to count calls); default: built from env. */
  destinationRegistry?: DestinationRegistry;
  dropboxCodeExchange?: DropboxCodeExchange;
  dropboxAuthorizeUrl?: DropboxAuthorizeUrl;
  /** The built admin UI (dist/apps/admin) served at /; absent or not built: no UI. */
  adminUiDir?: string;
}

/** The REST service: configurations, runs, downloads, dead letters, destination tests, metrics. */
@Module({})
export class ApiModule {
  static forRoot(env: AppEnv, logger: Logger, options: ApiModuleOptions = {}): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        CoreModule.forRoot({ service: 'api', env, logger, relay: true, recordDeadLetters: true, metricsRoute: false }),
        DiscoveryModule,
        // The per-token request budget; the same storage counts failed authentications.
        ThrottlerModule.forRoot({ throttlers: [{ ttl: 60_000, limit: env.TOKEN_REQUESTS_PER_MINUTE }] }),
        ...adminUiStatic(options.adminUiDir).map((o) => ServeStaticModule.forRoot(o)),
      ],
      controllers: [
        BackupConfigurationsController,
        ArchiveConfigurationsController,
        RunsController,
        RunVerificationController,
        DeadLettersController,
        DestinationsController,
        StoredCopiesController,
        UploadsController,
        RestoresController,
        DropboxController,
        MetricsController,
        AuditEventsController,
        MeController,
        VocabularyController,
      ],
      providers: [
        { provide: SECRET_BOX, useFactory: () => secretBoxFromEnv(env, logger) },
        // The adapters load on the first destination test or host-key probe, not at boot.
        { provide: DESTINATION_REGISTRY, useFactory: () => options.destinationRegistry ?? lazyDestinationRegistry(env) },
        {
          provide: DROPBOX_CODE_EXCHANGE,
          useFactory: (): DropboxCodeExchange =>
            options.dropboxCodeExchange ?? lazyDropboxCodeExchange(env),
        },
        { provide: DROPBOX_AUTHORIZE_URL, useFactory: (): DropboxAuthorizeUrl => options.dropboxAuthorizeUrl ?? lazyDropboxAuthorizeUrl(env) },
        { provide: ADMIN_TOKEN, useFactory: () => resolveAdminToken(env.ADMIN_API_TOKEN, logger, options.adminTokenFile) },
        { provide: DEFAULT_TIMEZONE, useValue: env.DEFAULT_TIMEZONE },
        { provide: ConfigurationSchemas, useFactory: () => new ConfigurationSchemas(env.DEFAULT_TIMEZONE) },
        { provide: ApiTokensService, inject: [DataSource, ADMIN_TOKEN], useFactory: (ds: DataSource, admin: string) => new ApiTokensService(new ApiTokensRepository(ds), admin) },
        {
          provide: ConfigurationsService,
          inject: [DataSource, OutboxWriter, SECRET_BOX, DROPBOX_CODE_EXCHANGE, DestinationTestService, AuditService],
          useFactory: (ds: DataSource, outbox: OutboxWriter, box: SecretBox, exchange: DropboxCodeExchange, tester: DestinationTestService, audit: AuditService) =>
            new ConfigurationsService(
              new ConfigurationsRepository(ds),
              new RunsRepository(ds, outbox),
              box,
              exchange,
              (d) => tester.presentedHostKey(d),
              { schema: env.DATABASE_SCHEMA, hosts: HostAllowlist.parse(env.DESTINATION_HOSTS_ALLOWED), webhookHosts: HostAllowlist.parse(env.WEBHOOK_HOSTS_ALLOWED) },
              hostKeyPinsToAudit(audit),
            ),
        },
        {
          provide: RunsService,
          inject: [DataSource, OutboxWriter, ARTIFACT_STORE, PbxMetrics],
          // A cancel ends the run here: the api's RunLifecycle times it like the workers' do.
          useFactory: (ds: DataSource, outbox: OutboxWriter, artifacts: ArtifactStore, metrics: PbxMetrics) =>
            new RunsService(new RunsQueryRepository(ds), artifacts, new RunVerificationRepository(ds, outbox), new RunCancelRepository(ds, outbox, new RunLifecycle(undefined, lifecycleMetrics(metrics)))),
        },
        { provide: RunEventsHub, useFactory: () => new RunEventsHub({ databaseUrl: env.DATABASE_URL, channel: runEventsChannel(env.DATABASE_SCHEMA) }, logger) },
        {
          provide: RunEventsService,
          inject: [DataSource, RunEventsHub],
          useFactory: (ds: DataSource, hub: RunEventsHub) => new RunEventsService(new RunsQueryRepository(ds), hub),
        },
        {
          provide: RestoreEventsHub,
          useFactory: () => new RestoreEventsHub({ databaseUrl: env.DATABASE_URL, channel: restoreEventsChannel(env.DATABASE_SCHEMA), applicationName: 'pbx-backup-api-restore-events' }, logger),
        },
        {
          provide: RestoreEventsService,
          inject: [DataSource, OutboxWriter, RestoreEventsHub],
          useFactory: (ds: DataSource, outbox: OutboxWriter, hub: RestoreEventsHub) => new RestoreEventsService(new RestoresRepository(ds, outbox), hub),
        },
        {
          provide: DeadLettersService,
          inject: [DataSource, AmqpConnection],
          useFactory: (ds: DataSource, amqp: AmqpConnection) => new DeadLettersService(new DeadLettersRepository(ds), amqp),
        },
        {
          provide: DestinationTestService,
          inject: [DataSource, DESTINATION_REGISTRY, SECRET_BOX],
          useFactory: (ds: DataSource, registry: DestinationRegistry, box: SecretBox) => new DestinationTestService(ds, registry, box, { timeoutMs: env.DESTINATION_TEST_TIMEOUT_MS, perToken: env.DESTINATION_TESTS_PER_TOKEN, hosts: HostAllowlist.parse(env.DESTINATION_HOSTS_ALLOWED) }, logger),
        },
        { provide: UsbVolumesService, useFactory: () => new UsbVolumesService({ usbRoot: env.USB_MOUNT_ROOT, allowUnmounted: env.USB_ALLOW_UNMOUNTED }) },
        { provide: UploadStore, inject: [ARTIFACT_STORE], useFactory: (artifacts: ArtifactStore) => new UploadStore(join(env.ARTIFACT_DIR, 'uploads'), artifacts) },
        { provide: UploadsService, inject: [UploadStore], useFactory: (store: UploadStore) => new UploadsService(store, env.UPLOAD_TTL_MS) },
        {
          provide: RestoresService,
          inject: [DataSource, OutboxWriter, UploadsService, SECRET_BOX, ARTIFACT_STORE],
          useFactory: (ds: DataSource, outbox: OutboxWriter, uploads: UploadsService, box: SecretBox, artifacts: ArtifactStore) => new RestoresService(ds, new RestoresRepository(ds, outbox), uploads, box, artifacts),
        },
        // Checked a few times per lifetime, at most every 10 minutes.
        { provide: UploadExpiryService, inject: [UploadStore], useFactory: (store: UploadStore) => new UploadExpiryService(store, Math.min(env.UPLOAD_TTL_MS / 4, 600_000), logger) },
        {
          provide: StoredCopiesService,
          inject: [DataSource, DESTINATION_REGISTRY, SECRET_BOX],
          useFactory: (ds: DataSource, registry: DestinationRegistry, box: SecretBox) => new StoredCopiesService(ds, registry, box, logger),
        },
        { provide: MetricsService, inject: [DataSource, PbxMetrics], useFactory: (ds: DataSource, shared: PbxMetrics) => new MetricsService(ds, shared) },
        { provide: AUTH_FAILURE_LIMIT, useValue: env.AUTH_FAILURES_PER_MINUTE },
        AuthFailuresService,
        { provide: AuditService, inject: [DataSource], useFactory: (ds: DataSource) => new AuditService(new AuditRepository(ds), logger, env.AUDIT_RETENTION_DAYS) },
        { provide: AuditRetentionService, inject: [AuditService], useFactory: (audit: AuditService) => new AuditRetentionService(audit, logger) },
        RouteAccessCheck,
        // Guards run in this order: who is calling and may they (deny by default), then their budget.
        {
          provide: APP_GUARD,
          inject: [Reflector, ApiTokensService, AuthFailuresService, AuditService],
          useFactory: (r: Reflector, t: ApiTokensService, f: AuthFailuresService, a: AuditService) => new AccessGuard(r, t, f, a),
        },
        { provide: APP_GUARD, useClass: TokenBudgetGuard },
        { provide: APP_INTERCEPTOR, inject: [Reflector, AuditService], useFactory: (r: Reflector, a: AuditService) => new AuditInterceptor(r, a) },
        { provide: APP_FILTER, useFactory: () => new ProblemDetailsFilter(logger) },
      ],
    };
  }
}
