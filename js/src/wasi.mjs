// wasi.mjs: the small WASI preview1 subset that libc in a tideloop module needs,
// in plain standard JS (no Node API): console output, clocks, random, args,
// environ and exit. Every other wasi_snapshot_preview1 import the module has is
// given a stub returning ENOSYS (52), and the host reports the list at load.
//
// The loop never polls through WASI on the JS host (the host drives it), so
// poll_oneoff, fd_read and the file-system calls are deliberately absent.

import { TideExit } from './errors.mjs';

/* WASI errno values (preview1). */
export const WASI_ESUCCESS = 0;
export const WASI_EBADF = 8;
export const WASI_EFAULT = 21;
export const WASI_EINVAL = 28;
export const WASI_ENOSYS = 52;
export const WASI_ESPIPE = 70;

const FILETYPE_CHARACTER_DEVICE = 2;
/* Rights: fd_read (bit 1) for stdin, fd_write (bit 6) for stdout/stderr. No
 * fd_seek / fd_tell rights, so wasi-libc's isatty() is true and stdout is line
 * buffered: printf output shows up line by line, not only at exit. */
const RIGHT_FD_READ = 1n << 1n;
const RIGHT_FD_WRITE = 1n << 6n;

/**
 * Text written to one fd, cut into lines for a sink that takes one line (no
 * newline) per call. Multi-byte characters split across writes are kept whole.
 */
export class LineBuffer {
  #sink;
  #decoder = new TextDecoder('utf-8');
  #pending = '';

  constructor(sink) {
    this.#sink = sink;
  }

  write(bytes) {
    const text = this.#pending + this.#decoder.decode(bytes, { stream: true });
    const lines = text.split('\n');
    this.#pending = lines.pop();
    for (const line of lines) this.#emit(line);
  }

  /** Emit a last line that has no newline yet (at exit and close). */
  flush() {
    const text = this.#pending + this.#decoder.decode();
    this.#pending = '';
    if (text !== '') this.#emit(text);
  }

  #emit(line) {
    /* A sink that throws must not unwind through wasm (that would leave the C
     * side half-way through a call): report it on its own, as an uncaught
     * error, after this write returns. */
    try {
      this.#sink(line);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
}

/* NUL-terminated UTF-8 strings and their total size, for args_* / environ_*. */
function packStrings(strings) {
  const enc = new TextEncoder();
  const parts = strings.map((s) => {
    const b = enc.encode(s);
    const z = new Uint8Array(b.length + 1);
    z.set(b);
    return z;
  });
  return { parts, size: parts.reduce((n, p) => n + p.length, 0) };
}

/**
 * Build the wasi_snapshot_preview1 import object.
 * @param {object} o
 * @param {() => WebAssembly.Memory} o.memory the instance's memory (read per call)
 * @param {LineBuffer} o.stdout
 * @param {LineBuffer} o.stderr
 * @param {string[]} o.args
 * @param {string[]} o.env "KEY=value" strings
 * @param {(code: number) => void} o.onExit called before proc_exit throws TideExit
 * @returns {Record<string, Function>}
 */
export function wasiImports(o) {
  const u8 = () => new Uint8Array(o.memory().buffer);
  const dv = () => new DataView(o.memory().buffer);
  /* True when [ptr, ptr + len) lies inside memory; ptr and len are u32. */
  const fits = (ptr, len) => ptr + len <= o.memory().buffer.byteLength;
  const argv = packStrings(o.args);
  const envv = packStrings(o.env);
  const clockOrigin = Date.now() - performance.now();

  function sizes(pack, countPtr, sizePtr) {
    countPtr >>>= 0;
    sizePtr >>>= 0;
    if (!fits(countPtr, 4) || !fits(sizePtr, 4)) return WASI_EFAULT;
    const d = dv();
    d.setUint32(countPtr, pack.parts.length, true);
    d.setUint32(sizePtr, pack.size, true);
    return WASI_ESUCCESS;
  }

  function strings(pack, ptrsPtr, bufPtr) {
    ptrsPtr >>>= 0;
    bufPtr >>>= 0;
    if (!fits(ptrsPtr, 4 * pack.parts.length) || !fits(bufPtr, pack.size)) return WASI_EFAULT;
    const d = dv();
    const m = u8();
    let at = bufPtr;
    pack.parts.forEach((p, i) => {
      d.setUint32(ptrsPtr + 4 * i, at, true);
      m.set(p, at);
      at += p.length;
    });
    return WASI_ESUCCESS;
  }

  /* Nanoseconds of clock id, or undefined for an unknown clock. */
  function nowNs(id) {
    switch (id) {
      case 0: /* REALTIME */
        return BigInt(Math.round((clockOrigin + performance.now()) * 1e6));
      case 1: /* MONOTONIC */
      case 2: /* PROCESS_CPUTIME_ID: no CPU clock in JS; monotonic is the honest stand-in */
      case 3: /* THREAD_CPUTIME_ID */
        return BigInt(Math.round(performance.now() * 1e6));
      default:
        return undefined;
    }
  }

  return {
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      iovs >>>= 0;
      iovsLen >>>= 0;
      nwrittenPtr >>>= 0;
      const out = fd === 1 ? o.stdout : fd === 2 ? o.stderr : null;
      if (!out) return WASI_EBADF;
      if (iovsLen > 0x1fffffff || !fits(iovs, 8 * iovsLen) || !fits(nwrittenPtr, 4)) {
        return WASI_EFAULT;
      }
      let total = 0;
      for (let i = 0; i < iovsLen; i++) {
        const d = dv();
        const buf = d.getUint32(iovs + 8 * i, true);
        const len = d.getUint32(iovs + 8 * i + 4, true);
        if (!fits(buf, len)) return WASI_EFAULT;
        /* The sink may run user code; copy first, so nothing it does can touch
         * the bytes (or detach the buffer) under us. */
        out.write(u8().slice(buf, buf + len));
        total += len;
      }
      dv().setUint32(nwrittenPtr, total >>> 0, true);
      return WASI_ESUCCESS;
    },
    fd_close(fd) {
      return fd >= 0 && fd <= 2 ? WASI_ESUCCESS : WASI_EBADF;
    },
    fd_seek(fd, _offset, _whence, _newOffsetPtr) {
      return fd >= 0 && fd <= 2 ? WASI_ESPIPE : WASI_EBADF;
    },
    fd_fdstat_get(fd, ptr) {
      ptr >>>= 0;
      if (fd < 0 || fd > 2) return WASI_EBADF;
      if (!fits(ptr, 24)) return WASI_EFAULT;
      const d = dv();
      d.setUint8(ptr, FILETYPE_CHARACTER_DEVICE);
      d.setUint8(ptr + 1, 0);
      d.setUint16(ptr + 2, 0, true); /* fs_flags */
      d.setUint32(ptr + 4, 0, true);
      d.setBigUint64(ptr + 8, fd === 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE, true);
      d.setBigUint64(ptr + 16, 0n, true);
      return WASI_ESUCCESS;
    },
    /* No pre-opened directories: libc's scan for them stops at the first EBADF
     * (ENOSYS there would make wasi-libc abort). */
    fd_prestat_get(_fd, _ptr) {
      return WASI_EBADF;
    },
    fd_prestat_dir_name(_fd, _ptr, _len) {
      return WASI_EBADF;
    },
    clock_time_get(id, _precision, timePtr) {
      timePtr >>>= 0;
      const ns = nowNs(id);
      if (ns === undefined) return WASI_EINVAL;
      if (!fits(timePtr, 8)) return WASI_EFAULT;
      dv().setBigUint64(timePtr, ns, true);
      return WASI_ESUCCESS;
    },
    clock_res_get(id, resPtr) {
      resPtr >>>= 0;
      if (nowNs(id) === undefined) return WASI_EINVAL;
      if (!fits(resPtr, 8)) return WASI_EFAULT;
      /* performance.now() is coarsened to 5-100 us in browsers; claim 1 us. */
      dv().setBigUint64(resPtr, id === 0 ? 1_000_000n : 1_000n, true);
      return WASI_ESUCCESS;
    },
    random_get(buf, len) {
      buf >>>= 0;
      len >>>= 0;
      if (!fits(buf, len)) return WASI_EFAULT;
      /* getRandomValues fills at most 65536 bytes per call; fill a copy, so no
       * memory view outlives this synchronous call either way. */
      const tmp = new Uint8Array(len);
      for (let at = 0; at < len; at += 65536) {
        crypto.getRandomValues(tmp.subarray(at, Math.min(len, at + 65536)));
      }
      u8().set(tmp, buf);
      return WASI_ESUCCESS;
    },
    args_sizes_get: (c, s) => sizes(argv, c, s),
    args_get: (p, b) => strings(argv, p, b),
    environ_sizes_get: (c, s) => sizes(envv, c, s),
    environ_get: (p, b) => strings(envv, p, b),
    sched_yield() {
      return WASI_ESUCCESS;
    },
    /* exit() in C: the status as C passed it (an int). Throwing unwinds the
     * wasm stack back to the export the host called; the instance is finished. */
    proc_exit(code) {
      o.onExit(code | 0);
      throw new TideExit(code | 0);
    },
  };
}

/** A stub for a WASI import this host does not provide. */
export function wasiUnsupported() {
  return WASI_ENOSYS;
}
