/**
 * What the admin UI's browser tests (test/e2e/admin-*.e2e-spec.ts) share: the suite's frame (env,
 * seeded PBX, apps, browser, the checks after each test, clean-up), Debian's chromium with a fresh
 * profile, the console errors a page logs, axe-core, screenshots, sign-in, the language,
 * keyboard-only focus, the error message an input shows beside it, and the SFTP form confirmed
 * against the test sshd.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { seedPbx, type SeedPbxOptions } from '@pbx/pbx-source';
import { expectEventually, peers, repoRoot, sftpHostKeyFingerprint, testUrls } from '@pbx/testing';
import { createE2eEnv, type E2eEnv } from './e2e-env';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** localStorage key of the UI's language choice (apps/admin/src/i18n). */
const LANGUAGE_KEY = 'pbx-admin-language';

export interface AdminBrowser {
  context: BrowserContext;
  page: Page;
  /** Errors the page logged (CSP violations, React errors, uncaught exceptions) since the last call. */
  takeErrors(): string[];
  close(): Promise<void>;
}

/**
 * Chromium with a fresh profile (no cached token, language or service worker from an earlier
 * run), en-US, 1280×900, collecting the page's console errors.
 */
export async function launchAdminBrowser(name: string, options: { acceptDownloads?: boolean } = {}): Promise<AdminBrowser> {
  const profile = mkdtempSync(join(tmpdir(), `pbx-${name}-chromium-`));
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, locale: 'en-US', viewport: { width: 1280, height: 900 }, ...options });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    // A 4xx the test provokes is logged by the browser as a failed resource: not an app error.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return {
    context,
    page,
    takeErrors: () => errors.splice(0),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** axe-core's serious and critical violations on the page as it is, each named with `where`. */
export async function seriousA11yViolations(page: Page, where: string): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${where}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * The whole page from its top (scrolled down, the fixed header would be drawn mid-picture),
 * after CSS transitions have ended (the stepper animates its icons).
 */
export async function screenshot(page: Page, path: string): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
  // Endless ones (a running progress bar's stripes) are left moving; a page that keeps changing (a live run) is taken as it is.
  const atRest = () =>
    (globalThis as unknown as { document: { getAnimations(): Array<{ playState: string; effect: { getComputedTiming(): { iterations?: number } } | null }> } }).document
      .getAnimations()
      .every((a) => a.playState !== 'running' || a.effect?.getComputedTiming().iterations === Infinity);
  await page.waitForFunction(atRest, undefined, { timeout: 5_000 }).catch(() => undefined);
  await page.screenshot({ path, fullPage: true });
}

/** The UI's language from the next page load on (the choice the language switch remembers). */
export async function setLanguage(page: Page, language: 'en' | 'de'): Promise<void> {
  await page.evaluate(([key, lng]) => (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(key, lng), [LANGUAGE_KEY, language] as const);
}

/** Signs in with `token` in English; the list page is shown (the token stays in this tab's sessionStorage). */
export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/`);
  await setLanguage(page, 'en');
  await page.goto(`${base}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Backup configurations' }).waitFor();
}

/** Presses Tab until `target` has the focus (keyboard only, as a user would). */
export async function tabUntilFocused(page: Page, target: Locator, max = 40): Promise<void> {
  await target.waitFor({ state: 'attached', timeout: 10_000 });
  for (let i = 0; i < max; i += 1) {
    if (await target.evaluate((el) => el === (el.ownerDocument as { activeElement: unknown }).activeElement).catch(() => false)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${target.toString()}`);
}

/**
 * The error message an input shows beside it: the input is marked invalid and names the
 * message's element in aria-describedby (Mantine's `<label>-error`), so a screen reader reads
 * it with the field.
 */
export async function errorBeside(page: Page, field: Locator): Promise<string> {
  await expectEventually(async () => (await field.getAttribute('aria-invalid')) === 'true', { timeoutMs: 10_000, message: `${field.toString()} was not marked invalid` });
  const described = (await field.getAttribute('aria-describedby')) ?? '';
  const id = described.split(' ').find((d) => d.includes('error'));
  if (!id) throw new Error(`${field.toString()} names no error message (aria-describedby="${described}")`);
  const message = page.locator(`[id="${id}"]`);
  await message.waitFor();
  return (await message.textContent()) ?? '';
}

/** The SFTP form in `form` (the wizard's step 3 or the Add destination dialog) filled for the test sshd, its host key confirmed. */
export async function fillSftpConfirmingHostKey(form: Page | Locator, path: string, submitLabel: string): Promise<void> {
  await form.getByRole('radio', { name: 'SFTP' }).click();
  await form.getByLabel('User').fill(peers.sftp.username);
  await form.getByRole('textbox', { name: 'Password' }).fill(peers.sftp.password);
  await form.getByLabel('Server').fill(peers.host);
  await form.getByLabel('Port').fill(String(peers.sftp.port));
  await form.getByLabel('Path').fill(path);
  // Submitted without a confirmed key, the form asks for it; Test connection shows the key.
  await form.getByRole('button', { name: submitLabel }).click();
  await form.getByText("Confirm the server's host key").first().waitFor();
  await form.getByRole('button', { name: 'Test connection' }).click();
  const box = form.getByTestId('host-key-fingerprint');
  await box.waitFor();
  await expect(box.textContent()).resolves.toBe(sftpHostKeyFingerprint());
  await form.getByLabel('I have checked this fingerprint; trust this server').check();
}

/** What an admin spec drives, once the suite's beforeAll has run. */
export interface AdminSuite {
  e: E2eEnv;
  /** The api's origin: it serves the UI. */
  base: string;
  browser: AdminBrowser;
  page: Page;
  context: BrowserContext;
}

export interface AdminSuiteOptions {
  /** Names the suite's env (schemas, folders) and its browser profile. */
  name: string;
  /** Screenshots go to tmp/<shots>/. */
  shots: string;
  /** The apps' environment on top of the e2e defaults, read when the suite starts. */
  env?: () => Record<string, string>;
  seed: Omit<SeedPbxOptions, 'databaseUrl' | 'schema' | 'dataDir'>;
  acceptDownloads?: boolean;
  /** Whether the browser signs in as admin, in English, before the tests (default true). */
  signIn?: boolean;
  timeoutMs?: number;
  /** Hands the spec its handles once they exist. */
  ready(suite: AdminSuite): void;
}

/**
 * The frame of every admin browser spec, as jest hooks: call it in the describe before the spec's
 * own hooks, so theirs run after the suite is up and before it is torn down. beforeAll: the env,
 * the seeded PBX, the apps, chromium (signed in unless `signIn: false`); after each test, the page
 * has logged no error (CSP violations and React errors show up here); afterAll, the browser is
 * closed, then the env torn down. Returns the page's screenshot (`shot`, into tmp/<shots>/) and
 * axe-core check.
 */
export function adminSuite(options: AdminSuiteOptions): { shot(name: string): Promise<void>; noSeriousA11yViolations(where: string): Promise<void> } {
  const shots = join(repoRoot, 'tmp', options.shots);
  let e: E2eEnv | undefined;
  let browser: AdminBrowser | undefined;
  const page = (): Page => {
    if (!browser) throw new Error('the admin suite has not started');
    return browser.page;
  };

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    e = await createE2eEnv(options.name, options.env?.());
    await seedPbx({ databaseUrl: testUrls.database, schema: e.pbxSchema, dataDir: e.env.PBX_DATA_DIR, ...options.seed });
    await e.start();
    const base = e.stack.apiUrl;
    browser = await launchAdminBrowser(options.name, options.acceptDownloads ? { acceptDownloads: true } : {});
    if (options.signIn ?? true) await signIn(browser.page, base, e.admin);
    options.ready({ e, base, browser, page: browser.page, context: browser.context });
  }, options.timeoutMs ?? 180_000);

  afterAll(async () => {
    await browser?.close();
    await e?.teardown();
  });

  afterEach(() => {
    expect(browser?.takeErrors()).toEqual([]);
  });

  return {
    shot: (name) => screenshot(page(), join(shots, `${name}.png`)),
    async noSeriousA11yViolations(where) {
      expect(await seriousA11yViolations(page(), where)).toEqual([]);
    },
  };
}
