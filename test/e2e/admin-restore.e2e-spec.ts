/**
 * The admin UI's Restore pages and the wizard's encryption input in a real browser against the
 * five built apps: a seeded PBX is backed up, changed, and restored from the run's file through
 * Preview → confirmation → live result, back to exactly the seeded data (compared as
 * restore.e2e-spec.ts does); an encrypted run refuses a wrong passphrase (decryptFailed beside
 * the field, nothing changed) and restores with the right one; an uploaded archive restores;
 * the wizard takes an age recipient pasted from age-keygen's key file (and refuses the secret
 * key without sending it); German; axe-core; screenshots in tmp/admin-restore/.
 * Needs `npm run build`, /usr/bin/chromium and age-keygen.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';
import { type Page, type Response as PwResponse } from 'playwright-core';
import { walkFiles } from '@pbx/pbx-source';
import { expectEventually, testUrls } from '@pbx/testing';
import { adminSuite } from './admin-browser';
import { type E2eEnv } from './e2e-env';

interface Run {
  id: string;
  status: string;
  configurationName: string;
}

describe('admin UI: restore and encryption (five processes, chromium)', () => {
  let e: E2eEnv;
  let page: Page;
  let base: string;
  let pg: Client;
  let seeded: Awaited<ReturnType<typeof fingerprint>>;
  const plain = { name: `UI restore ${randomBytes(3).toString('hex')}`, runId: '' };
  const encrypted = { name: `UI restore enc ${randomBytes(3).toString('hex')}`, runId: '', passphrase: `ui restore ${randomBytes(6).toString('hex')}` };

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
    await rm(join(e.env.PBX_DATA_DIR, first!), { force: true });
    expect(await fingerprint()).not.toEqual(seeded);
  }

  async function backUp(name: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await e.api.request<{ run: Run }>('POST', '/api/v1/backup-configurations', {
      name,
      reportTo: 'ui-restore@example.com',
      interval: 'manual',
      data: { coreData: true, cdrAndVoicemails: true, announcements: true },
      destinations: [{ type: 'local' }],
      action: 'saveAndRun',
      ...extra,
    });
    expect(res.status).toBe(201);
    const id = res.body.run.id;
    await expectEventually(async () => (await e.api.request<Run>('GET', `/api/v1/runs/${id}`)).body.status === 'succeeded' || null, { timeoutMs: 120_000, intervalMs: 250, message: `run of ${name} did not succeed` });
    return id;
  }

  const { shot, noSeriousA11yViolations } = adminSuite({
    name: 'uirst',
    shots: 'admin-restore',
    seed: { users: 10, cdr: 400, voicemails: 4, announcements: 1, minAudioBytes: 20_000, maxAudioBytes: 40_000 },
    ready: (s) => ({ e, page, base } = s),
  });

  beforeAll(async () => {
    // The PBX as seeded: nothing has changed it yet (the apps touch it only to restore).
    pg = new Client({ connectionString: testUrls.database });
    await pg.connect();
    seeded = await fingerprint();
    plain.runId = await backUp(plain.name);
    encrypted.runId = await backUp(encrypted.name, { encryption: { mode: 'passphrase', passphrase: encrypted.passphrase } });
  }, 300_000);

  afterAll(async () => {
    await pg?.end();
  });

  /** Preview is shown; then Restore… → the dialog (typing the name for replace) → the restore's page until it is final. */
  async function confirmAndFollow(name: string, prefix?: string): Promise<string> {
    await page.getByRole('button', { name: 'Restore…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore into the PBX?' });
    await dialog.waitFor();
    await expect(dialog.textContent()).resolves.toMatch(/These sections of the PBX are replaced by the archive's content:.*Core data: \d+ rows added.*A safety backup/s);
    if (prefix) await shot(`${prefix}-confirm`);
    const button = dialog.getByRole('button', { name: 'Restore now' });
    await expect(button.isDisabled()).resolves.toBe(true);
    await dialog.getByLabel('Type the configuration name to confirm').fill(name);
    // The restore's page follows it live (GET /restores/:id/events), not by polling alone.
    const streams: string[] = [];
    const onResponse = (r: PwResponse) => {
      if (/\/api\/v1\/restores\/[0-9a-f-]{36}\/events$/.test(r.url()) && r.status() === 200 && r.headers()['content-type']?.startsWith('text/event-stream')) streams.push(r.url());
    };
    page.on('response', onResponse);
    await button.click();
    await page.waitForURL(/\/restore\/[0-9a-f-]{36}$/);
    const status = page.getByTestId('restore-status');
    await expectEventually(async () => ['succeeded', 'failed', 'rolled_back'].includes((await status.getAttribute('data-status')) ?? ''), { timeoutMs: 120_000, intervalMs: 250, message: 'the restore did not finish' });
    page.off('response', onResponse);
    expect(streams.length).toBeGreaterThan(0);
    return (await status.getAttribute('data-status')) ?? '';
  }

  it('run detail → Restore from here → Preview (rows and files that would change) → confirmation → the PBX equals the seeded one', async () => {
    await damagePbx();
    await page.goto(`${base}/runs/${plain.runId}`);
    await page.getByRole('link', { name: 'Restore from here' }).click();
    await page.getByRole('heading', { name: 'Restore a backup' }).waitFor();
    await expect(page.getByRole('radio', { name: /A run's file/ }).isChecked()).resolves.toBe(true);
    await expect(page.getByTestId('run-select').inputValue()).resolves.toContain(plain.name);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('restore-preview').waitFor({ timeout: 120_000 });
    // 40 CDRs deleted → the restore would add them back; 2 users changed; a recording removed → added back.
    await expect(page.locator('[data-testid="preview-table"][data-table="cdr"]').getAttribute('data-added')).resolves.toBe('40');
    await expect(page.locator('[data-testid="preview-table"][data-table="users"]').getAttribute('data-changed')).resolves.toBe('2');
    await expect(page.locator('[data-testid="preview-cdrAndVoicemails"] [data-testid="preview-audio"]').getAttribute('data-added')).resolves.toBe('1');
    await noSeriousA11yViolations('restore preview');
    await shot('en-preview');
    expect(await fingerprint()).not.toEqual(seeded); // a preview changes nothing
    expect(await confirmAndFollow(plain.name, 'en')).toBe('succeeded');
    await page.getByTestId('restore-succeeded').waitFor();
    await page.getByTestId('restore-safety').waitFor();
    await noSeriousA11yViolations('restore result');
    await shot('en-result');
    expect(await fingerprint()).toEqual(seeded);
    // The list shows it, with the preview before it.
    await page.getByRole('link', { name: 'All restores' }).click();
    await page.getByRole('heading', { name: 'Restores' }).waitFor();
    // The rows come after the heading (the list is fetched): wait for them, then count.
    await page.getByTestId('restore-row').nth(1).waitFor();
    await expect(page.getByTestId('restore-row').count()).resolves.toBe(2);
    await noSeriousA11yViolations('restore list');
    await shot('en-list');
  });

  it('an encrypted run: a wrong passphrase shows decryptFailed beside the field and changes nothing; the right one restores', async () => {
    await damagePbx();
    const before = await fingerprint();
    await page.goto(`${base}/restore/new?runId=${encrypted.runId}`);
    await page.getByRole('heading', { name: 'Restore a backup' }).waitFor();
    await page.getByTestId('restore-key').waitFor();
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByText('The archive is encrypted: give its key.').waitFor();
    await page.getByTestId('restore-key').locator('input[type="password"]').fill('not the passphrase at all');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByText('The archive could not be decrypted with this key. Nothing was changed.').first().waitFor({ timeout: 60_000 });
    // Beside the field (and as the alert with the engine's words).
    await page.getByTestId('restore-key').getByText('The archive could not be decrypted with this key. Nothing was changed.').waitFor();
    await expect(page.getByTestId('restore-error').getAttribute('data-kind')).resolves.toBe('decryptFailed');
    await shot('en-decrypt-failed');
    expect(await fingerprint()).toEqual(before);
    await page.getByTestId('restore-key').locator('input[type="password"]').fill(encrypted.passphrase);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('restore-preview').waitFor({ timeout: 120_000 });
    expect(await confirmAndFollow(encrypted.name)).toBe('succeeded');
    expect(await fingerprint()).toEqual(seeded);
    // The key went to the api for this restore only: the page keeps it nowhere.
    const stored = await page.evaluate(() => {
      interface Store { length: number; key(i: number): string | null; getItem(k: string): string | null }
      const g = globalThis as unknown as { sessionStorage: Store; localStorage: Store };
      const all = (s: Store) => Array.from({ length: s.length }, (_, i) => `${s.key(i)}=${s.getItem(s.key(i) ?? '')}`).join('\n');
      return `${all(g.sessionStorage)}\n${all(g.localStorage)}`;
    });
    expect(stored).not.toContain(encrypted.passphrase);
  });

  it('an upload: the downloaded archive chosen in the browser is sent with progress and restored', async () => {
    const archive = Buffer.from(await (await fetch(`${base}/api/v1/runs/${plain.runId}/download`, { headers: { authorization: `Bearer ${e.admin}` } })).arrayBuffer());
    const file = join(e.dir, `${plain.name}.sar`);
    writeFileSync(file, archive);
    await damagePbx();
    await page.goto(`${base}/restore/new?source=upload`);
    await page.getByRole('heading', { name: 'Restore a backup' }).waitFor();
    await page.locator('input[type="file"]').setInputFiles(file);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.getByText(`Uploaded: ${plain.name}.sar`).waitFor({ timeout: 60_000 });
    await expect(page.getByTestId('upload-progress').getAttribute('data-received')).resolves.toBe(String(archive.length));
    await shot('en-upload');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByTestId('restore-preview').waitFor({ timeout: 120_000 });
    expect(await confirmAndFollow(plain.name)).toBe('succeeded');
    expect(await fingerprint()).toEqual(seeded);
  });

  it('wizard: an age recipient pasted from age-keygen\'s key file is saved (the secret key is refused before sending); step 4 shows it', async () => {
    const keyFile = join(e.dir, 'ui-key.txt');
    execFileSync('age-keygen', ['-o', keyFile], { stdio: 'pipe' });
    const whole = readFileSync(keyFile, 'utf8');
    const publicKey = /# public key: (age1\S+)/.exec(whole)![1]!;
    const name = `UI encrypted ${randomBytes(3).toString('hex')}`;
    await page.goto(`${base}/backups/new`);
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
    await page.getByLabel('Report to').fill('ui-restore@example.com');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('radio', { name: 'Server hard drive' }).click();
    await page.getByRole('radio', { name: 'age public keys (recommended)' }).click();
    // The whole key file, secret key included: refused here, never sent.
    await page.getByRole('textbox', { name: 'age public keys', exact: true }).fill(whole);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(/This is a SECRET key/).waitFor();
    await noSeriousA11yViolations('wizard encryption');
    await shot('en-wizard-encryption-secret');
    // age-keygen's lines without the secret: the "# created" comment is dropped, the public key line taken.
    await page.getByRole('textbox', { name: 'age public keys', exact: true }).fill(whole.split('\n').filter((l) => !l.startsWith('AGE-SECRET-KEY-')).join('\n'));
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByTestId('wizard-summary').textContent()).resolves.toContain('age recipients (keys: 1)');
    await page.getByRole('radio', { name: 'Only keep settings' }).click();
    await shot('en-wizard-summary');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
    const list = await e.api.request<{ items: { name: string; encryption: unknown }[] }>('GET', '/api/v1/backup-configurations?limit=100');
    expect(list.body.items.find((c) => c.name === name)?.encryption).toEqual({ mode: 'recipients', recipients: [publicKey] });
  });

  it('German: the restore page and its preview, axe clean', async () => {
    await page.goto(`${base}/restore/new?runId=${plain.runId}`);
    await page.getByText('DE', { exact: true }).click();
    await page.getByRole('heading', { name: 'Backup wiederherstellen' }).waitFor();
    for (const label of ['Welches Archiv', 'Was wiederhergestellt wird', 'Modus']) await page.getByText(label).first().waitFor();
    await page.getByRole('radio', { name: /Ersetzen/ }).waitFor();
    await page.getByLabel('Das Archiv darf von einer anderen Telefonanlage stammen').waitFor();
    await page.getByRole('button', { name: 'Vorschau' }).click();
    await page.getByTestId('restore-preview').waitFor({ timeout: 120_000 });
    await page.getByText('Was die Wiederherstellung ändern würde').waitFor();
    await noSeriousA11yViolations('restore de');
    await shot('de-preview');
    await page.goto(`${base}/restore/new?runId=${encrypted.runId}`);
    await page.getByTestId('restore-key').locator('input[type="password"]').waitFor();
    await page.getByText('Schlüssel des verschlüsselten Archivs').waitFor();
    await noSeriousA11yViolations('restore de encrypted');
    await shot('de-encrypted');
    await page.goto(`${base}/restore`);
    await page.getByRole('heading', { name: 'Wiederherstellungen' }).waitFor();
    await shot('de-list');
    await page.getByTestId('restore-row').first().getByRole('link').first().click();
    await page.waitForURL(/\/restore\/[0-9a-f-]{36}$/);
    await page.getByTestId('restore-status').first().waitFor();
    await noSeriousA11yViolations('restore result (de)');
    await shot('de-result');
    await page.getByText('EN', { exact: true }).click();
  });
});
