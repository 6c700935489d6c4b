/* test-handles.c: handle basics common to every backend: the async wakeup
 * (coalescing, keep-alive, closing) and fd watcher argument checks. */
#include "test.h"
#include "util.h"

typedef struct async_rec {
  int calls;
  int close_at;
  int closed;
  int send_rc_in_cb;
} async_rec;

static void async_close_cb(tide_handle *h) {
  ((async_rec *)h->data)->closed++;
}

static void async_rec_cb(tide_async *async) {
  async_rec *r = async->handle.data;
  r->calls++;
  if (r->calls == r->close_at) {
    tide_handle_close(&async->handle, async_close_cb);
    r->send_rc_in_cb = tide_async_send(async);
  }
}

TEST(async_sends_coalesce) {
  tide_loop loop;
  tide_async async;
  async_rec r = {0, 0, 0, 1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_async_init(&loop, &async, async_rec_cb));
  async.handle.data = &r;
  ASSERT_EQ(tide_handle_is_active(&async.handle), 1); /* active from init */
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_OK(tide_async_send(&async));
  ASSERT_OK(tide_async_send(&async));
  ASSERT_OK(tide_async_send(&async));
  ASSERT_EQ(r.calls, 0); /* never inline */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 1); /* three sends, one call */
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 1);
  ASSERT_OK(tide_async_send(&async));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 2);
  tide_handle_close(&async.handle, async_close_cb);
  ASSERT_ERR(tide_async_send(&async), TIDE_ECLOSED);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.closed, 1);
  ASSERT_EQ(r.calls, 2);
  CLOSE_LOOP(&loop);
}

TEST(async_close_from_callback) {
  tide_loop loop;
  tide_async async;
  async_rec r = {0, 1, 0, 1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_async_init(&loop, &async, async_rec_cb));
  async.handle.data = &r;
  ASSERT_OK(tide_async_send(&async));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.closed, 1);
  ASSERT_EQ(r.send_rc_in_cb, TIDE_ECLOSED);
  CLOSE_LOOP(&loop);
}

TEST(async_unref_does_not_keep_loop_alive) {
  tide_loop loop;
  tide_async async;
  async_rec r = {0, 0, 0, 1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_async_init(&loop, &async, async_rec_cb));
  async.handle.data = &r;
  tide_handle_unref(&async.handle);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 0);
  /* An unref'd async still calls back while the loop runs for other work. */
  ASSERT_OK(tide_async_send(&async));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(r.calls, 1);
  tide_handle_close(&async.handle, async_close_cb);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.closed, 1);
  CLOSE_LOOP(&loop);
}

TEST(async_two_handles_independent) {
  tide_loop loop;
  tide_async a, b;
  async_rec ra = {0, 0, 0, 1}, rb = {0, 0, 0, 1};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_async_init(&loop, &a, async_rec_cb));
  ASSERT_OK(tide_async_init(&loop, &b, async_rec_cb));
  a.handle.data = &ra;
  b.handle.data = &rb;
  ASSERT_OK(tide_async_send(&b));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(ra.calls, 0);
  ASSERT_EQ(rb.calls, 1);
  tide_handle_close(&a.handle, async_close_cb);
  tide_handle_close(&b.handle, async_close_cb);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}

TEST(io_init_negative_fd_is_ebadf) {
  tide_loop loop;
  tide_io io;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_ERR(tide_io_init(&loop, &io, -1), TIDE_EBADF);
  ASSERT_ERR(tide_io_init(&loop, &io, -42), TIDE_EBADF);
  CLOSE_LOOP(&loop); /* a failed init registered nothing */
}
