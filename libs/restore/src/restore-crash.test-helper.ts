/**
 * Child process of the crash tests: restores an archive and, at the checkpoint named on the
 * command line, says so on stdout and waits to be killed (SIGKILL: no cleanup runs).
 * Argument: JSON { archivePath, databaseUrl, schema, dataDir, artifactDir, redisUrl, lockPrefix, restoreId, section, step, sections, mode }.
 */
import { Redis } from 'ioredis';
import { MaintenanceLock } from '@pbx/locking';
import { PostgresPbxRestoreTarget, PostgresPbxSource, type PbxSection, type RestoreMode } from '@pbx/pbx-source';
import { RestoreEngine } from './restore-engine.service';
import type { RestoreCheckpoint } from './restore.types';

interface ChildArgs {
  archivePath: string;
  databaseUrl: string;
  schema: string;
  dataDir: string;
  artifactDir: string;
  redisUrl: string;
  lockPrefix: string;
  restoreId: string;
  section: PbxSection;
  step: RestoreCheckpoint;
  sections: PbxSection[];
  mode: RestoreMode;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[3]) as ChildArgs;
  const pbx = { databaseUrl: args.databaseUrl, schema: args.schema, dataDir: args.dataDir };
  const engine = new RestoreEngine({ target: new PostgresPbxRestoreTarget(pbx), source: new PostgresPbxSource(pbx), pbxId: 'pbx-test', artifactDir: args.artifactDir, lockRetryMs: 50 });
  const lock = new MaintenanceLock(new Redis(args.redisUrl), { keyPrefix: args.lockPrefix, ttlMs: 1500 });
  await engine.restore(args.archivePath, {
    restoreId: args.restoreId,
    sections: args.sections,
    mode: args.mode,
    lock,
    checkpoint: async (step, section) => {
      if (step !== args.step || section !== args.section) return;
      process.stdout.write(`AT ${step}\n`);
      await new Promise(() => setInterval(() => undefined, 60_000)); // until killed
    },
  });
  process.stdout.write('COMPLETED\n');
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stdout.write(`FAILED ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
