// ws-scenarios.mjs: WebSocket messages from C (tests/modules/ws-test-module.c over
// src/io/hostcall/host_ws.c and js/src/ws.mjs), as scenario bodies that run unchanged
// in headless Chromium (tests/browser/ws.test.mjs) and under Node with a
// WebSocket (tests/js/ws.test.mjs, in a child with --experimental-websocket).
// Only standard APIs here (no node: module, no node:assert).
//
// Each scenario is async (env) => void and throws on failure. env:
//   load, TideError, errors  from the package entry under test
//   module                   the ws test module (URL or path)
//   url                      ws://... of tests/shared/ws-server.mjs (echo,
//                            "!" commands)
//   http                     http://... of the same server (GET /stats)
//   refused                  ws://... of a port where nothing listens

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function fmt(v) {
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function eq(got, want, what) {
  if (got !== want) throw new Error(`${what}: got ${fmt(got)}, want ${fmt(want)}`);
}

function eqBytes(got, want, what) {
  if (!(got instanceof Uint8Array)) throw new Error(`${what}: got ${fmt(got)}, want bytes`);
  eq(got.length, want.length, `${what} (length)`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) throw new Error(`${what}: byte ${i} is ${got[i]}, want ${want[i]}`);
  }
}

/* The promise rejects with a TideError whose code is name; returns it. */
async function rejects(p, name, what) {
  let v;
  try {
    v = await p;
  } catch (e) {
    if (e?.name !== 'TideError' || e.code !== name) {
      throw new Error(`${what}: rejected with ${e?.name} ${e?.code}: ${e?.message}, want ${name}`);
    }
    return e;
  }
  throw new Error(`${what}: resolved with ${fmt(v)}, want ${name}`);
}

/* The promise of a call aborted through signal rejects with its reason. */
async function rejectsAbort(p, signal, what) {
  let v;
  try {
    v = await p;
  } catch (e) {
    if (e !== signal.reason) {
      throw new Error(`${what}: rejected with ${e?.name} ${e?.code}: ${e?.message}, want the abort's reason`);
    }
    return e;
  }
  throw new Error(`${what}: resolved with ${fmt(v)}, want the abort's reason`);
}

async function until(pred, what, ms = 10_000) {
  const t0 = Date.now();
  while (!(await pred())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const serverStats = async (env) => (await fetch(`${env.http}/stats`, { cache: 'no-store' })).json();

/* A runtime on the ws module with its setup run; errors the C side reports
 * are collected in rt.errs. */
async function open(env) {
  const errs = [];
  const rt = await env.load(env.module, { stdout: () => {}, stderr: (l) => errs.push(l) });
  rt.errs = errs;
  eq(await rt.main(['ws']), 0, 'setup');
  return rt;
}

/* C let go of every socket, and the loop frees cleanly. */
async function finish(rt) {
  eq((await rt.call('ws_stats')).open, 0, 'sockets left open in C');
  eq(rt.close(), 0, 'rt.close() (EBUSY: something still registered)');
  eq(rt.errs.length, 0, `errors reported: ${rt.errs.join(' | ')}`);
}

/* A runtime whose WebSockets are recorded (made: every WebSocket the host
 * constructed for it), to check what became of them: the host looks the class
 * up when the runtime is made. */
async function openRecording(env) {
  const Base = globalThis.WebSocket;
  const made = [];
  class Recording extends Base {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  }
  globalThis.WebSocket = Recording;
  try {
    return { rt: await open(env), made };
  } finally {
    globalThis.WebSocket = Base;
  }
}

/* WebSocket.CLOSING, WebSocket.CLOSED */
const CLOSING = 2;
const CLOSED = 3;

/* Run body(rt) on a fresh runtime, closing it also when body throws. */
async function withRuntime(env, body) {
  const rt = await open(env);
  try {
    await body(rt);
    await finish(rt);
  } finally {
    rt.close();
  }
}

export const scenarios = {
  async 'echo: a text message goes out and comes back, UTF-8 intact'(env) {
    await withRuntime(env, async (rt) => {
      eq(await rt.call('ws_echo', [env.url, 'hello, WebSocket']), 'hello, WebSocket', 'echo');
      const text = 'héllo ✓ 😀 \u{10FFFF}';
      eq(await rt.call('ws_echo', [env.url, text]), text, 'non-ASCII echo');
      eq(await rt.call('ws_echo', [env.url, '']), '', 'an empty text message');
    });
  },

  async 'step by step: text and binary keep their kind, every length form'(env) {
    await withRuntime(env, async (rt) => {
      const s = await rt.call('ws_connect', [env.url]);
      eq(await rt.call('ws_send', [s, 'héllo']), 6, 'text send: the UTF-8 length');
      eq(await rt.call('ws_recv', [s]), 'héllo', 'text');
      const bin = new Uint8Array([0, 1, 2, 255, 128, 0]);
      eq(await rt.call('ws_send', [s, bin]), 6, 'binary send');
      eqBytes(await rt.call('ws_recv', [s]), bin, 'binary');
      eq(await rt.call('ws_send', [s, new Uint8Array(0)]), 0, 'empty binary send');
      eqBytes(await rt.call('ws_recv', [s]), new Uint8Array(0), 'empty binary');
      /* The kind is what C says, not what the bytes look like. */
      await rt.call('ws_send', [s, 'abc', 1]);
      eqBytes(await rt.call('ws_recv', [s]), new Uint8Array([97, 98, 99]), 'a string sent binary');
      await rt.call('ws_send', [s, new Uint8Array([120, 121, 122]), 0]);
      eq(await rt.call('ws_recv', [s]), 'xyz', 'bytes sent as text');
      /* 125, 126 and 65535 bytes: the last 7-bit length and both ends of the
       * 16-bit form; 65536: the first 64-bit one. */
      for (const n of [125, 126, 2000, 65535, 65536]) {
        const b = new Uint8Array(n).map((_, i) => (i * 7) & 255);
        eq(await rt.call('ws_send', [s, b]), n, `send ${n}`);
        eqBytes(await rt.call('ws_recv', [s]), b, `${n} bytes`);
      }
      const long = 'y'.repeat(70_000);
      await rt.call('ws_send', [s, long]);
      eq(await rt.call('ws_recv', [s]), long, 'a 70000-byte text');
      /* Text that is not UTF-8 is refused in C, at once. */
      eq(await rt.call('ws_send_invalid_utf8', [s]), env.errors.EINVAL, 'invalid UTF-8');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  async 'a binary message of 200 KiB makes the round trip whole'(env) {
    await withRuntime(env, async (rt) => {
      eq(await rt.call('ws_roundtrip', [env.url, 200 * 1024]), 200 * 1024, 'round trip');
    });
  },

  async 'a 3 MiB message: the send waits for the buffer, the echo comes back'(env) {
    await withRuntime(env, async (rt) => {
      const n = 3 << 20;
      const s = await rt.call('ws_connect', [env.url]);
      const b = new Uint8Array(n).map((_, i) => i % 253);
      eq(await rt.call('ws_send', [s, b]), n, 'send');
      eqBytes(await rt.call('ws_recv', [s, n]), b, 'echo');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  async '1000 small messages arrive in order'(env) {
    await withRuntime(env, async (rt) => {
      eq(await rt.call('ws_many', [env.url, 1000]), 1000, 'messages');
    });
  },

  async 'a ping from the server is answered'(env) {
    await withRuntime(env, async (rt) => {
      const s = await rt.call('ws_connect', [env.url]);
      await rt.call('ws_send', [s, '!ping tide']);
      eq(await rt.call('ws_recv', [s]), 'pong tide', 'the server got its pong');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  async 'the server closes with 1000: the messages first, then EOF for good'(env) {
    await withRuntime(env, async (rt) => {
      const s = await rt.call('ws_connect', [env.url]);
      await rt.call('ws_send', [s, '!send first']);
      await rt.call('ws_send', [s, '!close 1000 bye']);
      eq(await rt.call('ws_recv', [s]), 'first', 'the message before the close');
      await rejects(rt.call('ws_recv', [s]), 'EOF', 'after a close with 1000');
      await rejects(rt.call('ws_recv', [s]), 'EOF', 'and again');
      await rejects(rt.call('ws_send', [s, 'late']), 'ECLOSED', 'a send after the close');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  async 'a send without a future that fails is reported'(env) {
    await withRuntime(env, async (rt) => {
      const s = await rt.call('ws_connect', [env.url]);
      await rt.call('ws_send', [s, '!close 1000']);
      /* C has not received, so it does not know yet: the host refuses. */
      await sleep(100);
      eq(await rt.call('ws_send_nowait', [s, 'too late']), 0, 'the send was taken');
      await until(() => rt.errs.length > 0, 'the report');
      const report = rt.errs.join('\n');
      if (!/WebSocket send failed/.test(report) || !/closing or closed/.test(report)) {
        throw new Error(`unexpected report: ${rt.errs.join(' | ')}`);
      }
      rt.errs.length = 0;
      await rejects(rt.call('ws_recv', [s]), 'EOF', 'the close');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  async 'the server closes with another code: ECONNRESET'(env) {
    await withRuntime(env, async (rt) => {
      const s = await rt.call('ws_connect', [env.url]);
      await rt.call('ws_send', [s, '!close 4001 go away']);
      const e = await rejects(rt.call('ws_recv', [s]), 'ECONNRESET', 'after a close with 4001');
      if (!/4001/.test(e.message)) throw new Error(`the message names no code: ${e.message}`);
      await rejects(rt.call('ws_recv', [s]), 'ECONNRESET', 'and again');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  async 'the server drops the TCP connection: ECONNRESET'(env) {
    await withRuntime(env, async (rt) => {
      const s = await rt.call('ws_connect', [env.url]);
      const pending = rt.call('ws_recv', [s]);
      await rt.call('ws_send', [s, '!drop']);
      await rejects(pending, 'ECONNRESET', 'a receive waiting when the connection went');
      await rejects(rt.call('ws_recv', [s]), 'ECONNRESET', 'and the next one');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  async 'connect failures: ECONNREFUSED, EINVAL'(env) {
    await withRuntime(env, async (rt) => {
      await rejects(rt.call('ws_connect', [env.refused]), 'ECONNREFUSED', 'no server on the port');
      await rejects(rt.call('ws_connect', [`${env.url}reject`]), 'ECONNREFUSED',
        'a handshake the server refuses (HTTP 403)');
      await rejects(rt.call('ws_connect', ['ws://127.0.0.1:99999/']), 'EINVAL', 'a bad URL');
      await rejects(rt.call('ws_connect', ['']), 'EINVAL', 'an empty URL');
    });
  },

  async 'a cancelled receive loses nothing'(env) {
    await withRuntime(env, async (rt) => {
      const s = await rt.call('ws_connect', [env.url]);
      /* 1. A receive waiting on the host, cancelled from JS: the message that
       * comes later waits for the next receive. */
      const ac = new AbortController();
      const p = rt.call('ws_recv', [s], { signal: ac.signal });
      await sleep(30);
      ac.abort();
      await rejectsAbort(p, ac.signal, 'the cancelled receive');
      await rt.call('ws_send', [s, '!send queued']);
      await sleep(30);
      eq(await rt.call('ws_recv', [s]), 'queued', 'the next receive');

      /* 2. The host answered at once with a queued message, and the cancel
       * comes before that answer reached C (it is dropped): the host puts the
       * message back in front. A receive pending on a second socket keeps an
       * operation in flight, so the answer waits for the next macrotask tick
       * (to be batched: scheduler.mjs kick) and the cancel, queued as a
       * microtask, comes first. */
      const s2 = await rt.call('ws_connect', [env.url]);
      const holdAc = new AbortController();
      const held = rt.call('ws_recv', [s2], { signal: holdAc.signal }).catch((e) => e);
      await sleep(30);
      await rt.call('ws_send', [s, '!send raced']);
      await rt.call('ws_send', [s, '!send after']);
      await sleep(50);
      const ac2 = new AbortController();
      let seen = 0;
      rt._onHostCall = (_op, name) => {
        if (name !== 'tideloop:ws_recv') return;
        seen++;
        queueMicrotask(() => ac2.abort());
      };
      await rejectsAbort(rt.call('ws_recv', [s], { signal: ac2.signal }), ac2.signal,
        'the raced receive');
      rt._onHostCall = undefined;
      eq(seen, 1, 'host receives started');
      eq(await rt.call('ws_recv', [s]), 'raced', 'the dropped message, back in front');
      eq(await rt.call('ws_recv', [s]), 'after', 'then the one after it');
      holdAc.abort();
      eq(await held, holdAc.signal.reason, 'the held receive, cancelled');
      eq(await rt.call('ws_close', [s2]), 0, 'close the second socket');

      /* 3. The answer reached C, and the receive is cancelled before its
       * future completed: C holds the message for the next receive. */
      rt.register('sync', () => 1);
      await rt.call('ws_send', [s, '!send held']);
      await rt.call('ws_send', [s, '!send later']);
      await sleep(50);
      eq(await rt.call('recv_behind_sync', [s]), -1, 'cancelled after its answer reached C');
      eq(await rt.call('ws_recv', [s]), 'held', 'the message C held');
      eq(await rt.call('ws_recv', [s]), 'later', 'then the host\'s next');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  async 'a message longer than max is EMSGSIZE, and the next one arrives'(env) {
    await withRuntime(env, async (rt) => {
      const s = await rt.call('ws_connect', [env.url]);
      await rt.call('ws_send', [s, '!big 2000']);
      await rt.call('ws_send', [s, '!send next']);
      await rejects(rt.call('ws_recv', [s, 1000]), 'EMSGSIZE', 'a 2000-byte message, max 1000');
      eq(await rt.call('ws_recv', [s, 1000]), 'next', 'the next message');
      /* The limit counts the message's bytes: exactly max fits. */
      await rt.call('ws_send', [s, '!big 1000']);
      eq((await rt.call('ws_recv', [s, 1000])).length, 1000, 'exactly max');
      /* The default limit is 1 MiB. */
      await rt.call('ws_send', [s, `!big ${(1 << 20) + 1}`]);
      await rejects(rt.call('ws_recv', [s]), 'EMSGSIZE', 'over the default limit');
      eq(await rt.call('ws_close', [s]), 0, 'close');
    });
  },

  /* What the engine does with a handshake it was told to abandon is its
   * business: Chromium keeps the TCP connection open (even past the server's
   * answer), and Node 20's WebSocket stays CLOSING for good. So what is checked
   * is that the host closed the WebSocket: CLOSING or CLOSED. */
  async 'a cancelled connect closes the half-open socket'(env) {
    const { rt, made } = await openRecording(env);
    try {
      const base = (await serverStats(env)).open;
      const ac = new AbortController();
      const p = rt.call('ws_connect', [`${env.url}slow`], { signal: ac.signal });
      await until(async () => (await serverStats(env)).open === base + 1, 'the handshake to start');
      ac.abort();
      await rejectsAbort(p, ac.signal, 'the cancelled connect');
      eq(made.length, 1, 'WebSockets made');
      await until(() => made[0].readyState >= CLOSING, 'the WebSocket to be closed');
      eq((await rt.call('ws_stats')).racedClosed, 0, 'no connect won the race');
      await finish(rt);
    } finally {
      rt.close();
    }
  },

  async 'rt.close() closes every socket C left open'(env) {
    const { rt, made } = await openRecording(env);
    try {
      const base = (await serverStats(env)).open;
      for (let i = 0; i < 3; i++) await rt.call('ws_connect', [env.url]);
      eq((await rt.call('ws_stats')).open, 3, 'open in C');
      eq((await serverStats(env)).open, base + 3, 'open at the server');
      /* A receive in flight is aborted too. */
      const pending = rt.call('ws_recv', [0]).catch((e) => e);
      rt.close();
      eq((await pending)?.code, 'ECANCELED', 'the pending receive');
      await until(() => made.every((w) => w.readyState === CLOSED), 'the WebSockets to close');
      await until(async () => (await serverStats(env)).open === base, 'the connections to close');
    } finally {
      rt.close();
    }
  },
};
