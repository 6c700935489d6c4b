// harness.mjs: shared by the browser suites (not a test itself). One driver for
// both engines: puppeteer-core (pinned in package-lock.json; it never downloads a
// browser here) launches Debian's /usr/bin/chromium over CDP and Debian's
// /usr/bin/firefox-esr over WebDriver BiDi, so the suites use one page API.
// (playwright-core cannot drive stock Firefox: docs/TOOLCHAIN.md.)
//
// A suite registers its tests once per engine, each named after it:
//
//   forEachEngine((engine) => {
//     const s = pageSuite(engine, '/tests/browser/pages/x.html'); // s.h, s.page
//     test(`[${engine}] ...`, async () => { await s.page.evaluate(...); });
//   });
//
// Every engine runs by default; TIDE_BROWSERS=firefox (or chromium, or a comma
// list) narrows it for a local run. A missing browser is a failing test of its
// engine, never a skip. Screenshots go to build/browser-artifacts/<engine>/.
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, before, after, test } from 'node:test';
import puppeteer from 'puppeteer-core';
import { startServer, BUILD, ROOT } from './server.mjs';

export const ARTIFACTS = resolve(ROOT, 'build/browser-artifacts');
const VIEWPORT = { width: 1200, height: 800 };

/* Launch options per engine. puppeteer gives each launch a fresh temporary
 * profile; its Firefox profile points Mozilla's services at a dummy host, so
 * the only traffic is to the suite's servers on 127.0.0.1. */
export const ENGINES = {
  chromium: {
    name: 'Chromium',
    executable: process.env.TIDE_CHROMIUM ?? '/usr/bin/chromium',
    install: 'bash scripts/ensure-deps.sh chromium',
    launch: (executablePath) => ({
      browser: 'chrome',
      executablePath,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    }),
  },
  firefox: {
    name: 'Firefox',
    executable: process.env.TIDE_FIREFOX ?? '/usr/bin/firefox-esr',
    install: 'bash scripts/ensure-deps.sh firefox-esr',
    launch: (executablePath) => ({ browser: 'firefox', executablePath }),
  },
};

/** The engines this run covers: all of ENGINES unless TIDE_BROWSERS names some. */
export function selectedEngines() {
  const wanted = (process.env.TIDE_BROWSERS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (wanted.length === 0) return Object.keys(ENGINES);
  for (const e of wanted) {
    if (!(e in ENGINES)) {
      throw new Error(`TIDE_BROWSERS: unknown engine '${e}' (known: ${Object.keys(ENGINES)})`);
    }
  }
  return wanted;
}

/**
 * Registers body(engine) inside a describe() per engine, one after the other.
 * An engine whose browser (or the test module) is missing gets one failing
 * test that says so instead: it fails, it never skips.
 */
export function forEachEngine(body) {
  for (const engine of selectedEngines()) {
    describe(engine, () => {
      const missing = missingPrereq(engine);
      if (missing === null) body(engine);
      else test(`[${engine}] the browser and the test module are there`, () => {
        throw new Error(missing);
      });
    });
  }
}

/* Missing prerequisites fail, they do not skip: a skip would hide every test. */
function missingPrereq(engine) {
  const { executable, install } = ENGINES[engine];
  if (!existsSync(executable)) return `${executable} is missing: ${install}`;
  const module = resolve(BUILD, 'tests/modules/tide-test-module.wasm');
  if (!existsSync(module)) {
    return `${module} is missing: bash scripts/test.sh js (or set TIDE_JS_BUILD)`;
  }
  return null;
}

/**
 * Starts the server and launches `engine` ('chromium' | 'firefox'): one browser
 * and one server per suite and engine. Resolves with
 * {engine, name, server, browser, artifacts, open(path), screenshot(page, file), close()}.
 * open() resolves with a puppeteer Page whose console lines and uncaught errors
 * are kept in page.log.
 */
export async function setup(engine) {
  if (!(engine in ENGINES)) throw new Error(`unknown engine '${engine}'`);
  const missing = missingPrereq(engine);
  if (missing !== null) throw new Error(missing);
  const artifacts = resolve(ARTIFACTS, engine);
  mkdirSync(artifacts, { recursive: true });
  const server = await startServer();
  let browser;
  try {
    browser = await puppeteer.launch({
      ...ENGINES[engine].launch(ENGINES[engine].executable),
      headless: true,
      defaultViewport: VIEWPORT,
      timeout: 60_000,
    });
  } catch (e) {
    await server.close();
    throw new Error(`launching ${ENGINES[engine].executable}: ${e.message}`);
  }
  /* The tab the browser opened with: drive it rather than open another, so
   * the page under test is the only (and so the foreground) tab, which the
   * engines render at full rate. */
  let spare = (await browser.pages())[0];
  return {
    engine,
    name: ENGINES[engine].name,
    server,
    browser,
    artifacts,
    async open(path) {
      const page = spare ?? await browser.newPage();
      spare = undefined;
      const log = [];
      page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => log.push(`[pageerror] ${e?.stack ?? e}`));
      page.log = log;
      await page.setViewport(VIEWPORT); /* the first tab missed defaultViewport in Firefox */
      await page.bringToFront();
      await page.goto(server.url + path);
      return page;
    },
    /** Saves a PNG of `page` as build/browser-artifacts/<engine>/<file>. */
    screenshot(page, file) {
      return page.screenshot({ path: resolve(artifacts, file) });
    },
    async close() {
      await browser.close().catch(() => {});
      await server.close();
    },
  };
}

/**
 * Registers, in the current describe(), a before() that launches `engine`
 * (setup) and opens `path` until `ready` holds in the page (window.ready ===
 * true by default), and an after() that closes the browser and the server.
 * Returns {h, page}, filled in by that before(): one browser per suite and
 * engine, one page that the suite's tests share.
 */
export function pageSuite(engine, path, ready = () => window.ready === true) {
  const s = { h: null, page: null };
  before(async () => {
    s.h = await setup(engine);
    s.page = await s.h.open(path);
    await waitFor(s.page, ready, null, `[${engine}] ${path} ready`);
  });
  after(() => s.h?.close());
  return s;
}

/**
 * page.waitForFunction(fn, arg) with the page's console in the error: `what`
 * names what was awaited. fn runs in the page (polled on every frame).
 */
export function waitFor(page, fn, arg, what, timeout = 20_000) {
  return page.waitForFunction(fn, { timeout }, arg).catch((e) => {
    throw new Error(`${what}: ${e.message}\n--- page console:\n${page.log.join('\n')}`);
  });
}
