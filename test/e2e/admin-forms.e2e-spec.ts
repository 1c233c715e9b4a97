/**
 * Every destination form of the wizard's step 3 in chromium against the five built apps: for each
 * kind one input the api (or the wizard's own check) refuses, its message beside the field named
 * by its label, then a valid save that the api stores (read back with GET). The messages asserted
 * are the api's own (libs/contracts/src/domain/destinations.ts, canonical.ts, fields.ts). E-mail
 * also runs: "Only execute backup" of an archive over MAIL_MAX_BYTES fails with mailtobig, and
 * "Keep settings and execute backup" of a small one arrives in the SMTP sink. One form is refused
 * in German. USB offers only the volumes present (a folder below USB_MOUNT_ROOT, created by the
 * test; USB_ALLOW_UNMOUNTED), with an empty state and Refresh. Screenshots of the refused states go
 * to tmp/admin-forms/.
 * Needs `npm run build` and /usr/bin/chromium.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { expectEventually, peers, sftpHostKeyFingerprint, startDropboxFake, uniqueName, waitForMail, type DropboxFake } from '@pbx/testing';
import { adminSuite, errorBeside, setLanguage } from './admin-browser';
import { type E2eEnv } from './e2e-env';

/** Above a core-data archive of the small seed, below one with its voicemails (estimate: size × 4/3 + 8 KiB). */
const MAIL_MAX_BYTES = 300_000;

interface Configuration {
  id: string;
  name: string;
  destinations: Array<{ type: string } & Record<string, unknown>>;
}
interface Run {
  id: string;
  status: string;
  configurationName: string;
  deliveries: Array<{ type: string; status: string; code: string | null; error: string | null }>;
}

describe('admin UI: every destination form, refused and valid input (five processes, chromium)', () => {
  let e: E2eEnv;
  let dropbox: DropboxFake;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    dropbox = await startDropboxFake();
  });
  const { shot, noSeriousA11yViolations } = adminSuite({
    name: 'uiforms',
    shots: 'admin-forms',
    env: () => ({ DROPBOX_API_BASE: dropbox.url, DROPBOX_APP_KEY: dropbox.appKey, DROPBOX_APP_SECRET: dropbox.appSecret, MAIL_MAX_BYTES: String(MAIL_MAX_BYTES), USB_ALLOW_UNMOUNTED: 'true' }),
    seed: { users: 3, cdr: 20, voicemails: 2, announcements: 1, minAudioBytes: 200_000, maxAudioBytes: 250_000 },
    ready: (s) => ({ e, page, base } = s),
  });
  afterAll(async () => {
    await dropbox?.close();
  });

  const textbox = (label: string) => page.getByRole('textbox', { name: label, exact: true });
  const next = (label = 'Next') => page.getByRole('button', { name: label }).click();

  /** A new configuration's steps 1 and 2 (core data only); step 3 with `kind` chosen is shown. */
  async function wizardAt(kind: string, name: string, language: 'en' | 'de' = 'en'): Promise<void> {
    await setLanguage(page, language);
    await page.goto(`${base}/backups/new`);
    const de = language === 'de';
    await textbox('Name').fill(name);
    await page.getByLabel(de ? 'Bericht an' : 'Report to').fill('ui-forms@example.com');
    await next(de ? 'Weiter' : 'Next');
    await page.getByLabel(de ? 'Stammdaten' : 'Core data').waitFor();
    await next(de ? 'Weiter' : 'Next');
    await page.getByRole('radio', { name: kind }).click();
  }

  /** Step 3 → 4 → "Only keep settings" → Save. */
  async function saveOnly(): Promise<void> {
    await next();
    await page.getByRole('radio', { name: 'Only keep settings' }).check();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
  }

  /** Saved: the list is shown and the api has it; its one destination. */
  async function stored(name: string): Promise<Configuration['destinations'][number]> {
    await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
    const { body } = await e.api.request<{ items: Configuration[] }>('GET', '/api/v1/backup-configurations?limit=100');
    const saved = body.items.find((c) => c.name === name);
    expect(saved?.destinations).toHaveLength(1);
    return saved!.destinations[0]!;
  }

  /** The refusal is shown on step 3 (the wizard went back there) and is accessible there. */
  async function refusedShown(where: string, shotName: string): Promise<void> {
    await noSeriousA11yViolations(where);
    await shot(shotName);
  }

  const beside = (field: Locator) => errorBeside(page, field);

  it('server hard drive: a sub-folder escaping with ".." is refused beside "Sub-folder (optional)"; a relative one is saved', async () => {
    const name = uniqueName('Forms local');
    await wizardAt('Server hard drive', name);
    const folder = textbox('Sub-folder (optional)');
    await folder.fill('site-a/../../etc');
    await saveOnly();
    await expect(beside(folder)).resolves.toBe('must not contain "." or ".." segments');
    await refusedShown('local refused', 'en-local-refused');
    await folder.fill('/srv/backups');
    await saveOnly();
    await expect(beside(folder)).resolves.toBe('must be relative (no leading /)');
    await folder.fill('site-a/nightly');
    await saveOnly();
    expect(await stored(name)).toMatchObject({ type: 'local', path: 'site-a/nightly' });
  }, 60_000);

  it('Windows share: a server with smb:// and a share path with a backslash are refused beside "Server" and "Share"; corrected, it is saved with the password write-only', async () => {
    const name = uniqueName('Forms smb');
    await wizardAt('Windows share', name);
    await textbox('User').fill(peers.smb.username);
    await textbox('Password').fill(peers.smb.password);
    const server = textbox('Server');
    const share = textbox('Share');
    await server.fill(`smb://${peers.host}`);
    await share.fill('backup\\pbx');
    // Security is required: Next without it is refused by the wizard itself, beside the drop-down.
    await next();
    const security = page.getByRole('combobox', { name: 'Security' });
    await expect(beside(security)).resolves.toBe('Required.');
    await security.click();
    await page.getByRole('option', { name: 'NTLMv2', exact: true }).click();
    await saveOnly();
    await expect(beside(server)).resolves.toBe('must be a host name or IP address without a protocol (remove "smb://")');
    await expect(beside(share)).resolves.toBe('must be the share name, then sub-folders joined with / (not \\), e.g. backups/pbx');
    await refusedShown('SMB refused', 'en-smb-refused');
    await server.fill(peers.host);
    await share.fill(`${peers.smb.share}/pbx/site-a`);
    await saveOnly();
    const d = await stored(name);
    expect(d).toMatchObject({ type: 'smb', server: peers.host, share: `${peers.smb.share}/pbx/site-a`, username: peers.smb.username, security: 'ntlmv2', hasPassword: true });
    expect(JSON.stringify(d)).not.toContain(peers.smb.password);
  }, 60_000);

  it('SFTP: a server with a port is refused beside "Server" (Test connection); a relative path beside "Path"; corrected, it is saved with the confirmed host key', async () => {
    const name = uniqueName('Forms sftp');
    await wizardAt('SFTP', name);
    await textbox('User').fill(peers.sftp.username);
    await textbox('Password').fill(peers.sftp.password);
    const server = textbox('Server');
    const path = textbox('Path');
    await server.fill(`${peers.host}:${peers.sftp.port}`);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect(beside(server)).resolves.toBe('must not contain a port (use the port field)');
    await refusedShown('SFTP refused (server)', 'en-sftp-server-refused');
    await server.fill(peers.host);
    await page.getByRole('spinbutton', { name: 'Port' }).fill(String(peers.sftp.port));
    await path.fill('.');
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect(page.getByTestId('host-key-fingerprint').textContent()).resolves.toBe(sftpHostKeyFingerprint());
    await page.getByLabel('I have checked this fingerprint; trust this server').check();
    // A relative path that is not ".": the wizard sends it, the api refuses it.
    await path.fill('backups/pbx');
    await saveOnly();
    await expect(beside(path)).resolves.toBe('must be an absolute path starting with /, or "." for the login folder');
    await refusedShown('SFTP refused (path)', 'en-sftp-path-refused');
    await path.fill('.');
    await saveOnly();
    expect(await stored(name)).toMatchObject({ type: 'sftp', host: peers.host, port: peers.sftp.port, path: '.', username: peers.sftp.username, hostKeyFingerprint: sftpHostKeyFingerprint(), hasPassword: true });
  }, 60_000);

  it('Dropbox: without the confirmation key, or with one Dropbox does not know, it is refused beside "Confirmation key"; with a fresh key it is saved (the key traded for a refresh token)', async () => {
    const name = uniqueName('Forms dropbox');
    await wizardAt('Dropbox', name);
    await expect(page.getByRole('link', { name: 'Open Dropbox to grant access' }).getAttribute('href')).resolves.toMatch(new RegExp(`^https://dropbox\\.com/oauth2/authorize\\?.*client_id=${dropbox.appKey}`));
    const key = textbox('Confirmation key');
    await next();
    await expect(beside(key)).resolves.toBe('Required.');
    await refusedShown('Dropbox refused (no key)', 'en-dropbox-no-key');
    const exchanges = dropbox.stats.codeExchanges;
    await key.fill('a-key-dropbox-never-issued');
    await saveOnly();
    // dropboxError names Dropbox once: the cause reads "Dropbox code exchange failed: …", not "Dropbox Dropbox …".
    await expect(beside(key)).resolves.toMatch(/^was not accepted by Dropbox \(Dropbox code exchange failed: .+\); get a new code and try again$/);
    expect(await beside(key)).not.toContain('a-key-dropbox-never-issued');
    await refusedShown('Dropbox refused (unknown key)', 'en-dropbox-refused');
    await key.fill(dropbox.issueAuthorizationCode());
    await saveOnly();
    const d = await stored(name);
    expect(d.type).toBe('dropbox');
    expect(d.authorizationCode).toBeUndefined();
    expect(dropbox.stats.codeExchanges).toBe(exchanges + 1);
  }, 60_000);

  it('USB: with nothing plugged in "No USB volume is plugged in" is shown; a volume that appears is listed after Refresh (a folder whose name a device may not carry is not), chosen under "USB volume" and saved as the device', async () => {
    const name = uniqueName('Forms usb');
    await wizardAt('USB storage', name);
    const none = page.getByText('No USB volume is plugged in.', { exact: true });
    await none.waitFor();
    await refusedShown('USB, no volume', 'en-usb-none');
    // Plugged in: a folder below USB_MOUNT_ROOT counts as a volume with USB_ALLOW_UNMOUNTED.
    mkdirSync(join(e.env.USB_MOUNT_ROOT, 'stick'), { recursive: true });
    mkdirSync(join(e.env.USB_MOUNT_ROOT, 'bad.'), { recursive: true });
    await page.getByRole('button', { name: 'Refresh' }).click();
    await none.waitFor({ state: 'detached' });
    await page.getByRole('combobox', { name: 'USB volume' }).click();
    const options = page.getByRole('option');
    await options.first().waitFor();
    await expect(options.allTextContents()).resolves.toEqual([expect.stringMatching(/^stick \(.+ free of .+\)$/)]);
    await options.first().click();
    await refusedShown('USB, volume chosen', 'en-usb-chosen');
    await saveOnly();
    expect(await stored(name)).toMatchObject({ type: 'usb', device: 'stick' });
  }, 60_000);

  it('e-mail: a bad address is refused beside "E-mail address" (by the wizard, and one only the api catches); a backup over the size limit fails as mailtobig ("Only execute backup"); a small one is kept and mailed ("Keep settings and execute backup")', async () => {
    const name = uniqueName('Forms email');
    const to = `forms-${Date.now()}@example.com`;
    await wizardAt('Send to e-mail address', name);
    const address = textbox('E-mail address');
    await address.fill('not-an-address');
    await next();
    await expect(beside(address)).resolves.toBe('Not an e-mail address.');
    // Looks like an address to the wizard; the api refuses two dots in a row.
    await address.fill('backup..pbx@example.com');
    await saveOnly();
    await expect(beside(address)).resolves.toBe('must be an e-mail address like admin@example.com');
    await refusedShown('e-mail refused', 'en-email-refused');

    // The size limit: with the voicemails the file is too big to mail; the run says so.
    await address.fill(to);
    await page.getByRole('button', { name: 'Back', exact: true }).click();
    await page.getByLabel('CDR and voicemails').check();
    await next();
    await next();
    await page.getByRole('radio', { name: 'Only execute backup' }).check();
    await page.getByRole('button', { name: 'Run backup' }).click();
    const progress = page.getByTestId('run-progress');
    await progress.getByText(/as e-mail, more than the 0\.3 MiB allowed/).waitFor({ timeout: 90_000 });
    // The code in words (the served delivery-code texts), the raw error below it as the detail.
    await expect(progress.getByTestId('delivery-code-text').textContent()).resolves.toContain('The backup is too large to be sent by e-mail.');
    const tooBig = await finalRunOf(name);
    expect(tooBig.deliveries).toEqual([expect.objectContaining({ type: 'email', status: 'failed', code: 'mailtobig' })]);
    await shot('en-email-too-big');

    // Core data only fits: kept and mailed.
    await wizardAt('Send to e-mail address', name);
    await address.fill(to);
    await next();
    await expect(page.getByRole('radio', { name: 'Keep settings and execute backup' }).isChecked()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Save and run backup' }).click();
    await page.getByRole('button', { name: 'Download' }).waitFor({ timeout: 90_000 });
    const { body } = await e.api.request<{ items: Configuration[] }>('GET', '/api/v1/backup-configurations?limit=100');
    expect(body.items.find((c) => c.name === name)?.destinations).toEqual([expect.objectContaining({ type: 'email', to })]);
    const { mail } = await waitForMail((m) => [m.to].flat().some((a) => a?.text.includes(to)), { timeoutMs: 30_000 });
    expect(mail.attachments).toHaveLength(1);
  }, 240_000);

  it('S3: a bucket name with capitals and a region with a space are refused beside "Bucket" and "Region"; corrected, it is saved', async () => {
    const name = uniqueName('Forms s3');
    await wizardAt('S3 object storage', name);
    const region = textbox('Region');
    const bucket = textbox('Bucket');
    await textbox('Endpoint URL').fill(peers.s3.endpoint);
    await region.fill('EU Central');
    await bucket.fill('My_Bucket');
    await textbox('Access key ID').fill(peers.s3.accessKeyId);
    await textbox('Secret access key').fill(peers.s3.secretAccessKey);
    await saveOnly();
    await expect(beside(region)).resolves.toBe('must be a region name like eu-central-1 (a-z, 0-9, -)');
    await expect(beside(bucket)).resolves.toBe('must be 3 to 63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit');
    await refusedShown('S3 refused', 'en-s3-refused');
    await region.fill(peers.s3.region);
    await bucket.fill(peers.s3.bucket);
    await saveOnly();
    const d = await stored(name);
    expect(d).toMatchObject({ type: 's3', endpoint: peers.s3.endpoint, region: peers.s3.region, bucket: peers.s3.bucket, accessKeyId: peers.s3.accessKeyId, hasSecretAccessKey: true });
  }, 60_000);

  it('German: the Windows share form refused beside "Server" and "Freigabe" (the wizard\'s own check in German, the api\'s message as it sends it)', async () => {
    const name = uniqueName('Forms de');
    await wizardAt('Windows-Freigabe', name, 'de');
    const server = textbox('Server');
    const share = textbox('Freigabe');
    await textbox('Benutzer').fill(peers.smb.username);
    await textbox('Passwort').fill(peers.smb.password);
    await server.fill(`${peers.host}:445`);
    await next('Weiter');
    await expect(beside(share)).resolves.toBe('Pflichtfeld.');
    await share.fill('/backup');
    const security = page.getByRole('combobox', { name: 'Sicherheit' });
    await security.click();
    await page.getByRole('option', { name: 'NTLMv2', exact: true }).click();
    await next('Weiter');
    await page.getByRole('radio', { name: 'Nur Einstellungen speichern' }).check();
    await page.getByRole('button', { name: 'Speichern', exact: true }).click();
    await expect(beside(server)).resolves.toBe('must not contain a port (use the port field)');
    await expect(beside(share)).resolves.toBe('must start with the share name, not with / (e.g. backups/pbx)');
    await refusedShown('SMB refused (de)', 'de-smb-refused');
    await setLanguage(page, 'en');
  }, 60_000);

  async function finalRunOf(name: string): Promise<Run> {
    return expectEventually(async () => {
      const { body } = await e.api.request<{ items: Run[] }>('GET', '/api/v1/runs?limit=50');
      const run = body.items.find((r) => r.configurationName === name);
      if (!run || !['succeeded', 'partially_failed', 'failed'].includes(run.status)) return null;
      return (await e.api.request<Run>('GET', `/api/v1/runs/${run.id}`)).body;
    }, { timeoutMs: 90_000, intervalMs: 500, message: `no final run of ${name}` });
  }
});
