// dns.mjs: the host function behind tide_resolve on the JS host under Node,
// src/backend/js/ABI.md "Host functions the runtime provides":
//
//   "tideloop:dns_lookup"(host, family) -> "127.0.0.1 ::1"
//
// the numeric addresses dns.lookup finds, separated by single spaces, in the
// resolver's order. dns.lookup is the C library's getaddrinfo on libuv's
// threadpool, so Node resolves as tideloop does natively (/etc/hosts,
// nsswitch, resolv.conf). Its errors become TideError codes: a name that does
// not exist (or has no address of that family) is ENOTFOUND, a temporary
// failure EAGAIN, anything else EIO, each with Node's message.
//
// Only the Node adapter registers this, passing node:dns's lookup (this file
// imports no node: module: the package keeps those to node.mjs). A browser has
// no DNS API; there C answers numeric addresses and "localhost" itself and
// fails other names with ENOSYS.

import { TideError, errors } from './errors.mjs';

export const DNS_LOOKUP = 'tideloop:dns_lookup';

/* Node's codes for "no such name": dns.lookup says ENOTFOUND for EAI_NONAME
 * and EAI_NODATA; the raw getaddrinfo names are here for other lookups. */
const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA',
  'EAI_ADDRFAMILY']);

/** The TIDE_E* code for an error of dns.lookup. */
export function dnsErrorCode(err) {
  const code = err?.code;
  if (NOT_FOUND.has(code)) return errors.ENOTFOUND;
  if (code === 'EAI_AGAIN') return errors.EAGAIN;
  if (code === 'EAI_MEMORY' || code === 'ENOMEM') return errors.ENOMEM;
  return errors.EIO;
}

/**
 * The DNS host functions, as a Map name -> function (as stdioFunctions).
 * @param {{lookup: Function}} options lookup is node:dns's lookup (or one
 *   that behaves alike: tests give a fake one), called as lookup(host, {all:
 *   true, family, verbatim: true}, callback(err, [{address, family}, ...])).
 * @returns {Map<string, Function>}
 */
export function dnsFunctions({ lookup } = {}) {
  if (typeof lookup !== 'function') {
    throw new TypeError('tideloop: dnsFunctions({lookup}): lookup must be node:dns\'s lookup');
  }
  /* The AbortSignal is not used: dns.lookup cannot be stopped, and C refuses
   * the answer of a lookup it cancelled, so there is nothing to undo. */
  const dnsLookup = (host, family) => {
    if (typeof host !== 'string' || host === '') {
      throw new TideError(errors.EINVAL, `${DNS_LOOKUP}(host, family): host must be a non-empty string`);
    }
    if (family !== 0 && family !== 4 && family !== 6) {
      throw new TideError(errors.EINVAL, `${DNS_LOOKUP}(host, family): family must be 0, 4 or 6`);
    }
    return new Promise((resolve, reject) => {
      /* verbatim: the resolver's order, as natively (not IPv4 first). */
      lookup(host, { all: true, family, verbatim: true }, (err, addresses) => {
        if (err) reject(new TideError(dnsErrorCode(err), err.message, { cause: err }));
        else resolve(addresses.map((a) => a.address).join(' '));
      });
    });
  };
  return new Map([[DNS_LOOKUP, dnsLookup]]);
}
