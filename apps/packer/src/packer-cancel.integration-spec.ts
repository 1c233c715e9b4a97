import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { MaintenanceLock } from '@pbx/locking';
import { createLogger } from '@pbx/observability';
import { RunEntity, RunLifecycle } from '@pbx/persistence';
import type { PbxSource } from '@pbx/pbx-source';
import { expectEventually } from '@pbx/testing';
import { packerTestBed } from './packer.test-helper';
import { PBX_SOURCE } from './packer.tokens';

const logger = createLogger({ service: 'packer-cancel-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

describe('packer: a cancelled run (real Postgres, RabbitMQ, Redis)', () => {
  const bed = packerTestBed('pkc', {
    logger,
    pbx: { prefix: 'pbx', seed: { users: 5, cdr: 200, voicemails: 12, announcements: 2, minAudioBytes: 20_000, maxAudioBytes: 40_000 } },
    env: { MAINTENANCE_DEFER_MS: 60_000, MAINTENANCE_LOCK_TTL_MS: 3000 },
  });
  const artifactDir = () => bed.artifactDir;

  /** A packer whose PBX hands out each audio file 300 ms late: a pack that takes seconds (the slow PBX). */
  async function startSlowPacker(): Promise<INestApplication> {
    const app = await bed.start();
    const source = app.get<PbxSource>(PBX_SOURCE);
    const audioFiles = source.audioFiles.bind(source);
    jest.spyOn(source, 'audioFiles').mockImplementation(async function* (...args: Parameters<PbxSource['audioFiles']>) {
      for await (const file of audioFiles(...args)) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        yield file;
      }
    });
    return app;
  }

  const createRun = (): Promise<RunEntity> => bed.run({ data: { coreData: true, cdrAndVoicemails: true, announcements: true } });

  const runOf = (id: string) => bed.runOf(id);
  /** What the api's cancel does to the row (RunLifecycle is the one writer). */
  const cancel = (id: string) => bed.db.dataSource.transaction((tx) => new RunLifecycle().transition(tx, id, { to: 'cancelled', error: null }));
  const eventsOf = async (id: string): Promise<string[]> =>
    (await bed.db.dataSource.query(`SELECT type FROM outbox WHERE correlation_id = $1 ORDER BY created_at`, [id])).map((e: { type: string }) => e.type);

  it('packing: the writer stops at its next chunk, the partial archive is removed, the lock is released, nothing is announced', async () => {
    await startSlowPacker();
    const run = await createRun();
    await expectEventually(async () => (await runOf(run.id)).status === 'packing' && existsSync(join(artifactDir(), `${run.id}.sar.partial`)), { timeoutMs: 20_000 });
    const lock = bed.lock(3000);
    expect(await lock.currentHolder()).toBe(`backup:${run.id}`);

    expect((await cancel(run.id)).applied).toBe(true);
    await expectEventually(async () => (await lock.currentHolder()) === null, { timeoutMs: 10_000 });
    expect(readdirSync(artifactDir()).filter((f) => f.startsWith(run.id))).toEqual([]);
    const after = await runOf(run.id);
    expect(after).toMatchObject({ status: 'cancelled', packedAt: null, artifactFileName: null });
    // Stopped, not finished: a pack that ran to its end would have announced backup.packed.
    expect(await eventsOf(run.id)).toEqual(['backup.due']);
  });

  it('queued: a run cancelled before the packer takes its message never takes the lock and is never packed', async () => {
    const run = await createRun();
    await cancel(run.id);
    const lock = bed.lock(3000);
    const acquired: string[] = [];
    const acquire = jest.spyOn(MaintenanceLock.prototype, 'acquireLease').mockImplementation(async function (this: MaintenanceLock, holder: string) {
      acquired.push(holder);
      throw new Error('the lock must not be asked for');
    });
    try {
      await startSlowPacker();
      // The due event is consumed (acked, not retried) with nothing to do.
      await expectEventually(async () => (await bed.db.dataSource.query(`SELECT 1 FROM inbox WHERE message_id IN (SELECT id FROM outbox WHERE correlation_id = $1)`, [run.id])).length === 1, { timeoutMs: 20_000 });
    } finally {
      acquire.mockRestore();
    }
    expect(acquired).toEqual([]);
    expect(await lock.currentHolder()).toBeNull();
    expect((await runOf(run.id)).status).toBe('cancelled');
    expect(existsSync(artifactDir()) ? readdirSync(artifactDir()).filter((f) => f.startsWith(run.id)) : []).toEqual([]);
  });
});
