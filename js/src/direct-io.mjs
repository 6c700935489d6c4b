// direct-io.mjs: the `fd_read_now` and `fd_write_now` imports (src/backend/js/ABI.md,
// "Direct I/O"; the C side is src/io/hostcall/host_direct.c). A C stream on one of
// the runtime's own sockets reads the bytes Node already holds, and hands
// bytes to Node, inside the import: no host operation, no promise, no tick,
// and the bytes are copied straight between wasm memory and Node's buffers.
// That is what a request of a busy server costs most in host calls otherwise
// (bench W6). What must wait (no bytes yet, a full send buffer) waits on the
// host functions fd_wait / fd_drain (net.mjs), which only say "ready".
//
// Only the runtime's sockets have this path, and only while the user has not
// registered functions of their own under the fd names (theirs take every fd,
// ABI.md): anything else answers ENOSYS, and C uses fd_read / fd_write. Both
// imports run inside a call into wasm, so they never call into wasm and never
// run user code (Node's socket.read and socket.write emit nothing
// synchronously).

import { errors } from './errors.mjs';
import { FD_READ, FD_WRITE } from './stdio.mjs';
import { FD_WAIT, FD_DRAIN } from './net.mjs';

/**
 * The two imports for one runtime. state: the RuntimeState (its exports'
 * memory); fns: the user's registered host functions (HostOps.fns); sockets:
 * the adapter's socket fds (net.mjs `fds`, with direct(fd) and view(buffer)),
 * or null.
 */
export function directImports(state, fns, sockets) {
  /* A view of all of memory, remade only when memory grew (which detaches the
   * old buffer: its byteLength reads 0), of the kind the sockets want
   * (net.mjs view: under Node a Buffer, whose copy() moves bytes out without
   * a view or a typed array per call). */
  let buf = null;
  let u8 = null;
  const memory = () => {
    if (buf === null || buf.byteLength === 0) {
      buf = state.exports.memory.buffer;
      u8 = typeof sockets?.view === 'function' ? sockets.view(buf) : new Uint8Array(buf);
    }
    return u8;
  };
  /* The socket behind fd, or null if fd has no direct path. */
  const conn = (fd, own, waitName) => {
    if (sockets === null) return null;
    if (fns.size !== 0 && (fns.has(own) || fns.has(waitName))) return null;
    return sockets.direct(fd);
  };
  return {
    fd_read_now(fd, ptr, room) {
      const c = conn(fd, FD_READ, FD_WAIT);
      if (c === null) return errors.ENOSYS;
      const mem = memory();
      ptr >>>= 0;
      room >>>= 0;
      if (ptr === 0 || room === 0 || ptr + room > mem.length) return errors.ERANGE;
      return c.readNow(mem, ptr, room);
    },
    fd_write_now(fd, ptr, len) {
      const c = conn(fd, FD_WRITE, FD_DRAIN);
      if (c === null) return errors.ENOSYS;
      const mem = memory();
      ptr >>>= 0;
      len >>>= 0;
      if ((ptr === 0 && len > 0) || ptr + len > mem.length) return errors.ERANGE;
      return c.writeNow(mem, ptr, len);
    },
  };
}
