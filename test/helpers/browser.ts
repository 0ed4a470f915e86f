import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { ROOT } from './process.js';

/** Debian's Chromium (apt-get install chromium), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CONSOLE_DIR = join(ROOT, 'console');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Builds console/dist when it is missing or older than its sources (CI builds it before the tests). */
export function ensureConsoleBuilt(): void {
  const index = join(CONSOLE_DIR, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newest(join(CONSOLE_DIR, 'src'))) return;
  execSync('npm run build:console', { cwd: ROOT, stdio: 'pipe' });
}

/** A headless Chromium with a throw-away profile; `close()` also removes the profile. */
export async function launchChromium(
  viewport = { width: 1280, height: 800 },
): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'sb-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport,
    acceptDownloads: true,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** The console in Chromium: its page, screenshots into `artifacts`, and hash-route navigation. */
export interface ConsoleBrowser {
  context: BrowserContext;
  page: Page;
  /** Saves `<artifacts>/<name>.png`. */
  shot(name: string): Promise<void>;
  /** Opens `#/<hash>` and waits for the page title. */
  goto(hash: string): Promise<void>;
  /** For afterEach: a `failed-<test name>` screenshot when the test failed. */
  shotIfFailed(task: { name: string; result?: { state?: string } }): Promise<void>;
  close(): Promise<void>;
}

export async function openConsole(o: {
  base: string;
  artifacts: string;
  fullPage?: boolean;
}): Promise<ConsoleBrowser> {
  mkdirSync(o.artifacts, { recursive: true });
  const b = await launchChromium();
  const page = b.context.pages()[0] ?? (await b.context.newPage());
  page.setDefaultTimeout(15_000);
  const shot = async (name: string) => {
    await page.screenshot({ path: join(o.artifacts, `${name}.png`), fullPage: o.fullPage ?? false });
  };
  return {
    context: b.context,
    page,
    shot,
    async shotIfFailed(task) {
      if (task.result?.state === 'fail')
        await shot(`failed-${task.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {});
    },
    async goto(hash) {
      await page.goto(`${o.base}/#/${hash}`);
      await page.locator('#page-title').waitFor();
    },
    close: b.close,
  };
}

// Browser-side checks shared by the console's browser tests (strings: the tests are type-checked without
// the DOM library).

/** axe-core's source, injected into the page before AXE_SERIOUS runs. */
export const AXE_SOURCE = (createRequire(import.meta.url)('axe-core') as { source: string }).source;

/** Cut-off text and sideways scrolling: cells and headers narrower than their text, tables wider than the page. */
export const LAYOUT_PROBLEMS = `(() => {
  const out = [];
  const text = (e) => (e ? (e.textContent || '').trim().slice(0, 40) : '');
  if (document.documentElement.scrollWidth > window.innerWidth)
    out.push('page ' + document.documentElement.scrollWidth + 'px wide');
  for (const w of document.querySelectorAll('.table-wrap'))
    if (w.scrollWidth > w.clientWidth + 1) out.push('table scrolls sideways: ' + text(w.querySelector('th')));
  for (const c of document.querySelectorAll('th, td, .badge, .btn, .sidenav a, h1, h2'))
    if (c.offsetParent && c.scrollWidth > c.clientWidth + 1) out.push(c.tagName.toLowerCase() + ' cut: ' + text(c));
  return out;
})()`;

/** axe-core (injected first) on the whole document: the serious and critical violations, with where. */
export const AXE_SERIOUS = `(async () => {
  const r = await window.axe.run(document, { resultTypes: ['violations'] });
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' ' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160)).join(' | '));
})()`;
