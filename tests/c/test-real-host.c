/* test-real-host.c (tide-tests on every real backend, native and WASI): what each
 * host offers for fds and signals, with the same error codes everywhere. */
#ifndef __wasi__
#include <signal.h> /* wasi-libc refuses it without signal emulation */
#endif

#include "test.h"

typedef struct writable_ctx {
  int calls;
  unsigned events;
} writable_ctx;

static void on_writable(tide_io *io, unsigned events) {
  writable_ctx *c = io->handle.data;
  c->calls++;
  c->events = events;
  tide_io_stop(io);
}

TEST(host_stdout_is_writable) {
  /* ctest captures stdout through a pipe: natively epoll/poll watch it, under
   * WASI poll_oneoff gets an fd_write subscription for it. A terminal or a
   * regular file is writable as well. */
  tide_loop loop;
  tide_io io;
  writable_ctx c = {0, 0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, 1));
  io.handle.data = &c;
  ASSERT_OK(tide_io_start(&io, TIDE_WRITABLE, on_writable));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(c.calls, 1);
  ASSERT(c.events & TIDE_WRITABLE);
  ASSERT(!(c.events & TIDE_READABLE));
  tide_handle_close(&io.handle, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

TEST(host_bad_fd_is_ebadf) {
  /* An fd number nothing opened: refused at start, on every host. */
  tide_loop loop;
  tide_io io;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_ERR(tide_io_init(&loop, &io, -1), TIDE_EBADF);
  ASSERT_OK(tide_io_init(&loop, &io, 987));
  ASSERT_ERR(tide_io_start(&io, TIDE_READABLE, on_writable), TIDE_EBADF);
  ASSERT(!tide_handle_is_active(&io.handle));
  tide_handle_close(&io.handle, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}

static void on_signal(tide_signal *sig, int signum) {
  (void)sig;
  (void)signum;
}

TEST(host_signals_supported_or_enosys) {
  /* Natively SIGUSR1 can be watched; WASI preview1 has no signals, and says so
   * with TIDE_ENOSYS rather than accepting a watcher that never fires. */
  tide_loop loop;
  tide_signal sig;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_signal_init(&loop, &sig));
#ifdef __wasi__
  ASSERT_ERR(tide_signal_start(&sig, on_signal, 10), TIDE_ENOSYS);
  ASSERT(!tide_handle_is_active(&sig.handle));
#else
  ASSERT_OK(tide_signal_start(&sig, on_signal, SIGUSR1));
  ASSERT(tide_handle_is_active(&sig.handle));
#endif
  tide_handle_close(&sig.handle, NULL);
  RUN_AND_CLOSE_LOOP(&loop);
}
