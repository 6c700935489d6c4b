/* io.c: fd readiness watchers; the backend does the watching, this file the rules. */
#include "internal.h"

int tide_io_init(tide_loop *loop, tide_io *io, int fd) {
  assert(loop != NULL && io != NULL);
  if (fd < 0) return TIDE_EBADF;
  tide__handle_init(loop, &io->handle, TIDE__HANDLE_IO);
  io->priv_fd = fd;
  io->priv_events = 0;
  io->priv_backend_slot = -1;
  tide__q_init(&io->priv_link);
  io->priv_cb = NULL;
  return 0;
}

int tide_io_start(tide_io *io, unsigned events, tide_io_cb cb) {
  if (events == 0 || (events & ~(unsigned)(TIDE_READABLE | TIDE_WRITABLE)) || cb == NULL)
    return TIDE_EINVAL;
  if (io->handle.priv_flags & (TIDE__H_CLOSING | TIDE__H_CLOSED)) return TIDE_ECLOSED;
  if (events != io->priv_events) {
    int rc = tide__backend_io_update(io->handle.priv_loop, io, events);
    if (rc != 0) return rc;
    io->priv_events = events;
  }
  io->priv_cb = cb;
  tide__handle_start(&io->handle);
  return 0;
}

void tide_io_stop(tide_io *io) {
  if (io->priv_events != 0) {
    (void)tide__backend_io_update(io->handle.priv_loop, io, 0);
    io->priv_events = 0;
  }
  tide__handle_stop(&io->handle);
}

int tide_io_fd(const tide_io *io) { return io->priv_fd; }

void tide__loop_io_ready(tide_io *io, unsigned events) {
  /* The backend reports only started watchers, but a callback earlier in the
   * same poll may have stopped this one; then the event is dropped. */
  if (!(io->handle.priv_flags & TIDE__H_ACTIVE)) return;
  unsigned wanted = io->priv_events | TIDE_HANGUP | TIDE_IOERROR;
  if (events & wanted) io->priv_cb(io, events & wanted);
}
