/**
 * Encrypted archives through the public REST API and the five built apps (docs/encryption.md):
 * what lands at a destination is `.sar.age`, the stock age tool opens it to a .sar whose
 * manifest verifies, and a passphrase is in no response, log, event or mail.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { seedPbx } from '@pbx/pbx-source';
import { verifySar } from '@pbx/sar';
import { expectEventually, readMaildir, testUrls, waitForMail } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

interface Run { id: string; status: string; artifact: { fileName: string; size: number; sha256: string } | null; deliveries: { type: string; status: string; location: string | null }[] }

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('encrypted archives, five processes, public API only', () => {
  let e: E2eEnv;
  const responses: string[] = [];

  beforeAll(async () => {
    e = await createE2eEnv('enc');
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, users: 10, cdr: 500, voicemails: 3, announcements: 1, minAudioBytes: 20_000, maxAudioBytes: 40_000 });
    await e.start();
  });
  afterAll(async () => e?.teardown());

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await e.api.request<T>(method, path, body);
    responses.push(JSON.stringify(res.body));
    return res;
  }

  const finalRun = (id: string) =>
    expectEventually(async () => {
      const { body } = await call<Run>('GET', `/api/v1/runs/${id}`);
      return ['succeeded', 'partially_failed', 'failed'].includes(body.status) ? body : null;
    }, { timeoutMs: 90_000, intervalMs: 250, message: `run ${id} did not finish` });

  const base = (name: string) => ({ name, reportTo: 'enc-e2e@example.com', interval: 'manual', data: { coreData: true, cdrAndVoicemails: true, announcements: true } });

  it('recipients: the delivered file and the download are .sar.age; age -d -i gives a .sar whose manifest verifies', async () => {
    const keyFile = join(e.dir, 'admin-key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
    const publicLine = readFileSync(keyFile, 'utf8').split('\n').find((l) => l.startsWith('# public key: '))!;
    const name = `Encrypted ${randomBytes(3).toString('hex')}`;
    const res = await call<{ configuration: { encryption: unknown }; run: Run }>('POST', '/api/v1/backup-configurations', {
      ...base(name),
      encryption: { mode: 'recipients', recipients: [publicLine] },
      destinations: [{ type: 'local' }],
      action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    expect(res.body.configuration.encryption).toEqual({ mode: 'recipients', recipients: [publicLine.slice('# public key: '.length)] });
    const run = await finalRun(res.body.run.id);
    expect(run.status).toBe('succeeded');
    const { fileName, sha256: expected } = run.artifact!;
    expect(fileName).toMatch(new RegExp(`^${name}_\\d{8}-\\d{6}_${run.id.slice(0, 8)}\\.sar\\.age$`));
    expect(run.deliveries[0].location).toBe(`starface-backup/${name}/${fileName}`);

    const delivered = join(e.env.LOCAL_BACKUP_ROOT, 'starface-backup', name, fileName);
    expect(sha256(readFileSync(delivered))).toBe(expected);
    const plain = join(e.dir, 'decrypted.sar');
    execFileSync('age', ['-d', '-i', keyFile, '-o', plain, delivered]);
    const verified = await verifySar(plain);
    expect(verified.ok).toBe(true);
    if (verified.ok) expect(verified.manifest.configurationName).toBe(name);

    const download = await fetch(`${e.stack.apiUrl}/api/v1/runs/${run.id}/download`, { headers: { authorization: `Bearer ${e.admin}` } });
    expect(download.headers.get('content-disposition')).toContain('.sar.age');
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(expected);
    expect(readdirSync(e.env.ARTIFACT_DIR).filter((f) => f.startsWith(run.id))).toEqual([`${run.id}.sar.age`]);
  });

  it('passphrase: age -d opens the delivered file; the passphrase is in no response, log line, event, snapshot or mail; PATCH keeps it', async () => {
    const passphrase = `e2e passphrase ${randomBytes(8).toString('hex')}`;
    const name = `Passphrase ${randomBytes(3).toString('hex')}`;
    const mailTo = `enc-${randomBytes(4).toString('hex')}@example.com`;
    const since = Date.now();
    const res = await call<{ configuration: { id: string; encryption: unknown }; run: Run }>('POST', '/api/v1/backup-configurations', {
      ...base(name),
      notifyOnSuccess: true,
      encryption: { mode: 'passphrase', passphrase },
      destinations: [{ type: 'local' }, { type: 'email', to: mailTo }],
      action: 'saveAndRun',
    });
    expect(res.status).toBe(201);
    expect(res.body.configuration.encryption).toEqual({ mode: 'passphrase', hasPassphrase: true });
    const run = await finalRun(res.body.run.id);
    expect(run.status).toBe('succeeded');
    const delivered = join(e.env.LOCAL_BACKUP_ROOT, 'starface-backup', name, run.artifact!.fileName);
    const plain = join(e.dir, 'decrypted-pass.sar');
    execFileSync('script', ['-qec', `age -d -o '${plain}' '${delivered}'`, '/dev/null'], { input: `${passphrase}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
    expect((await verifySar(plain)).ok).toBe(true);

    // The e-mail destination attached the encrypted file.
    const { mail } = await waitForMail((m) => (m.to && 'text' in m.to ? m.to.text : '').includes(mailTo), { since: since - 1000, timeoutMs: 30_000 });
    expect(mail.attachments[0].filename).toMatch(/\.sar\.age$/);
    expect(sha256(mail.attachments[0].content)).toBe(run.artifact!.sha256);

    // A PATCH echoing the configuration as GET showed it keeps the passphrase.
    const { body: shown } = await call<Record<string, unknown>>('GET', `/api/v1/backup-configurations/${res.body.configuration.id}`);
    const patched = await call<{ encryption: unknown }>('PATCH', `/api/v1/backup-configurations/${res.body.configuration.id}`, { encryption: shown.encryption, reportTo: 'other@example.com' });
    expect(patched.status).toBe(200);
    expect(patched.body.encryption).toEqual({ mode: 'passphrase', hasPassphrase: true });
    const again = await call<{ run: Run }>('POST', `/api/v1/backup-configurations/${res.body.configuration.id}/runs`);
    const second = await finalRun(again.body.run.id);
    expect(second.status).toBe('succeeded');
    const secondFile = join(e.env.LOCAL_BACKUP_ROOT, 'starface-backup', name, second.artifact!.fileName);
    execFileSync('script', ['-qec', `age -d -o '${plain}.2' '${secondFile}'`, '/dev/null'], { input: `${passphrase}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
    expect((await verifySar(`${plain}.2`)).ok).toBe(true);

    await e.stack.stop(); // flushes the logs
    const logs = readdirSync(e.dir).filter((f) => f.endsWith('.log')).map((f) => readFileSync(join(e.dir, f), 'utf8'));
    expect(logs.join('').length).toBeGreaterThan(0);
    const pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    const stored = await pg.query(`SELECT (SELECT json_agg(payload) FROM "${e.schema}".outbox) AS outbox, (SELECT json_agg(snapshot) FROM "${e.schema}".runs) AS runs, (SELECT json_agg(c) FROM "${e.schema}".configurations c) AS configurations`);
    await pg.end();
    const mails = (await readMaildir(undefined, since - 1000)).map((m) => `${m.mail.subject ?? ''}\n${m.mail.text ?? ''}\n${m.mail.html || ''}`);
    for (const [where, texts] of [['responses', responses], ['logs', logs], ['database', [JSON.stringify(stored.rows)]], ['mails', mails]] as const) {
      expect({ where, found: texts.filter((t) => t.includes(passphrase)).length }).toEqual({ where, found: 0 });
    }
  });
});
