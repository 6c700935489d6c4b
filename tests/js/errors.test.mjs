// errors.test.mjs: the package's error table equals include/tide.h's
// TIDE_ERRNO_MAP (names, numbers, messages, order), and TideError behaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tide from '../../js/src/node.mjs';
import * as web from '../../js/src/index.mjs';

const header = readFileSync(
  fileURLToPath(new URL('../../include/tide.h', import.meta.url)),
  'utf8',
);

/* The rows of TIDE_ERRNO_MAP(X): X(NAME, number, "message") inside the macro,
 * which ends at the first line without a continuation backslash. */
function parseErrnoMap(text) {
  const start = text.indexOf('#define TIDE_ERRNO_MAP(X)');
  assert.notEqual(start, -1, 'TIDE_ERRNO_MAP not found in include/tide.h');
  const lines = [];
  for (const line of text.slice(start).split('\n')) {
    lines.push(line);
    if (!line.trimEnd().endsWith('\\')) break;
  }
  const rows = [];
  const re = /X\(\s*([A-Z0-9_]+)\s*,\s*(-?\d+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)/g;
  for (const m of lines.join('\n').matchAll(re)) rows.push([m[1], Number(m[2]), m[3]]);
  return rows;
}

test('the error table equals TIDE_ERRNO_MAP in include/tide.h', () => {
  const rows = parseErrnoMap(header);
  assert.ok(rows.length >= 30, `parsed only ${rows.length} rows`);
  assert.deepEqual(tide.errorTable.map((r) => [...r]), rows);
  for (const [name, code, msg] of rows) {
    assert.equal(tide.errors[name], code, name);
    assert.equal(tide.errorName(code), name);
    assert.equal(tide.strerror(code), msg);
  }
  /* Dense from -1 down, as TIDE__ERR_LAST (the count of rows) assumes. */
  assert.deepEqual(rows.map((r) => r[1]).sort((a, b) => b - a),
    rows.map((_, i) => -(i + 1)));
});

test('both entries export the same error table', () => {
  assert.equal(web.errors, tide.errors);
  assert.equal(web.TideError, tide.TideError);
  assert.ok(Object.isFrozen(tide.errors));
});

test('names outside the table behave as tide_err_name / tide_strerror', () => {
  assert.equal(tide.errorName(0), 'EUNKNOWN');
  assert.equal(tide.errorName(-1000), 'EUNKNOWN');
  assert.equal(tide.strerror(7), 'unknown error');
});

test('TideError is shaped as Node\'s system errors: name, code (the name), errno (the number)', () => {
  const e = new tide.TideError(tide.errors.ETIMEDOUT, 'too slow');
  assert.ok(e instanceof Error);
  assert.ok(e instanceof tide.TideError);
  assert.equal(e.name, 'TideError');
  assert.equal(e.code, 'ETIMEDOUT');
  assert.equal(e.errno, -5);
  assert.equal(e.errno, tide.errors.ETIMEDOUT, 'errors.X is the number, for comparing errno');
  assert.equal(e.message, 'too slow');
  assert.match(String(e), /^TideError: too slow$/);
  assert.match(e.stack, /^TideError: too slow\n/);
  /* Without a message: the table's text. By name: the same error. */
  const d = new tide.TideError(tide.errors.ECANCELED);
  assert.equal(d.message, 'operation canceled');
  const byName = new tide.TideError('ECANCELED');
  assert.deepEqual([byName.code, byName.errno, byName.message], ['ECANCELED', -4, 'operation canceled']);
  /* Outside the table: a number keeps its errno, with the name tide_err_name
   * gives it; a name that is not in the table is EUNKNOWN altogether. */
  const odd = new tide.TideError(-1000, 'odd');
  assert.deepEqual([odd.code, odd.errno], ['EUNKNOWN', -1000]);
  const badName = new tide.TideError('ENOTANERROR');
  assert.deepEqual([badName.code, badName.errno], ['EUNKNOWN', tide.errors.EUNKNOWN]);
  /* The standard cause is kept. */
  const why = new Error('socket hang up');
  assert.equal(new tide.TideError('ECONNRESET', 'reset', { cause: why }).cause, why);
  /* name is the class's, on the prototype, as for built-in errors: logging
   * the error as an object shows code and errno, not a name per instance. */
  assert.deepEqual(Object.keys(e).sort(), ['code', 'errno']);
  const x = new tide.TideExit(3);
  assert.equal(x.code, 3);
  assert.equal(x.name, 'TideExit');
});

test('errorCodeOf: a TideError gives its errno; Node\'s errno (libuv numbers) is never read', () => {
  const { errorCodeOf, errors, TideError } = tide;
  assert.equal(errorCodeOf(new TideError(errors.EPIPE, 'pipe gone')), errors.EPIPE);
  assert.equal(errorCodeOf(new TideError('EMSGSIZE')), errors.EMSGSIZE);
  /* A Node system error: ECONNREFUSED is errno -111 on Linux, which would be
   * out of the table (or worse, another entry: ENOENT is -2, our ENOMEM). */
  const sys = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111 });
  assert.equal(errorCodeOf(sys), errors.ECONNREFUSED);
  const enoent = Object.assign(new Error('open'), { code: 'ENOENT', errno: -2 });
  assert.equal(errorCodeOf(enoent), errors.ENOENT);
  assert.equal(errorCodeOf({ errno: -2 }), errors.EHOST, 'an errno alone means nothing');
});

test('errorCodeOf reads the code where each runtime puts it', () => {
  const { errorCodeOf, errors } = tide;
  assert.equal(web.errorCodeOf, errorCodeOf);
  const withCode = (code, cause) => Object.assign(new Error('x', cause && { cause }), { code });
  /* Node's fetch(): a TypeError whose cause has the code (undici's or the system's). */
  const nodeReset = new TypeError('fetch failed', { cause: withCode('UND_ERR_SOCKET') });
  assert.equal(errorCodeOf(nodeReset), errors.ECONNRESET);
  const nodeRefused = new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') });
  assert.equal(errorCodeOf(nodeRefused), errors.ECONNREFUSED);
  /* Bun's fetch(): the code on the error itself, Node-style or Bun's own. */
  assert.equal(errorCodeOf(withCode('ECONNRESET')), errors.ECONNRESET);
  assert.equal(errorCodeOf(withCode('ConnectionRefused')), errors.ECONNREFUSED);
  assert.equal(errorCodeOf(withCode('ConnectionClosed')), errors.ECONNRESET);
  /* Its own code wins over its cause's; a code that means nothing falls
   * through to the cause. */
  assert.equal(errorCodeOf(withCode('ETIMEDOUT', withCode('ECONNRESET'))), errors.ETIMEDOUT);
  assert.equal(errorCodeOf(withCode('ERR_WHATEVER', withCode('ECONNRESET'))), errors.ECONNRESET);
  /* Numbers in the table, an AggregateError's last error. */
  assert.equal(errorCodeOf({ code: errors.EPIPE }), errors.EPIPE);
  assert.equal(errorCodeOf(new AggregateError([withCode('EACCES'), withCode('ECONNREFUSED')])),
    errors.ECONNREFUSED);
  /* Nowhere (Deno's fetch() can say nothing): the fallback, EHOST by default. */
  assert.equal(errorCodeOf(new TypeError('error sending request')), errors.EHOST);
  assert.equal(errorCodeOf(new TypeError('error sending request'), errors.EIO), errors.EIO);
  assert.equal(errorCodeOf('a string'), errors.EHOST);
  assert.equal(errorCodeOf(null, errors.EIO), errors.EIO);
});
