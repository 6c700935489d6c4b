// keepalive.test.mjs: Node keeps a process alive exactly while the C loop has
// referenced work, as natively. Each case runs in a child `node` process;
// timing checks are generous (CI machines are slow), and only the direction
// matters: "stayed until the timer fired" or "left at once".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { requireModule, NODE_ENTRY, WEB_ENTRY } from './helpers.mjs';

/* Run an ES module body in a child; resolves {code, stdout, stderr, ms}. The
 * body sees `load`, `mark()` (ms since start) and MODULE. */
function child(body, { entry = NODE_ENTRY, timeout = 20000 } = {}) {
  const src = `
    import { load } from ${JSON.stringify(entry)};
    const t0 = performance.now();
    const mark = () => Math.round(performance.now() - t0);
    const MODULE = ${JSON.stringify(requireModule())};
    process.on('exit', () => console.log('EXIT ' + mark()));
    ${body}
  `;
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', src], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`child did not exit within ${timeout} ms: ${stdout} ${stderr}`));
    }, timeout);
    p.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n');
      const exitLine = lines.find((l) => l.startsWith('EXIT '));
      resolve({ code, stdout: lines.filter((l) => !l.startsWith('EXIT ')), stderr,
        exitMs: exitLine ? Number(exitLine.slice(5)) : NaN });
    });
  });
}

test('a pending C timer keeps the process alive until it fires', async () => {
  const r = await child(`
    const rt = await load(MODULE);
    await rt.main(['t']);
    const ready = mark();
    rt.call('sleep_then', [400, 'fired']).then((v) => console.log(v, mark() - ready));
  `);
  assert.equal(r.code, 0, r.stderr);
  const [word, ms] = r.stdout.at(-1).split(' ');
  assert.equal(word, 'fired', 'the process stayed alive for the timer');
  assert.ok(Number(ms) >= 350, `fired after ${ms} ms`);
});

test('rt.main resolves with the exit code once no referenced work is left', async () => {
  const r = await child(`
    const rt = await load(MODULE);
    process.exitCode = await rt.main(['prog', '5', 'line one', 'line two']);
  `);
  assert.equal(r.code, 5, r.stderr);
  assert.deepEqual(r.stdout, ['5', 'line one', 'line two']);
});

test('when the loop has nothing referenced left, the process exits at once', async () => {
  const r = await child(`
    const rt = await load(MODULE);
    await rt.main(['t']);
    console.log(await rt.call('sleep_then', [50, 'done']));
    console.log('idle ' + mark());
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout[0], 'done');
  const idle = Number(r.stdout[1].split(' ')[1]);
  assert.ok(r.exitMs - idle < 1000, `lingered ${r.exitMs - idle} ms after the work was done`);
});

test('a cancelled long C timer no longer keeps the process alive', async () => {
  const r = await child(`
    const rt = await load(MODULE);
    await rt.main(['t']);
    const ac = new AbortController();
    rt.call('spin_cancel', [], { signal: ac.signal }).catch((e) => console.log(e.name + ' ' + mark()));
    setTimeout(() => ac.abort(), 100);
  `);
  assert.equal(r.code, 0, r.stderr);
  const [name, at] = r.stdout.at(-1).split(' ');
  assert.equal(name, 'AbortError');
  assert.ok(r.exitMs - Number(at) < 1000, `lingered ${r.exitMs - Number(at)} ms`);
});

test('a pending host function keeps the process alive through its own I/O', async () => {
  const r = await child(`
    const rt = await load(MODULE);
    await rt.main(['t']);
    rt.register('later', () => new Promise((res) => setTimeout(() => res('host done'), 300)));
    rt.call('call_host_any', ['later']).then((v) => console.log(v));
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.at(-1), 'host done');
});

test('the default (browser) entry under Node leaves nothing open either', async () => {
  const r = await child(`
    const { readFileSync } = await import('node:fs');
    const bytes = new Uint8Array(readFileSync(MODULE));
    const rt = await load(bytes, { stdout: () => {}, stderr: () => {} });
    await rt.main(['t']);
    console.log(await rt.call('sleep_then', [20, 'web ok']));
    console.log('idle ' + mark());
  `, { entry: WEB_ENTRY });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout[0], 'web ok');
  const idle = Number(r.stdout[1].split(' ')[1]);
  assert.ok(r.exitMs - idle < 1000, `lingered ${r.exitMs - idle} ms (an open MessagePort?)`);
});

test('only an unref\'d C timer: the process exits without waiting for it', async (t) => {
  /* Needs a coroutine that starts an unref'd timer and returns at once:
   * unref_timer(ms) (prints "unref fired" if it ever fires). */
  const r = await child(`
    const rt = await load(MODULE);
    await rt.main(['t']);
    try {
      await rt.call('unref_timer', [5000]);
      console.log('started ' + mark());
    } catch (e) {
      console.log(e.code);
    }
  `);
  if (r.stdout.at(-1) === 'ENOENT') {
    t.skip('the test module has no unref_timer coroutine');
    return;
  }
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('unref fired'));
  const started = Number(r.stdout.at(-1).split(' ')[1]);
  assert.ok(r.exitMs - started < 2000, `waited ${r.exitMs - started} ms for an unref'd timer`);
});
