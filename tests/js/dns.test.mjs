// dns.test.mjs: tide_resolve on the JS host: the "tideloop:dns_lookup" host
// function (js/src/dns.mjs) and its C half (src/io/hostcall/host_resolve.c), through
// tests/modules/dns-test-module.c. Numeric addresses and localhost are answered in C
// without the host; other names go to dns.lookup, whose errors arrive as
// TideError codes; a host's answer is parsed, deduplicated and filtered in C;
// aborting a call cancels the lookup; in a browser (no DNS function) a name is
// ENOSYS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dns, { promises as dnsPromises } from 'node:dns';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { load, TideError, errors } from '../../js/src/node.mjs';
import { load as loadWeb } from '../../js/src/index.mjs';
import { DNS_LOOKUP, dnsErrorCode, dnsFunctions } from '../../js/src/dns.mjs';
import { MODULE as TEST_MODULE, deferred, until } from './helpers.mjs';

/* Next to the general test module: <build>/tests/modules/ ($TIDE_JS_BUILD, which
 * scripts/test.sh sets, else the directory of $TIDE_TEST_MODULE). */
const MODULE = process.env.TIDE_JS_BUILD
  ? resolve(process.env.TIDE_JS_BUILD, 'tests', 'modules', 'tide-dns-test-module.wasm')
  : join(dirname(TEST_MODULE), 'tide-dns-test-module.wasm');

const isTide = (name, message) => (e) => {
  assert.ok(e instanceof TideError, `expected a TideError, got ${e}`);
  assert.equal(e.name, 'TideError');
  assert.equal(e.code, name);
  assert.equal(e.errno, errors[name]);
  if (message !== undefined) assert.match(e.message, message);
  return true;
};

/* A runtime on the module, setup run; stderr lines collected in `err`. */
async function start(loadFn, source) {
  if (!existsSync(MODULE)) {
    throw new Error(`the DNS test module is missing: ${MODULE} (build the js config: ` +
      'cmake --build <build> --target tide-dns-test-module, or set TIDE_JS_BUILD)');
  }
  const err = [];
  const rt = await loadFn(source, { stdout: () => {}, stderr: (l) => err.push(l) });
  assert.equal(await rt.main(['dns-test-module']), 0);
  return { rt, err };
}

let rt;
let err;
before(async () => {
  ({ rt, err } = await start(load, MODULE));
});
after(() => {
  assert.deepEqual(err, [], 'nothing was reported');
  assert.equal(rt.close(), 0, 'the loop frees cleanly: no lookup left behind');
});

/* Register fn as the DNS host function for one test (a registered function
 * wins over the runtime's own), counting its calls. */
function hostLookup(fn) {
  const spy = { calls: [] };
  rt.register(DNS_LOOKUP, (...args) => {
    spy.calls.push(args.slice(0, -1));
    return fn(...args);
  });
  return spy;
}

/* The runtime's DNS function over node:dns's lookup, registered here until
 * the Node adapter does it by itself (the same function, so registering it
 * again changes nothing). */
function realLookup() {
  for (const [name, fn] of dnsFunctions({ lookup: dns.lookup })) rt.register(name, fn);
}

/* --- dnsFunctions alone ------------------------------------------------------- */

test('dns_lookup: addresses joined by spaces, the options given to dns.lookup', async () => {
  const seen = [];
  const fn = dnsFunctions({
    lookup: (host, options, cb) => {
      seen.push([host, options]);
      cb(null, [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]);
    },
  }).get(DNS_LOOKUP);
  assert.equal(await fn('example.test', 0, {}), '::1 127.0.0.1');
  assert.equal(await fn('example.test', 6, {}), '::1 127.0.0.1');
  assert.deepEqual(seen, [
    ['example.test', { all: true, family: 0, verbatim: true }],
    ['example.test', { all: true, family: 6, verbatim: true }],
  ]);
});

test('dns_lookup: Node error codes become TideError codes, with Node\'s message', async () => {
  const cases = [
    ['ENOTFOUND', 'ENOTFOUND'], ['ENODATA', 'ENOTFOUND'], ['EAI_NONAME', 'ENOTFOUND'],
    ['EAI_NODATA', 'ENOTFOUND'], ['EAI_ADDRFAMILY', 'ENOTFOUND'], ['EAI_AGAIN', 'EAGAIN'],
    ['EAI_MEMORY', 'ENOMEM'], ['EAI_FAIL', 'EIO'], ['ESERVFAIL', 'EIO'], [undefined, 'EIO'],
  ];
  for (const [code, name] of cases) {
    const fn = dnsFunctions({
      lookup: (host, options, cb) => cb(Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code })),
    }).get(DNS_LOOKUP);
    await assert.rejects(fn('x.test', 0, {}), isTide(name, new RegExp(`getaddrinfo ${code} x\\.test`)));
    assert.equal(dnsErrorCode({ code }), errors[name]);
  }
});

test('dns_lookup: bad arguments are EINVAL; dnsFunctions needs a lookup', () => {
  assert.throws(() => dnsFunctions(), TypeError);
  const fn = dnsFunctions({ lookup: () => assert.fail('not called') }).get(DNS_LOOKUP);
  assert.throws(() => fn('', 0, {}), isTide('EINVAL'));
  assert.throws(() => fn(42, 0, {}), isTide('EINVAL'));
  assert.throws(() => fn('x.test', 5, {}), isTide('EINVAL'));
  assert.throws(() => fn('x.test', '4', {}), isTide('EINVAL'));
});

test('dns_lookup with Node\'s real resolver: localhost, and a name that does not exist', async () => {
  const fn = dnsFunctions({ lookup: dns.lookup }).get(DNS_LOOKUP);
  const local = (await fn('localhost', 0, {})).split(' ');
  assert.ok(local.length >= 1);
  for (const a of local) assert.ok(a === '::1' || a.startsWith('127.'), a);
  /* The reserved .invalid TLD never resolves; without a network some
   * resolvers report a temporary failure instead. */
  await assert.rejects(fn('nonexistent.invalid', 0, {}), (e) => {
    assert.ok(e instanceof TideError);
    assert.ok(e.code === 'ENOTFOUND' || e.code === 'EAGAIN', e.code);
    assert.match(e.message, /nonexistent\.invalid/);
    return true;
  });
});

/* --- tide_resolve in C -------------------------------------------------------- */

test('numeric addresses and localhost are answered in C, without the host', async () => {
  const spy = hostLookup(() => assert.fail('the host was asked'));
  assert.equal(await rt.call('resolve', ['127.0.0.1']), '4/127.0.0.1');
  assert.equal(await rt.call('resolve', ['0:0:0:0:0:0:0:1', 6]), '6/::1');
  assert.equal(await rt.call('resolve', ['::FFFF:1.2.3.4']), '6/::ffff:1.2.3.4');
  assert.equal(await rt.call('resolve', ['localhost']), '4/127.0.0.1 6/::1');
  assert.equal(await rt.call('resolve', ['localhost', 6]), '6/::1');
  assert.equal(await rt.call('resolve', ['LOCALHOST.', 4]), '4/127.0.0.1');
  await assert.rejects(rt.call('resolve', ['127.0.0.1', 6]), isTide('ENOTFOUND', /127\.0\.0\.1: no IPv6 address/));
  assert.equal(spy.calls.length, 0);
  rt.unregister(DNS_LOOKUP);
});

test('bad arguments are refused by tide_resolve (EINVAL)', async () => {
  await assert.rejects(rt.call('resolve', ['']), isTide('EINVAL'));
  await assert.rejects(rt.call('resolve', ['example.test', 5]), isTide('EINVAL'));
});

test('a name goes to the host; C parses, deduplicates and filters its answer', async () => {
  const spy = hostLookup((host, family) =>
    family === 6 ? '::2' : '10.0.0.1  ::2 10.0.0.1 0:0::2 fe80::1%eth0');
  assert.equal(await rt.call('resolve', ['example.test']), '4/10.0.0.1 6/::2 6/fe80::1');
  /* A host that answers both families for family 4 still gives IPv4 only... */
  assert.equal(await rt.call('resolve', ['example.test', 4]), '4/10.0.0.1');
  assert.equal(await rt.call('resolve', ['example.test', 6]), '6/::2');
  assert.deepEqual(spy.calls, [['example.test', 0], ['example.test', 4], ['example.test', 6]]);
  /* ... and none of the family asked, or no address at all, is ENOTFOUND. */
  hostLookup(() => '10.0.0.1');
  await assert.rejects(rt.call('resolve', ['example.test', 6]), isTide('ENOTFOUND', /example\.test/));
  hostLookup(() => '');
  await assert.rejects(rt.call('resolve', ['example.test']), isTide('ENOTFOUND'));
  rt.unregister(DNS_LOOKUP);
});

test('a malformed answer from the host is EINVAL', async () => {
  for (const answer of ['10.0.0.1 not-an-address', '999.1.1.1', 42, null, new Uint8Array([1])]) {
    hostLookup(() => answer);
    await assert.rejects(rt.call('resolve', ['example.test']), isTide('EINVAL', /example\.test/));
  }
  rt.unregister(DNS_LOOKUP);
});

test('the host\'s errors reach C with their code and message', async () => {
  for (const [code, name] of [['ENOTFOUND', 'ENOTFOUND'], ['EAI_AGAIN', 'EAGAIN'], ['EAI_FAIL', 'EIO']]) {
    for (const [n, fn] of dnsFunctions({
      lookup: (host, options, cb) => cb(Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code })),
    })) rt.register(n, fn);
    await assert.rejects(rt.call('resolve', ['example.test']),
      isTide(name, new RegExp(`getaddrinfo ${code} example\\.test`)));
  }
  rt.unregister(DNS_LOOKUP);
});

test('through Node\'s resolver: a name that does not exist', async () => {
  realLookup();
  await assert.rejects(rt.call('resolve', ['nonexistent.invalid']), (e) => {
    assert.ok(e instanceof TideError);
    assert.ok(e.code === 'ENOTFOUND' || e.code === 'EAGAIN', e.code);
    assert.match(e.message, /nonexistent\.invalid/);
    return true;
  });
  rt.unregister(DNS_LOOKUP);
});

test('through Node\'s resolver: a name it knows gets the same addresses in C', async (t) => {
  /* The machine's own name is usually in /etc/hosts (or answered by
   * nss-myhostname); where Node cannot resolve it either, there is nothing to
   * compare. */
  const name = hostname();
  let expected;
  try {
    expected = await dnsPromises.lookup(name, { all: true, verbatim: true });
  } catch {
    t.skip(`Node cannot resolve this machine's name (${name}) either`);
    return;
  }
  realLookup();
  const items = [...new Set(expected.map((a) => `${a.family}/${a.address}`))];
  assert.equal(await rt.call('resolve', [name]), items.join(' '));
  rt.unregister(DNS_LOOKUP);
});

test('aborting the call cancels the lookup: the host\'s signal fires, its late answer is refused', async () => {
  const late = deferred();
  const signals = [];
  hostLookup((host, family, { signal }) => {
    signals.push(signal);
    return late.promise;
  });
  const ac = new AbortController();
  const p = rt.call('resolve', ['slow.test'], { signal: ac.signal });
  await until(() => signals.length === 1, 'the host lookup');
  ac.abort();
  await assert.rejects(p, (e) => e === ac.signal.reason);
  assert.equal(signals[0].aborted, true);
  late.resolve('10.0.0.1'); /* C ended the operation: this is dropped quietly */
  assert.equal(await rt.call('resolve', ['127.0.0.1']), '4/127.0.0.1');
  rt.unregister(DNS_LOOKUP);
});

test('in a browser (no DNS host function): names are ENOSYS; numeric and localhost work', async () => {
  const web = await start(loadWeb, await readFile(MODULE));
  await assert.rejects(web.rt.call('resolve', ['example.com']),
    isTide('ENOSYS', /example\.com: no name resolution on this host/));
  assert.equal(await web.rt.call('resolve', ['localhost']), '4/127.0.0.1 6/::1');
  assert.equal(await web.rt.call('resolve', ['::1']), '6/::1');
  assert.deepEqual(web.err, []);
  assert.equal(web.rt.close(), 0);
});
