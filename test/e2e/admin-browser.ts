/**
 * What the admin UI's browser tests (test/e2e/admin-*.e2e-spec.ts) share: Debian's chromium with
 * a fresh profile, the console errors a page logs, axe-core, screenshots, sign-in, the language,
 * keyboard-only focus, and the error message an input shows beside it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expectEventually } from '@pbx/testing';

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
