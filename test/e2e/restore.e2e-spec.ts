/**
 * Restore through the public REST API and the five built apps (issue #18): a PBX backed up to a
 * local destination, changed (rows deleted, a recording deleted), restored from the stored copy
 * at the destination, from an upload of the downloaded archive, and by the ops CLI, each time
 * back to exactly the seeded data; a damaged upload is refused naming the entry.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { seedPbx, walkFiles } from '@pbx/pbx-source';
import { expectEventually, testUrls } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

interface Restore { id: string; status: string; error: string | null; sections: { name: string; status: string }[]; safetyBackup: { path: string } | null }

describe('restore, five processes, public API only', () => {
  let e: E2eEnv;
  let pg: Client;
  let seeded: Awaited<ReturnType<typeof fingerprint>>;
  let runId: string;
  let destinationId: string;
  let configurationId: string;

  async function fingerprint() {
    const table = async (name: string) => (await pg.query<{ r: string }>(`SELECT x::text AS r FROM "${e.pbxSchema}".${name} x ORDER BY id`)).rows.map((r) => r.r);
    const audio: Record<string, string> = {};
    for await (const f of walkFiles(e.env.PBX_DATA_DIR, 'voicemail')) audio[f.relativePath] = createHash('sha256').update(await readFile(f.absolutePath)).digest('hex');
    return { users: await table('users'), cdr: await table('cdr'), audio };
  }

  async function damagePbx(): Promise<void> {
    await pg.query(`DELETE FROM "${e.pbxSchema}".cdr WHERE id IN (SELECT id FROM "${e.pbxSchema}".cdr ORDER BY id LIMIT 40)`);
    await pg.query(`UPDATE "${e.pbxSchema}".users SET first_name = 'changed' WHERE id IN (SELECT id FROM "${e.pbxSchema}".users ORDER BY id LIMIT 2)`);
    const [first] = Object.keys(seeded.audio);
    await rm(join(e.env.PBX_DATA_DIR, first!));
    expect(await fingerprint()).not.toEqual(seeded);
  }

  const finalRestore = (id: string) =>
    expectEventually(async () => {
      const { body } = await e.api.request<Restore>('GET', `/api/v1/restores/${id}`);
      return ['succeeded', 'failed', 'rolled_back'].includes(body.status) ? body : null;
    }, { timeoutMs: 120_000, intervalMs: 250, message: `restore ${id} did not finish` });

  async function upload(content: Buffer): Promise<string> {
    const created = await e.api.request<{ uploadId: string; url: string }>('POST', '/api/v1/uploads', { size: content.length });
    const put = await fetch(`${e.stack.apiUrl}${created.body.url}`, { method: 'PUT', headers: { authorization: `Bearer ${e.admin}`, 'content-type': 'application/octet-stream' }, body: content });
    expect(put.status).toBe(200);
    return created.body.uploadId;
  }

  beforeAll(async () => {
    e = await createE2eEnv('rst');
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 10, cdr: 400, voicemails: 4, announcements: 1, minAudioBytes: 20_000, maxAudioBytes: 40_000 });
    pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    seeded = await fingerprint();
    await e.start();
    const res = await e.api.request<{ configuration: { id: string; destinations: { id: string }[] }; run: { id: string } }>('POST', '/api/v1/backup-configurations', {
      name: `Restore ${randomBytes(3).toString('hex')}`, reportTo: 'restore-e2e@example.com', interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: true, announcements: true }, destinations: [{ type: 'local' }], action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    ({ id: configurationId } = res.body.configuration);
    destinationId = res.body.configuration.destinations[0]!.id;
    runId = res.body.run.id;
    await expectEventually(async () => (await e.api.request<{ status: string }>('GET', `/api/v1/runs/${runId}`)).body.status === 'succeeded' || null, { timeoutMs: 90_000, intervalMs: 250 });
  });
  afterAll(async () => {
    await pg?.end();
    await e?.teardown();
  });

  it('restores from the stored copy at the destination: the PBX equals the seeded one', async () => {
    const listed = await e.api.request<{ items: { file: string; writtenByThisService: boolean }[] }>('GET', `/api/v1/backup-configurations/${configurationId}/destinations/${destinationId}/backups`);
    expect(listed.body.items).toEqual([expect.objectContaining({ writtenByThisService: true })]);
    await damagePbx();
    const started = await e.api.request<{ restore: Restore }>('POST', '/api/v1/restores', { source: { destinationId, file: listed.body.items[0]!.file }, mode: 'replace' });
    expect(started.status).toBe(202);
    const done = await finalRestore(started.body.restore.id);
    expect(done).toMatchObject({ status: 'succeeded', error: null, safetyBackup: { path: expect.any(String) } });
    expect(await fingerprint()).toEqual(seeded);
  });

  it('restores from an upload of the downloaded archive, and refuses a damaged upload naming the entry', async () => {
    const download = Buffer.from(await (await fetch(`${e.stack.apiUrl}/api/v1/runs/${runId}/download`, { headers: { authorization: `Bearer ${e.admin}` } })).arrayBuffer());
    await damagePbx();
    const good = await e.api.request<{ restore: Restore }>('POST', '/api/v1/restores', { source: { uploadId: await upload(download) } });
    expect((await finalRestore(good.body.restore.id)).status).toBe('succeeded');
    expect(await fingerprint()).toEqual(seeded);

    const damaged = Buffer.from(download);
    damaged[Math.floor(damaged.length / 2)] ^= 0xff;
    const bad = await e.api.request<{ restore: Restore }>('POST', '/api/v1/restores', { source: { uploadId: await upload(damaged) } });
    const refused = await finalRestore(bad.body.restore.id);
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/entry \S+\//);
    expect(await fingerprint()).toEqual(seeded);
  });

  it('ops CLI: restore <run id> --sections cdrAndVoicemails follows the restore to its end', async () => {
    await pg.query(`DELETE FROM "${e.pbxSchema}".cdr WHERE id IN (SELECT id FROM "${e.pbxSchema}".cdr ORDER BY id DESC LIMIT 5)`);
    const res = spawnSync(process.execPath, ['dist/scripts/ops.js', 'restore', runId, '--sections', 'cdrAndVoicemails', '--mode', 'replace'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { PATH: process.env.PATH ?? '', USER: 'e2e-operator', DATABASE_URL: testUrls.database, DATABASE_SCHEMA: e.schema, ARTIFACT_DIR: e.env.ARTIFACT_DIR, SECRETS_KEY: e.env.SECRETS_KEY ?? '', LOG_LEVEL: 'warn' },
    });
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/succeeded/);
    expect(res.stdout).toMatch(/cdrAndVoicemails: restored/);
    expect(await fingerprint()).toEqual(seeded);
  });
});
