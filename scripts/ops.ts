// `npm run ops -- <command>`: operator tasks without HTTP, through the services the api uses (@pbx/ops).
//   tokens create <name> --role admin|operator|viewer | tokens list | tokens revoke <name|id>
//   dlq list [--queue Q] [--type T] [--run RUN_ID] [--all] | dlq show <id> | dlq replay <id> | dlq discard <id>
//   secrets reseal
//   restore <file|run id> [--sections a,b] [--mode replace|merge] [--preview] [--allow-other-pbx] [--identity-file F]
import { createArtifactStore } from '@pbx/artifacts';
import { loadEnv, type AppEnv } from '@pbx/config';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DomainError, partialRestoreUnit, RESTORE_MODES, RESTORE_SECTION_NAMES, restoreSectionsOf, type RestoreModeName } from '@pbx/contracts';
import { AmqpConnection, OutboxWriter } from '@pbx/messaging';
import { createLogger } from '@pbx/observability';
import {
  ApiTokensRepository,
  ApiTokensService,
  AuditRepository,
  AuditService,
  DeadLettersRepository,
  DeadLettersService,
  SecretsRepository,
  SecretsResealService,
  UploadStore,
  type AuditActor,
} from '@pbx/ops';
import { createDataSource, RestoresRepository } from '@pbx/persistence';
import { messagingOptions, secretBoxFromEnv } from '@pbx/runtime';
import type { DataSource } from 'typeorm';

const USAGE = `usage: npm run ops -- <command>   (--help: this text)
  tokens create <name> --role admin|operator|viewer
                              create an API token with a role (printed once; only its SHA-256
                              is stored): admin may do everything; operator reads, starts runs,
                              downloads and handles dead letters; viewer only reads
  tokens list                 list tokens (names, roles, ids, created/revoked; never the token)
  tokens revoke <name|id>     revoke a token
  dlq list [--queue Q] [--type T] [--run RUN_ID] [--all]
                              list open dead letters (--all includes discarded ones)
  dlq show <id>               one dead letter with headers and body
  dlq replay <id>             republish it to its queue (once)
  dlq discard <id>            discard it (recorded)
  secrets reseal              after prepending a new key to SECRETS_KEY: seal every stored
                              secret (destinations, passphrases, webhooks) with it, so the
                              old key can be dropped
  restore <file|run id> [--sections core,cdr,voicemail,announcements] [--mode replace|merge]
          [--preview] [--allow-other-pbx] [--identity-file F]
                              restore a .sar/.sar.age (a file here, or a run's archive) into the
                              PBX through the packer and follow it to the end; an encrypted
                              archive's passphrase comes from PBX_RESTORE_PASSPHRASE (never an
                              argument: ps would show it), an identity from --identity-file`;

/** Who the CLI acts as in replayed_by / discarded_by. */
const OPERATOR = `cli:${process.env.USER ?? 'unknown'}`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function withDatabase<T>(env: AppEnv, fn: (ds: DataSource) => Promise<T>): Promise<T> {
  const ds = createDataSource({ url: env.DATABASE_URL, schema: env.DATABASE_SCHEMA, poolSize: 2, applicationName: 'pbx-backup-ops' });
  await ds.initialize();
  try {
    return await fn(ds);
  } finally {
    await ds.destroy();
  }
}

async function tokens(env: AppEnv, [sub, arg, ...rest]: string[]): Promise<void> {
  await withDatabase(env, async (ds) => {
    // The admin token is not needed to manage extra tokens; a random one disables it here.
    const service = new ApiTokensService(new ApiTokensRepository(ds), env.ADMIN_API_TOKEN ?? `unused-${Date.now()}-${Math.random()}`);
    const audit = new AuditService(new AuditRepository(ds), createLogger({ service: 'ops', level: 'warn' }), env.AUDIT_RETENTION_DAYS);
    const actor: AuditActor = { tokenId: null, tokenName: OPERATOR, clientAddress: null };
    if (sub === 'create' && arg) {
      const role = flag(rest, '--role');
      if (!role) throw new UsageError();
      const { token, info } = await service.create(arg, role);
      await audit.record(actor, { action: 'token.create', targetType: 'token', targetId: info.id, outcome: 'ok', detail: { name: info.name, role: info.role } });
      console.log(`created ${info.role} token "${info.name}" (id ${info.id}). Store it now, it is not shown again:\n${token}`);
    } else if (sub === 'list') {
      const list = await service.list();
      if (!list.length) console.log('no tokens');
      for (const t of list) console.log(`${t.id}  ${t.name.padEnd(24)}  ${t.role.padEnd(8)}  created ${t.createdAt}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`);
    } else if (sub === 'revoke' && arg) {
      for (const t of await service.revoke(arg)) {
        await audit.record(actor, { action: 'token.revoke', targetType: 'token', targetId: t.id, outcome: 'ok', detail: { name: t.name, role: t.role } });
        console.log(`revoked ${t.role} token "${t.name}" (id ${t.id})`);
      }
    } else throw new UsageError();
  });
}

async function dlq(env: AppEnv, [sub, ...rest]: string[]): Promise<void> {
  const logger = createLogger({ service: 'ops', level: 'warn' });
  await withDatabase(env, async (ds) => {
    const needsBroker = sub === 'replay';
    const amqp = new AmqpConnection(messagingOptions(env), logger);
    try {
      if (needsBroker) await amqp.waitForConnect();
      const service = new DeadLettersService(new DeadLettersRepository(ds), amqp);
      const id = rest[0];
      if (sub === 'list') {
        const page = await service.list(
          { queue: flag(rest, '--queue'), type: flag(rest, '--type'), runId: flag(rest, '--run'), includeDiscarded: rest.includes('--all') },
          { page: 1, limit: 100 },
        );
        console.log(`${page.total} dead letter(s)${page.total > page.items.length ? `, showing ${page.items.length}` : ''}`);
        for (const d of page.items) {
          const state = d.discardedAt ? 'discarded' : d.replayedAt ? 'replayed' : 'open';
          console.log(`${d.id}  ${state.padEnd(9)}  ${d.queue}  ${d.type ?? '-'}  run=${d.runId ?? '-'}  attempts=${d.attempts}  ${d.reason.slice(0, 120)}`);
        }
      } else if (sub === 'show' && id) {
        console.log(JSON.stringify(await service.get(id), null, 2));
      } else if (sub === 'replay' && id) {
        const d = await service.replay(id, OPERATOR);
        console.log(`replayed ${d.id} to ${d.queue}`);
      } else if (sub === 'discard' && id) {
        await service.discard(id, OPERATOR);
        console.log(`discarded ${id}`);
      } else throw new UsageError();
    } finally {
      await amqp.close();
    }
  });
}

async function secrets(env: AppEnv, [sub]: string[]): Promise<number> {
  if (sub !== 'reseal') throw new UsageError();
  const logger = createLogger({ service: 'ops', level: 'warn' });
  return withDatabase(env, async (ds) => {
    const report = await new SecretsResealService(new SecretsRepository(ds), secretBoxFromEnv(env, logger)).reseal();
    console.log(
      `${report.destinations} destination(s) with secrets, ${report.passphrases} passphrase(s), ${report.webhookSecrets} webhook secret(s); ` +
        `${report.fields} sealed value(s): ${report.resealed} re-sealed with the first key of SECRETS_KEY` +
        (report.skippedChanged ? `, ${report.skippedChanged} destination(s) or configuration(s) changed meanwhile (left as saved)` : ''),
    );
    for (const u of report.unreadable) {
      const owner = 'destinationId' in u ? `destination ${u.destinationId}` : `configuration ${u.configurationId}`;
      console.log(`  cannot open ${u.field} of ${owner}: ${u.reason} (enter it again through the API)`);
    }
    // Unreadable values keep their destinations failing: say so with the exit code.
    return report.unreadable.length ? 1 : 0;
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function restore(env: AppEnv, [what, ...rest]: string[]): Promise<number> {
  if (!what) throw new UsageError();
  const named = flag(rest, '--sections')?.split(',').filter(Boolean) ?? [];
  if (named.some((s) => !(RESTORE_SECTION_NAMES as readonly string[]).includes(s))) throw new UsageError();
  const partial = partialRestoreUnit(named);
  if (partial) throw new DomainError('validation', partial);
  const sections = restoreSectionsOf(named);
  const mode = (flag(rest, '--mode') ?? 'replace') as RestoreModeName;
  if (!(RESTORE_MODES as readonly string[]).includes(mode)) throw new UsageError();
  const identityFile = flag(rest, '--identity-file');
  const passphrase = process.env.PBX_RESTORE_PASSPHRASE;
  const key = identityFile ? { identity: (await readFile(identityFile, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'))?.trim() } : passphrase ? { passphrase } : null;
  if (key && 'identity' in key && !key.identity) throw new DomainError('validation', `${identityFile} holds no AGE-SECRET-KEY-1… line`);
  const logger = createLogger({ service: 'ops', level: 'warn' });
  return withDatabase(env, async (ds) => {
    const source = UUID.test(what) ? { runId: what } : { uploadId: (await new UploadStore(join(env.ARTIFACT_DIR, 'uploads'), createArtifactStore(env)).importFile(what, env.UPLOAD_TTL_MS)).id };
    const repo = new RestoresRepository(ds, new OutboxWriter(env.DATABASE_SCHEMA));
    const row = await repo.request({
      source, sections, mode, preview: rest.includes('--preview'), allowOtherPbx: rest.includes('--allow-other-pbx'),
      keySealed: key ? secretBoxFromEnv(env, logger).seal(JSON.stringify(key)) : null,
    });
    const audit = new AuditService(new AuditRepository(ds), logger, env.AUDIT_RETENTION_DAYS);
    await audit.record({ tokenId: null, tokenName: OPERATOR, clientAddress: null }, { action: 'restore.start', targetType: 'restore', targetId: row.id, outcome: 'ok' });
    console.log(`restore ${row.id} queued (${'runId' in source ? `run ${source.runId}` : `upload of ${what}`}); the packer runs it`);
    // Followed until it is final: the packer writes its phase and progress into the row.
    let last = '';
    for (;;) {
      const r = await repo.find(row.id);
      if (!r) return 1;
      const line = `${r.status}${r.phase ? ` (${r.phase})` : ''}${r.bytesTotal ? ` ${Math.floor((100 * r.bytesDone) / r.bytesTotal)} %` : ''}`;
      if (line !== last) console.log(line);
      last = line;
      if (r.status === 'succeeded' || r.status === 'failed' || r.status === 'rolled_back') {
        for (const s of r.sections) console.log(`  ${s.name}: ${s.status}, ${s.counts.rowsInserted} rows written, ${s.counts.rowsDeleted} removed, ${s.counts.filesWritten} files`);
        if (r.safetyBackup) console.log(`  safety backup: ${r.safetyBackup.path}`);
        if (r.previewResult) console.log(JSON.stringify(r.previewResult, null, 2));
        if (r.error) console.log(`  error: ${r.error}`);
        return r.status === 'succeeded' ? 0 : 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  });
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const [group, ...args] = process.argv.slice(2);
  // Asking for help is not a usage error (and needs no environment).
  if (group === 'help' || group === '--help' || group === '-h') {
    console.log(USAGE);
    return 0;
  }
  const env = loadEnv(process.env);
  try {
    if (group === 'tokens') await tokens(env, args);
    else if (group === 'dlq') await dlq(env, args);
    else if (group === 'secrets') return await secrets(env, args);
    else if (group === 'restore') return await restore(env, args);
    else throw new UsageError();
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(USAGE);
      return 64; // EX_USAGE
    }
    if (err instanceof DomainError) {
      console.error(`error: ${err.message}${err.errors.map((e) => `\n  ${e.field}: ${e.message}`).join('')}`);
      return err.code === 'not_found' ? 2 : 1;
    }
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
