// engines.mjs: the two headless browsers, started through puppeteer-core
// (never a browser download): Debian's /usr/bin/chromium over CDP and
// /usr/bin/firefox-esr over WebDriver BiDi. Each start gets a fresh temporary
// profile; everything stays on 127.0.0.1 (docs/TOOLCHAIN.md).
import puppeteer from 'puppeteer-core';
import { BROWSER_EXECUTABLES } from '../driver/browser-workloads.mjs';

export const ENGINES = {
  chromium: {
    title: 'Chromium',
    browser: 'chrome',
    executablePath: BROWSER_EXECUTABLES.chromium.path,
    /* The flags that work as root, offline; a precise performance.memory (else
     * it is rounded to hide cross-site leaks), and gc() so each run starts from a
     * collected heap. */
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--enable-precise-memory-info', '--js-flags=--expose-gc',
    ],
  },
  firefox: {
    title: 'Firefox',
    browser: 'firefox',
    executablePath: BROWSER_EXECUTABLES.firefox.path,
    args: [],
    /* Under the remote agent a page is a debuggee, and Firefox then records an
     * async stack at every await (javascript.options.asyncstack_capture_debuggee_only):
     * several times slower promises than a visitor's Firefox has. */
    prefs: { 'javascript.options.asyncstack': false },
  },
};

/**
 * Start one engine: {name, version, pid, open(url), close()}. open() gives a
 * new page whose console errors and uncaught exceptions are kept in page.log.
 * Tools that explain a figure (v8-flags-probe.mjs, gecko-profile.mjs) may add
 * V8 flags (Chromium's --js-flags) and environment variables (Firefox reads
 * its profiler's settings there); the benchmarks themselves never do.
 */
export async function launch(name, { jsFlags = '', env = {} } = {}) {
  const e = ENGINES[name];
  let args = e.args;
  if (jsFlags) {
    if (!args.some((a) => a.startsWith('--js-flags='))) {
      throw new Error(`${name} takes no V8 flags`);
    }
    args = args.map((a) => (a.startsWith('--js-flags=') ? `${a} ${jsFlags}` : a));
  }
  const browser = await puppeteer.launch({
    browser: e.browser,
    executablePath: e.executablePath,
    headless: true,
    args,
    env: { ...process.env, ...env },
    extraPrefsFirefox: e.prefs,
    timeout: 60_000,
    dumpio: !!process.env.TIDE_BENCH_DUMPIO,
    protocolTimeout: 600_000,
  });
  const version = await browser.version();
  return {
    name,
    title: e.title,
    version,
    pid: browser.process()?.pid,
    async open(url) {
      const page = await browser.newPage();
      page.log = [];
      page.on('console', (m) => {
        if (m.type() === 'error') page.log.push(m.text());
      });
      page.on('pageerror', (err) => page.log.push(String(err?.message ?? err)));
      await page.goto(url);
      return page;
    },
    close: () => browser.close().catch(() => {}),
    /* A browser that no longer answers: kill it (its own process only). */
    kill() {
      try {
        browser.process()?.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    },
  };
}
