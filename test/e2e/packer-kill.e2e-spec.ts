/**
 * Issue #4's kill test: the packer is killed (SIGKILL) while it is writing a run's `.sar`,
 * with megabytes of it already on disk. After a restart the run still completes: exactly one
 * `<runId>.sar` in ARTIFACT_DIR, no `.partial` (or CDR spool) left, and exactly one verified
 * file at the destination. Built apps as processes, driven through the public REST API.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { link, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { sha256File } from '@pbx/destinations';
import { MaintenanceLock } from '@pbx/locking';
import { generateSpeechWav, SeededRandom, seedPbx, WAV_HEADER_BYTES, WAV_SAMPLE_RATE } from '@pbx/pbx-source';
import { verifySar } from '@pbx/sar';
import { expectEventually, testUrls } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';
import type { ApiClient, Stack } from './stack';

interface Delivery { type: string; status: string; location: string | null }
interface Run { id: string; status: string; deferrals: unknown[]; artifact: { fileName: string; size: number; sha256: string } | null; deliveries: Delivery[]; error: string | null }

const MiB = 1024 * 1024;
/** ~250 MiB of voicemail audio: packing takes seconds, long enough to kill it mid-write. */
const VOICEMAILS = 50;
const AUDIO_BYTES = 5 * MiB;
/** The packer is killed once this much of the archive is on disk. */
const KILL_AT_BYTES = 16 * MiB;

describe('packer killed mid-pack', () => {
  let e: E2eEnv;
  let stack: Stack;
  let api: ApiClient;
  let env: Record<string, string>;
  let lock: MaintenanceLock;

  beforeAll(async () => {
    e = await createE2eEnv('kill', {
      // The killed packer's lease outlives it by up to this ttl; the restarted packer must
      // resume it (same holder id) rather than wait for it. A deferral would show as a
      // delay of MAINTENANCE_DEFER_MS, longer than the test's whole wait.
      MAINTENANCE_LOCK_TTL_MS: '30000',
      MAINTENANCE_DEFER_MS: '600000',
    });
    ({ env, stack } = e);
    lock = new MaintenanceLock(e.redis, { key: e.lockKey, ttlMs: 30_000 });
    const dataDir = env.PBX_DATA_DIR;
    // Speech synthesis runs at ~10 MB/s: seed small recordings, then make every one a hard
    // link to a single large recording (no disk space or write time per copy) and record
    // its size and duration in the PBX's voicemail rows.
    await seedPbx({
      databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir,
      users: 5, cdr: 500, voicemails: VOICEMAILS, announcements: 0, minAudioBytes: 4_000, maxAudioBytes: 8_000,
    });
    const big = join(e.dir, 'big.wav');
    const wav = generateSpeechWav(SeededRandom.derive(4, 4), AUDIO_BYTES);
    await writeFile(big, wav);
    const pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ file_name: string }>(`SELECT file_name FROM "${e.pbxSchema}".voicemails`);
      expect(rows).toHaveLength(VOICEMAILS);
      for (const { file_name } of rows) {
        await rm(join(dataDir, file_name));
        await link(big, join(dataDir, file_name));
      }
      await pg.query(`UPDATE "${e.pbxSchema}".voicemails SET size_bytes = $1, duration_s = $2`, [
        wav.length, Math.round((wav.length - WAV_HEADER_BYTES) / 2 / WAV_SAMPLE_RATE),
      ]);
    } finally {
      await pg.end();
    }
    await e.start(['api', 'scheduler', 'packer', 'dispatcher']);
    api = e.api;
  });

  afterAll(async () => {
    await e?.teardown();
  });

  it('SIGKILL while the .sar is being written: after a restart the run succeeds with one .sar, no .partial, one verified delivered file', async () => {
    const name = `Killed packer ${randomBytes(3).toString('hex')}`;
    const res = await api.request<{ run: Run }>('POST', '/api/v1/backup-configurations', {
      name,
      reportTo: 'kill@example.com',
      interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: true, announcements: false },
      destinations: [{ type: 'local' }],
      action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    const runId = res.body.run.id;
    const artifacts = env.ARTIFACT_DIR;
    const partial = join(artifacts, `${runId}.sar.partial`);
    const final = join(artifacts, `${runId}.sar`);

    await expectEventually(() => existsSync(partial) && statSync(partial).size >= KILL_AT_BYTES, {
      timeoutMs: 60_000, intervalMs: 10, message: `${partial} did not reach ${KILL_AT_BYTES} bytes`,
    });
    await stack.kill('packer');
    // Mid-pack for certain: the half-written archive is on disk and was never renamed.
    const killedAt = statSync(partial).size;
    expect(killedAt).toBeGreaterThanOrEqual(KILL_AT_BYTES);
    expect(killedAt).toBeLessThan(VOICEMAILS * AUDIO_BYTES);
    expect(existsSync(final)).toBe(false);
    expect((await api.request<Run>('GET', `/api/v1/runs/${runId}`)).body.status).toBe('packing');
    // The dead packer's lease still holds the PBX maintenance lock: the restart must take it
    // over under the run's holder id, not wait for it or defer the run.
    expect(await lock.currentHolder()).toBe(`backup:${runId}`);

    await stack.spawn('packer');
    await stack.waitHealthy('packer');
    const run = await expectEventually(async () => {
      const { body } = await api.request<Run>('GET', `/api/v1/runs/${runId}`);
      if (['succeeded', 'partially_failed', 'failed'].includes(body.status)) return body;
      throw new Error(`still ${body.status}, deferrals ${JSON.stringify(body.deferrals)}`); // the reason shown on timeout
    }, { timeoutMs: 60_000, intervalMs: 250, message: `run ${runId} did not finish after the packer restart` });

    expect(run).toMatchObject({ status: 'succeeded', error: null, deferrals: [] });
    expect(await lock.currentHolder()).toBeNull();
    // Exactly the finished archive: no .partial, no CDR spool, no second copy.
    expect(readdirSync(artifacts)).toEqual([`${runId}.sar`]);
    const { fileName, size, sha256 } = run.artifact!;
    expect(statSync(final).size).toBe(size);
    expect(size).toBeGreaterThan(VOICEMAILS * AUDIO_BYTES);
    const destDir = join(env.LOCAL_BACKUP_ROOT, 'starface-backup', name);
    expect(readdirSync(destDir)).toEqual([fileName]);
    expect(run.deliveries.map((d) => `${d.type}:${d.status}:${d.location}`)).toEqual([`local:succeeded:starface-backup/${name}/${fileName}`]);
    const delivered = join(destDir, fileName);
    expect(await sha256File(delivered)).toBe(sha256);
    const verified = await verifySar(delivered);
    expect(verified).toMatchObject({ ok: true, manifest: { counts: { voicemailAudio: VOICEMAILS } } });
  });
});
