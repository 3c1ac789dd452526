// Browser tests: Debian's Chromium driven by playwright-core, against a stack started by the test.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { servicesRequired } from '@wallet/testkit';

const root = new URL('../../', import.meta.url).pathname;
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const screenshotDir = join(root, 'docs', 'screenshots');
const screenshots = process.env.WALLET_SCREENSHOTS === '1';

/** Skip without Chromium, unless CI requires everything (then it is a failure). */
export function needsChromium(): { skip: string | false } {
  if (existsSync(chromiumPath)) return { skip: false };
  if (servicesRequired) throw new Error(`browser tests need Chromium at ${chromiumPath} (WALLET_REQUIRE_SERVICES=1): apt-get install -y chromium`);
  return { skip: `no Chromium at ${chromiumPath}` };
}

const web = join(root, 'apps', 'web');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function upToDate(): boolean {
  const built = join(web, 'dist', 'index.html');
  if (!existsSync(built)) return false;
  const sources = Math.max(newestSource(join(web, 'src')), ...['index.html', 'vite.config.ts', 'package.json'].map((f) => statSync(join(web, f)).mtimeMs));
  return statSync(built).mtimeMs >= sources;
}

/**
 * The app as the gateway serves it, built from the current source when the build is older. Test
 * files run in parallel and a build empties dist/ first, so one builds at a time (a lock file) and
 * a fresh build is left alone while another file's gateway serves it.
 */
export async function buildWebApp(): Promise<void> {
  const lock = join(web, '.build.lock');
  for (let waited = 0; ; waited += 200) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch {
      if (waited > 120_000) throw new Error(`${lock} held for two minutes: remove it if no build is running`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    if (upToDate()) return;
    const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
    const result = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], { cwd: web, stdio: 'inherit' });
    if (result.status !== 0) throw new Error('the web app did not build');
  } finally {
    unlinkSync(lock);
  }
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Playwright gives every launch a fresh, temporary user-data-dir.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false };
export const desktop = { viewport: { width: 1024, height: 800 }, deviceScaleFactor: 1 };

export async function newPage(browser: Browser, baseURL: string, options: Parameters<Browser['newContext']>[0] = phone): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ...options, baseURL, acceptDownloads: true, locale: 'en-US', timezoneId: 'UTC' });
  context.setDefaultTimeout(15_000);
  return { context, page: await context.newPage() };
}

/** Nothing wider than the screen: on a phone the page never scrolls sideways. */
export async function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate('document.documentElement.scrollWidth <= window.innerWidth') as Promise<boolean>;
}

/** Saved under docs/screenshots/ only when WALLET_SCREENSHOTS=1, so test runs leave the tree clean. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!screenshots) return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
}
