// host-fns.mjs: the host functions of one runtime by name: what rt.register()
// set, else the runtime's built-in of that name (stdio.mjs, and the adapter's:
// Node's sockets, name resolution). And the names C passes with each host
// call (ptr, len of UTF-8 in wasm memory), recognised by their bytes: each
// known name is an entry that also remembers its function, so that a host
// call costs neither a TextDecoder nor a Map lookup (host-ops.mjs).

import { fromUtf8 } from './values.mjs';
import { NAME_CACHE, NAME_CACHE_LEN } from './wire.mjs';

/* A name C passed. `fn` is its function as of registry version `ver` (the
 * registry moves on at each register/unregister, which makes every cached
 * function stale at once). */
class NameEntry {
  constructor(bytes, name) {
    this.bytes = bytes;
    this.name = name;
    this.fn = undefined;
    this.ver = -1;
  }
}

export class HostFns {
  /* name -> function, as registered (rt.register). */
  #fns = new Map();
  /* The runtime's own functions, used when the user registered none. */
  #builtins;
  /** The registry's version: a NameEntry whose `ver` is this has its `fn`
   * current (host-ops.mjs reads it inline on every call). */
  ver = 0;
  #names = [];

  constructor(builtins) {
    this.#builtins = builtins;
  }

  register(name, fn) {
    this.#fns.set(name, fn);
    this.ver++;
  }

  unregister(name) {
    this.ver++;
    return this.#fns.delete(name);
  }

  /** How many functions the user registered (built-ins not counted). */
  get size() {
    return this.#fns.size;
  }

  /** Whether the user registered a function under name (built-ins aside):
   * direct-io.mjs steps aside for a user's own fd functions. */
  has(name) {
    return this.#fns.has(name);
  }

  /** The entry of the name at [ptr, ptr + len) of memory (mem: a Uint8Array
   * of all of it; the caller checked the range). Names longer than
   * NAME_CACHE_LEN, and more than NAME_CACHE of them, get an entry that is
   * not kept. */
  entryAt(mem, ptr, len) {
    const names = this.#names;
    if (len <= NAME_CACHE_LEN) {
      next: for (let k = 0; k < names.length; k++) {
        const e = names[k];
        const b = e.bytes;
        if (b.length !== len) continue;
        for (let i = 0; i < len; i++) if (b[i] !== mem[ptr + i]) continue next;
        return e;
      }
    }
    const bytes = mem.slice(ptr, ptr + len);
    const e = new NameEntry(bytes, fromUtf8(bytes));
    if (len <= NAME_CACHE_LEN && names.length < NAME_CACHE) names.push(e);
    return e;
  }

  /** The function for e's name now: registered, else built-in, else undefined. */
  fnOf(e) {
    if (e.ver === this.ver) return e.fn;
    const fn = this.#fns.get(e.name) ?? this.#builtins.get(e.name);
    e.fn = fn;
    e.ver = this.ver;
    return fn;
  }
}
