// harness.mjs: shared by the browser suites (not a test itself). Starts the
// server, launches Debian's /usr/bin/chromium through playwright-core (never
// `playwright install`), and opens pages whose console and errors are kept.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, BUILD, ROOT } from './server.mjs';

export const CHROMIUM = process.env.TIDE_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve(ROOT, 'build/browser-artifacts');
export const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/* Missing prerequisites fail, they do not skip: a skip would hide every test. */
function requirePrereqs() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: bash scripts/ensure-deps.sh chromium`);
  }
  const module = resolve(BUILD, 'tests/modules/tide-test-module.wasm');
  if (!existsSync(module)) {
    throw new Error(`${module} is missing: bash scripts/test.sh js (or set TIDE_JS_BUILD)`);
  }
}

/** {server, browser, open(path), close()}: one browser, one server per suite. */
export async function setup() {
  requirePrereqs();
  mkdirSync(ARTIFACTS, { recursive: true });
  const server = await startServer();
  /* launch() gives each run a fresh temporary profile (--user-data-dir). */
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timeout: 60_000,
  });
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const pages = [];
  return {
    server,
    browser,
    async open(path) {
      const page = await context.newPage();
      const log = [];
      page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => log.push(`[pageerror] ${e.stack ?? e}`));
      page.log = log;
      pages.push(page);
      await page.goto(server.url + path);
      return page;
    },
    async close() {
      await browser.close().catch(() => {});
      await server.close();
    },
  };
}
