/**
 * Fills a PBX database + data dir with realistic demo data.
 *   npm run pbx:seed -- --users 200 --cdr 1000000 --voicemails 2000 --announcements 50
 *   npm run pbx:seed -- --size 1gb --reset
 * Options: --size 1gb|4gb, --users, --cdr, --voicemails, --announcements, --days (90),
 * --seed (1), --reset, --database-url, --schema, --data-dir.
 */
import { resolve } from 'node:path';
import { PbxNotEmptyError, seedPbx, PostgresPbxSource, SEED_PRESETS, type SeedProgress } from '@pbx/pbx-source';

const PRESETS: Record<string, { users: number; cdr: number; voicemails: number; announcements: number }> = SEED_PRESETS;

const FLAGS = new Set(['reset', 'help']);
const USAGE =
  'usage: npm run pbx:seed -- [--size 1gb|4gb] [--users N] [--cdr N] [--voicemails N] [--announcements N] [--days 90] [--seed 1]\n' +
  '                          [--reset] [--database-url URL] [--schema NAME] [--data-dir DIR]\n' +
  '  --reset  delete the PBX data there first (without it, a PBX that has data is left alone)';

/** A bad command line: the usage is printed, exit 64 (EX_USAGE). */
class UsageError extends Error {}

function parseArgs(argv: string[]): Record<string, string | true> {
  const args: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      args.help = true;
      continue;
    }
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${arg}`);
    const [key, inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (FLAGS.has(key)) args[key] = true;
    else if (inline !== undefined) args[key] = inline;
    else if (i + 1 < argv.length) args[key] = argv[++i];
    else throw new UsageError(`--${key} needs a value`);
  }
  return args;
}

function int(args: Record<string, string | true>, key: string, fallback: number): number {
  const v = args[key];
  if (v === undefined) return fallback;
  const n = Number(String(v).replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${key} must be a non-negative integer`);
  return n;
}

function str(args: Record<string, string | true>, key: string, fallback: string): string {
  const v = args[key];
  return typeof v === 'string' ? v : fallback;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const preset = args.size === undefined ? undefined : PRESETS[String(args.size).toLowerCase()];
  if (args.size !== undefined && !preset) throw new Error(`--size must be one of ${Object.keys(PRESETS).join(', ')}`);
  const base = preset ?? { users: 200, cdr: 100_000, voicemails: 200, announcements: 20 };
  const databaseUrl = str(args, 'database-url', process.env.PBX_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/pbx');
  const schema = str(args, 'schema', process.env.PBX_DATABASE_SCHEMA ?? 'public');
  const dataDir = resolve(str(args, 'data-dir', process.env.PBX_DATA_DIR ?? './var/pbx-data'));
  const options = {
    databaseUrl,
    schema,
    dataDir,
    users: int(args, 'users', base.users),
    cdr: int(args, 'cdr', base.cdr),
    voicemails: int(args, 'voicemails', base.voicemails),
    announcements: int(args, 'announcements', base.announcements),
    days: int(args, 'days', 90),
    seed: int(args, 'seed', 1),
    reset: args.reset === true,
  };
  const started = Date.now();
  let lastLine = '';
  console.log(
    `seeding schema "${schema}" and ${dataDir}: ${options.users} users, ${options.cdr} CDRs, ${options.voicemails} voicemails, ` +
      `${options.announcements} announcements over ${options.days} days (seed ${options.seed})`,
  );
  const result = await seedPbx({
    ...options,
    onProgress: (p: SeedProgress) => {
      const line = `  ${p.phase}: ${p.done}/${p.total}`;
      if (line !== lastLine) console.log(`${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      lastLine = line;
    },
  });
  const source = new PostgresPbxSource({ databaseUrl, schema, dataDir });
  try {
    const stats = await source.stats();
    console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(result)}`);
    console.log(`PBX data size: database ${mib(stats.databaseBytes)}, data dir ${mib(stats.dataDirBytes)} in ${stats.dataDirFiles} files`);
  } finally {
    await source.close();
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`${err.message}\n${USAGE}`);
    process.exitCode = 64;
    return;
  }
  if (err instanceof PbxNotEmptyError) console.error(`${err.message}: pass --reset to replace it (deletes its users, CDRs, voicemails and announcements)`);
  else console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
