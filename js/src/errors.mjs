// errors.mjs: the fixed TIDE_E* error table and the TideError / TideExit classes.
//
// The table must equal TIDE_ERRNO_MAP in include/tide.h, name for name and number
// for number: the numbers are the same on every host (tests/js/errors.test.mjs
// parses the header and compares, so the two cannot drift apart silently).

/** @type {ReadonlyArray<readonly [string, number, string]>} [name, code, message] */
const TABLE = [
  ['EINVAL', -1, 'invalid argument'],
  ['ENOMEM', -2, 'out of memory'],
  ['EBUSY', -3, 'resource busy: the loop still has registered work'],
  ['ECANCELED', -4, 'operation canceled'],
  ['ETIMEDOUT', -5, 'operation timed out'],
  ['EALREADY', -6, 'already completed'],
  ['EPENDING', -7, 'still pending'],
  ['ENOENT', -8, 'no such entry'],
  ['EEXIST', -9, 'already exists'],
  ['EAGAIN', -10, 'resource temporarily unavailable'],
  ['EBADF', -11, 'bad file descriptor'],
  ['EIO', -12, 'input/output error'],
  ['ENOSYS', -13, 'not supported on this host'],
  ['EPIPE', -14, 'broken pipe'],
  ['ECONNRESET', -15, 'connection reset by peer'],
  ['ECONNREFUSED', -16, 'connection refused'],
  ['EADDRINUSE', -17, 'address already in use'],
  ['ENOTCONN', -18, 'socket is not connected'],
  ['EACCES', -19, 'permission denied'],
  ['ERANGE', -20, 'value out of range'],
  ['EOF', -21, 'end of file'],
  ['ECLOSED', -22, 'handle is closing or closed'],
  ['ESTATE', -23, 'object is in the wrong state for this call'],
  ['EHOST', -24, 'the host reported an error'],
  ['EINTR', -25, 'interrupted'],
  ['ENOSPC', -26, 'no space left'],
  ['EMSGSIZE', -27, 'message too long'],
  ['ENETUNREACH', -28, 'network is unreachable'],
  ['EHOSTUNREACH', -29, 'host is unreachable'],
  ['EADDRNOTAVAIL', -30, 'address not available'],
  ['EUNKNOWN', -31, 'unknown error'],
  ['EMFILE', -32, 'too many open files'],
  ['ENOTFOUND', -33, 'host name not found'],
  ['ENOTSOCK', -34, 'not a socket'],
  ['ESRCH', -35, 'no such process'],
  ['ENOEXEC', -36, 'not an executable format'],
];

const byCode = new Map(TABLE.map(([name, code, msg]) => [code, { name, msg }]));
const byName = new Map(TABLE.map(([name, code]) => [name, code]));

/** Name -> code, e.g. errors.ECANCELED === -4. Frozen. */
export const errors = Object.freeze(Object.fromEntries(byName));

/** The whole table as frozen [name, code, message] rows, in code order. */
export const errorTable = Object.freeze(TABLE.map((row) => Object.freeze([...row])));

/** "EINVAL" for -1; "EUNKNOWN" for a number outside the table (as tide_err_name). */
export function errorName(code) {
  return byCode.get(code)?.name ?? 'EUNKNOWN';
}

/** A human-readable message; "unknown error" outside the table (as tide_strerror). */
export function strerror(code) {
  return byCode.get(code)?.msg ?? 'unknown error';
}

/**
 * The code of a TIDE_E* name or number, or undefined when it names nothing in
 * the table (so the caller picks its own fallback, usually EHOST).
 */
export function errorCode(nameOrCode) {
  if (typeof nameOrCode === 'number') return byCode.has(nameOrCode) ? nameOrCode : undefined;
  if (typeof nameOrCode === 'string') return byName.get(nameOrCode);
  return undefined;
}

/**
 * An error from the C side (or about it), shaped as Node's system errors are, so
 * code written for those reads it the same way: `name` is "TideError", `code`
 * the TIDE_E* name ("ECANCELED"), `errno` the number (-4, the same on every
 * host; not the OS's errno, and not Node's libuv numbers), `message` the C
 * message or the table's text, and `cause` what it was made from, if anything.
 * `errors.ECANCELED` is a number, for comparing with `errno`; compare `code`
 * with the name.
 */
export class TideError extends Error {
  /**
   * @param {number | string} codeOrName a TIDE_E* number (-4) or name
   *   ("ECANCELED"); a number outside the table keeps its errno with code
   *   "EUNKNOWN", a name outside it is EUNKNOWN altogether
   * @param {string} [message] defaults to the table's text for the code
   * @param {ErrorOptions} [options] standard `{cause}`
   */
  constructor(codeOrName, message, options) {
    const errno = typeof codeOrName === 'string'
      ? (byName.get(codeOrName) ?? errors.EUNKNOWN)
      : Number(codeOrName);
    super(message === undefined || message === '' ? strerror(errno) : String(message), options);
    /** @type {string} */
    this.code = errorName(errno);
    /** @type {number} */
    this.errno = errno;
  }
}

/* On the prototype, not per instance: as for the built-in errors, `name` is
 * not an own property, so it does not show up when the error is logged as an
 * object or spread. */
Object.defineProperty(TideError.prototype, 'name', {
  value: 'TideError',
  writable: true,
  configurable: true,
  enumerable: false,
});

/**
 * Thrown out of the WASI proc_exit import (the C program called exit()): the
 * wasm stack unwinds, and the runtime is finished. `code` is the exit status.
 */
export class TideExit extends Error {
  constructor(code) {
    super(`the program exited with code ${code}`);
    Object.defineProperty(this, 'name', {
      value: 'TideExit',
      writable: true,
      configurable: true,
      enumerable: false,
    });
    /** @type {number} */
    this.code = code;
  }
}

/* Host error codes that are not names in the table but mean one of its
 * entries: system errors the table folds together, and Node's own codes for
 * sockets, streams and name resolution (net.mjs, udp.mjs, dns.mjs, node.mjs),
 * so that C sees the same TIDE_E* as natively. */
const HOST_CODES = new Map([
  ['ECONNABORTED', 'ECONNRESET'], /* reset while waiting to be accepted */
  ['ENFILE', 'EMFILE'],
  ['ENOTDIR', 'ENOENT'], /* a path through a file (a bad cwd) */
  ['EPERM', 'EACCES'],
  ['ENOBUFS', 'ENOMEM'],
  ['ESHUTDOWN', 'EPIPE'],
  ['EAI_AGAIN', 'EAGAIN'],
  ['EAI_NONAME', 'ENOTFOUND'],
  ['EAI_NODATA', 'ENOTFOUND'],
  ['EAI_FAIL', 'EIO'],
  ['ERR_STREAM_DESTROYED', 'EPIPE'], /* a write to a socket that is gone */
  ['ERR_STREAM_WRITE_AFTER_END', 'EPIPE'],
  ['ERR_SOCKET_CLOSED', 'EPIPE'],
  ['ERR_STREAM_PREMATURE_CLOSE', 'EPIPE'],
  ['ERR_SOCKET_CONNECTION_TIMEOUT', 'ETIMEDOUT'],
  ['ERR_SOCKET_BAD_PORT', 'EINVAL'],
  ['ERR_INVALID_IP_ADDRESS', 'EINVAL'],
  ['ERR_INVALID_ADDRESS_FAMILY', 'EINVAL'],
  ['ERR_SOCKET_DGRAM_NOT_RUNNING', 'ECLOSED'], /* a send on a closed dgram socket */
  /* fetch() under Node (undici): on the TypeError's cause. */
  ['UND_ERR_SOCKET', 'ECONNRESET'], /* the server closed or reset the connection */
  ['UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'],
  ['UND_ERR_HEADERS_TIMEOUT', 'ETIMEDOUT'],
  ['UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'],
  /* fetch() under Bun: on the error itself, besides Node-style names. */
  ['ConnectionRefused', 'ECONNREFUSED'],
  ['ConnectionClosed', 'ECONNRESET'],
]);

/* The table's code for one host code (a name, a host alias, or a number). */
function mapCode(code) {
  return errorCode(code) ?? (typeof code === 'string' ? errorCode(HOST_CODES.get(code)) : undefined);
}

function isObject(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function');
}

/**
 * The TIDE_E* code for an error a host (Node, Deno, Bun, a browser) threw or
 * rejected with, wherever its runtime put the code: `err.code` (Node's system
 * errors, Bun's fetch), else `err.cause.code` (fetch() under Node and Deno
 * wraps the network error in a TypeError), else, for an AggregateError without
 * one (Node's connect after trying every address), its last error's; a
 * TideError gives its `errno`. A code
 * naming an entry of the table ("ETIMEDOUT", "ENOENT", or a number in it)
 * gives that entry, as do the host codes that mean one ("ECONNABORTED",
 * "EAI_AGAIN", "ERR_STREAM_DESTROYED", undici's "UND_ERR_SOCKET", Bun's
 * "ConnectionRefused", ...). Anything else, a code nowhere included, gives
 * `fallback` (default errors.EHOST).
 * @param {unknown} err
 * @param {number} [fallback]
 * @returns {number}
 */
export function errorCodeOf(err, fallback = errors.EHOST) {
  if (!isObject(err)) return fallback;
  /* A TideError (one C sent, rethrown by a host function) keeps its number;
   * only a TideError's errno is ours: Node's system errors have an `errno` in
   * libuv's numbering, which means something else here. */
  if (err instanceof TideError) {
    const own = errorCode(err.errno);
    if (own !== undefined) return own;
  }
  const places = [err.code, isObject(err.cause) ? err.cause.code : undefined];
  if (Array.isArray(err.errors) && err.errors.length > 0) {
    places.push(err.errors[err.errors.length - 1]?.code);
  }
  for (const code of places) {
    const mapped = code === undefined ? undefined : mapCode(code);
    if (mapped !== undefined) return mapped;
  }
  return fallback;
}

/** The code C sees for something a host function threw (ring.mjs). */
export function codeOfThrown(err) {
  return errorCodeOf(err, errors.EHOST);
}

/** The message for something a host function threw. */
export function messageOfThrown(err) {
  if (err !== null && typeof err === 'object' && typeof err.message === 'string') {
    return err.message;
  }
  try {
    return String(err);
  } catch {
    return 'host function threw a value that cannot be printed';
  }
}
