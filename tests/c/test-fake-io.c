/* test-fake-io.c (tide-tests-fake only): fd watchers driven by injected events:
 * delivery and masking, HANGUP, TIDE_EEXIST, stopping inside a callback, and a
 * flood of callbacks that must not starve I/O. */
#include "fake.h"
#include "test.h"
#include "util.h"

typedef struct io_rec {
  int calls;
  unsigned last_events;
  test_log *order;
  int id;
  tide_io *stop_other; /* stop this watcher from the callback */
  int stop_self;
  int closed;
} io_rec;

static void io_rec_cb(tide_io *io, unsigned events) {
  io_rec *r = io->handle.data;
  r->calls++;
  r->last_events = events;
  if (r->order) test_log_push(r->order, r->id);
  if (r->stop_other) tide_io_stop(r->stop_other);
  if (r->stop_self) tide_io_stop(io);
}

static void io_close_cb(tide_handle *h) {
  ((io_rec *)h->data)->closed++;
}

/* Close io and run until its close callback ran. NOWAIT: other watchers may
 * still be active, and on the fake backend a blocking poll returns at once. */
static void close_io(tide_loop *loop, tide_io *io) {
  tide_handle_close(&io->handle, io_close_cb);
  ASSERT_GE(tide_loop_run(loop, TIDE_RUN_NOWAIT), 0);
  ASSERT_EQ(((io_rec *)io->handle.data)->closed, 1);
}

TEST(fake_io_readable_delivered_once) {
  tide_loop loop;
  tide_io io;
  io_rec r = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, 5));
  io.handle.data = &r;
  ASSERT_EQ(tide_io_fd(&io), 5);
  ASSERT_EQ(tide_handle_is_active(&io.handle), 0);
  ASSERT_ERR(tide_fake_io_inject(&io, TIDE_READABLE), TIDE_ESTATE); /* not started */
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, io_rec_cb));
  ASSERT_EQ(tide_handle_is_active(&io.handle), 1);
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  ASSERT_EQ(tide_fake_io_count(&loop), 1);
  ASSERT_OK(tide_fake_io_inject(&io, TIDE_READABLE));
  ASSERT_EQ(r.calls, 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.last_events, TIDE_READABLE);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 1);
  close_io(&loop, &io);
  ASSERT_EQ(tide_fake_io_count(&loop), 0);
  CLOSE_LOOP(&loop);
}

TEST(fake_io_events_masked_to_request) {
  tide_loop loop;
  tide_io io;
  io_rec r = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, 3));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, io_rec_cb));
  ASSERT_OK(tide_fake_io_inject(&io, TIDE_READABLE | TIDE_WRITABLE));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.last_events, TIDE_READABLE);
  /* Changing the request on the same watcher is not a second watcher. */
  ASSERT_OK(tide_io_start(&io, TIDE_WRITABLE, io_rec_cb));
  ASSERT_OK(tide_fake_io_inject(&io, TIDE_WRITABLE));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 2);
  ASSERT_EQ(r.last_events, TIDE_WRITABLE);
  close_io(&loop, &io);
  CLOSE_LOOP(&loop);
}

TEST(fake_io_hangup_reports_readable_too) {
  tide_loop loop;
  tide_io io;
  io_rec r = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, 3));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, io_rec_cb));
  ASSERT_OK(tide_fake_io_inject(&io, TIDE_HANGUP));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_EQ(r.calls, 1);
  ASSERT_EQ(r.last_events, TIDE_READABLE | TIDE_HANGUP); /* a reader sees EOF */
  close_io(&loop, &io);
  CLOSE_LOOP(&loop);
}

TEST(fake_io_second_watcher_same_fd_eexist) {
  tide_loop loop, other;
  tide_io a, b, c;
  io_rec ra = {0}, rb = {0}, rc = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_loop_init(&other, NULL));
  ASSERT_OK(tide_io_init(&loop, &a, 9));
  ASSERT_OK(tide_io_init(&loop, &b, 9));
  ASSERT_OK(tide_io_init(&other, &c, 9)); /* another loop may watch it */
  a.handle.data = &ra;
  b.handle.data = &rb;
  c.handle.data = &rc;
  ASSERT_OK(tide_io_start(&a, TIDE_READABLE, io_rec_cb));
  ASSERT_ERR(tide_io_start(&b, TIDE_WRITABLE, io_rec_cb), TIDE_EEXIST);
  ASSERT_EQ(tide_handle_is_active(&b.handle), 0);
  ASSERT_OK(tide_io_start(&c, TIDE_READABLE, io_rec_cb));
  tide_io_stop(&a);
  ASSERT_OK(tide_io_start(&b, TIDE_WRITABLE, io_rec_cb));
  close_io(&loop, &a);
  close_io(&loop, &b);
  close_io(&other, &c);
  CLOSE_LOOP(&loop);
  CLOSE_LOOP(&other);
}

TEST(fake_io_stop_inside_callback) {
  tide_loop loop;
  tide_io a, b;
  test_log order = {0};
  io_rec ra = {0}, rb = {0};
  ra.order = rb.order = &order;
  ra.id = 1;
  rb.id = 2;
  ra.stop_other = &b; /* A runs first and stops B: B's pending event is dropped */
  ra.stop_self = 1;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &a, 3));
  ASSERT_OK(tide_io_init(&loop, &b, 4));
  a.handle.data = &ra;
  b.handle.data = &rb;
  ASSERT_OK(tide_io_start(&a, TIDE_READABLE, io_rec_cb));
  ASSERT_OK(tide_io_start(&b, TIDE_READABLE, io_rec_cb));
  ASSERT_OK(tide_fake_io_inject(&a, TIDE_READABLE));
  ASSERT_OK(tide_fake_io_inject(&b, TIDE_READABLE));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0); /* nothing active left */
  ASSERT_LOG(&order, 1);
  ASSERT_EQ(tide_handle_is_active(&a.handle), 0);
  ASSERT_EQ(tide_handle_is_active(&b.handle), 0);
  ASSERT_ERR(tide_fake_io_inject(&a, TIDE_READABLE), TIDE_ESTATE);
  ASSERT_EQ(tide_fake_io_count(&loop), 0);
  close_io(&loop, &a);
  close_io(&loop, &b);
  CLOSE_LOOP(&loop);
}

TEST(fake_io_delivered_in_injection_order) {
  tide_loop loop;
  tide_io io[3];
  io_rec r[3];
  test_log order = {0};
  memset(r, 0, sizeof r);
  ASSERT_OK(tide_loop_init(&loop, NULL));
  for (int i = 0; i < 3; i++) {
    r[i].order = &order;
    r[i].id = i;
    ASSERT_OK(tide_io_init(&loop, &io[i], 10 + i));
    io[i].handle.data = &r[i];
    ASSERT_OK(tide_io_start(&io[i], TIDE_READABLE, io_rec_cb));
  }
  ASSERT_OK(tide_fake_io_inject(&io[2], TIDE_READABLE));
  ASSERT_OK(tide_fake_io_inject(&io[0], TIDE_READABLE));
  ASSERT_OK(tide_fake_io_inject(&io[1], TIDE_READABLE));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_NOWAIT), 1);
  ASSERT_LOG(&order, 2, 0, 1);
  for (int i = 0; i < 3; i++)
    close_io(&loop, &io[i]);
  CLOSE_LOOP(&loop);
}

TEST(fake_io_bad_arguments) {
  tide_loop loop;
  tide_io io;
  io_rec r = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_ERR(tide_io_init(&loop, &io, -1), TIDE_EBADF);
  ASSERT_OK(tide_io_init(&loop, &io, 0));
  io.handle.data = &r;
  ASSERT_ERR(tide_io_start(&io, 0, io_rec_cb), TIDE_EINVAL);
  ASSERT_EQ(tide_handle_is_active(&io.handle), 0);
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, io_rec_cb));
  ASSERT_ERR(tide_fake_io_inject(&io, 0), TIDE_EINVAL);
  tide_handle_close(&io.handle, io_close_cb);
  ASSERT_ERR(tide_io_start(&io, TIDE_READABLE, io_rec_cb), TIDE_ECLOSED);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.closed, 1);
  ASSERT_EQ(r.calls, 0);
  CLOSE_LOOP(&loop);
}

TEST(fake_io_unref_and_stop_keepalive) {
  tide_loop loop;
  tide_io io;
  io_rec r = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, 1));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_WRITABLE, io_rec_cb));
  ASSERT_EQ(tide_loop_alive(&loop), 1);
  tide_handle_unref(&io.handle);
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  tide_handle_ref(&io.handle);
  tide_io_stop(&io);
  tide_io_stop(&io); /* idempotent */
  ASSERT_EQ(tide_loop_alive(&loop), 0);
  ASSERT_EQ(tide_fake_io_count(&loop), 0);
  close_io(&loop, &io);
  CLOSE_LOOP(&loop);
}

TEST(fake_io_close_active_watcher) {
  tide_loop loop;
  tide_io io;
  io_rec r = {0};
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_io_init(&loop, &io, 2));
  io.handle.data = &r;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, io_rec_cb));
  ASSERT_OK(tide_fake_io_inject(&io, TIDE_READABLE));
  tide_handle_close(&io.handle, io_close_cb); /* pending event dropped */
  ASSERT_EQ(tide_fake_io_count(&loop), 0);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_EQ(r.calls, 0);
  ASSERT_EQ(r.closed, 1);
  CLOSE_LOOP(&loop);
}

/* A flood of self-rescheduling callbacks; an event injected in the middle is
 * delivered within one tick budget. */
typedef struct io_flood {
  tide_io *io;
  int calls;
  int inject_at;
  int io_seen_at;
  int stop;
} io_flood;

static void io_flood_io_cb(tide_io *io, unsigned events) {
  io_flood *f = io->handle.data;
  ASSERT_EQ(events, TIDE_READABLE);
  f->io_seen_at = f->calls;
  f->stop = 1;
  tide_io_stop(io);
}

static void io_flood_cb(tide_loop *loop, void *ud) {
  io_flood *f = ud;
  f->calls++;
  if (f->calls == f->inject_at) ASSERT_OK(tide_fake_io_inject(f->io, TIDE_READABLE));
  if (!f->stop && f->calls < 100000)
    ASSERT_OK(tide_call_soon(loop, io_flood_cb, f, NULL));
}

TEST(fake_flood_cannot_starve_io) {
  tide_loop loop;
  tide_loop_options opts;
  tide_io io;
  io_flood f;
  io_rec closed = {0};
  memset(&opts, 0, sizeof opts);
  memset(&f, 0, sizeof f);
  opts.tick_budget = 50;
  f.io = &io;
  f.inject_at = 120;
  f.io_seen_at = -1;
  ASSERT_OK(tide_loop_init(&loop, &opts));
  ASSERT_OK(tide_io_init(&loop, &io, 4));
  io.handle.data = &f;
  ASSERT_OK(tide_io_start(&io, TIDE_READABLE, io_flood_io_cb));
  ASSERT_OK(tide_call_soon(&loop, io_flood_cb, &f, NULL));
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  ASSERT_GE(f.io_seen_at, f.inject_at);
  ASSERT_LE(f.io_seen_at - f.inject_at, 50);
  ASSERT_LT(f.calls, 1000);
  io.handle.data = &closed;
  close_io(&loop, &io);
  CLOSE_LOOP(&loop);
}

static void never_signal_cb(tide_signal *sig, int signum) {
  (void)sig;
  (void)signum;
  test__fail(__FILE__, __LINE__, "signal delivered on the fake backend");
}

TEST(fake_signal_not_supported) {
  tide_loop loop;
  tide_signal sig;
  ASSERT_OK(tide_loop_init(&loop, NULL));
  ASSERT_OK(tide_signal_init(&loop, &sig));
  ASSERT_ERR(tide_signal_start(&sig, never_signal_cb, 10), TIDE_ENOSYS);
  ASSERT_EQ(tide_handle_is_active(&sig.handle), 0);
  tide_handle_close(&sig.handle, NULL);
  ASSERT_EQ(tide_loop_run(&loop, TIDE_RUN_DEFAULT), 0);
  CLOSE_LOOP(&loop);
}
