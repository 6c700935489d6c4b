/* fake.c: a backend with a virtual clock and injected I/O; no system calls. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "fake.h"
#include "hostops.h"
#include "queue.h"

#define IO_MASK (TIDE_READABLE | TIDE_WRITABLE)
#define ALL_EVENTS (TIDE_READABLE | TIDE_WRITABLE | TIDE_HANGUP | TIDE_IOERROR)
/* io->priv_backend_slot of a started watcher: its requested events in the low
 * bits and the injected, undelivered events shifted by PENDING_SHIFT. */
#define PENDING_SHIFT 4

/* What the host side of host operations saw, in fixed storage: recording must
 * not allocate, so the allocation counts tests assert stay the library's own. */
#define FAKE_NAME_MAX 64
#define FAKE_DATA_MAX 1024
#define FAKE_CANCEL_RING 64
typedef struct fake_host {
  int fail_code;    /* host_call returns this while non-zero */
  uint64_t calls;   /* host_call accepted */
  uint32_t last_op;
  char last_name[FAKE_NAME_MAX];
  unsigned char last_args[FAKE_DATA_MAX];
  size_t last_args_len; /* the real length; the copy is cut at FAKE_DATA_MAX */
  uint64_t cancels;
  uint32_t cancelled[FAKE_CANCEL_RING]; /* the latest cancelled ops */
  uint64_t dones;   /* call_done notifications */
  uint32_t done_call;
  int done_code;
  unsigned char done_data[FAKE_DATA_MAX];
  size_t done_len;
} fake_host;

/* Invariants: a watcher is started iff its priv_link is in `watched`. Watchers
 * with pending events were moved to the tail when they became pending, so their
 * order in the list is their injection order. */
typedef struct fake_state {
  uint64_t now;
  uint64_t clock_reads; /* tide__backend_now calls */
  uint64_t polls;
  int64_t last_timeout;
  int wakeup; /* set by tide__backend_wakeup from any thread: atomics only */
  size_t nwatched;
  tide__qnode watched;
  uint64_t reports;
  char last_report[256];
  fake_host host;
} fake_state;

#define IO_OF_LINK(node) tide__container_of(node, tide_io, priv_link)

static unsigned wanted(const tide_io *io) {
  return (unsigned)io->priv_backend_slot & IO_MASK;
}
static unsigned pending(const tide_io *io) {
  return ((unsigned)io->priv_backend_slot >> PENDING_SHIFT) & ALL_EVENTS;
}
static void set_slot(tide_io *io, unsigned want, unsigned pend) {
  io->priv_backend_slot = (int)(want | (pend << PENDING_SHIFT));
}

int tide__backend_init(tide_loop *loop) {
  fake_state *st = tide_loop_alloc(loop, sizeof *st);
  if (st == NULL) return TIDE_ENOMEM;
  memset(st, 0, sizeof *st);
  tide__q_init(&st->watched);
  loop->priv_backend = st;
  return 0;
}

void tide__backend_close(tide_loop *loop) {
  tide_loop_dealloc(loop, loop->priv_backend);
  loop->priv_backend = NULL;
}

uint64_t tide__backend_now(tide_loop *loop) {
  fake_state *st = loop->priv_backend;
  st->clock_reads++;
  return st->now;
}

/* Virtual time has millisecond steps; saturate like tide_fake_advance. */
uint64_t tide__backend_now_us(tide_loop *loop) {
  uint64_t ms = ((fake_state *)loop->priv_backend)->now;
  return ms > UINT64_MAX / 1000u ? UINT64_MAX : ms * 1000u;
}

int tide__backend_io_update(tide_loop *loop, tide_io *io, unsigned events) {
  fake_state *st = loop->priv_backend;
  unsigned want = events & IO_MASK;
  int on = tide__q_linked(&io->priv_link);
  if (want == 0) { /* stop: drops pending injections with the watcher */
    if (on) {
      tide__q_remove(&io->priv_link);
      st->nwatched--;
    }
    io->priv_backend_slot = -1;
    return 0;
  }
  if (io->priv_fd < 0) return TIDE_EBADF;
  if (on) { /* change: keep what was injected, masked again at delivery */
    set_slot(io, want, pending(io));
    return 0;
  }
  for (tide__qnode *n = st->watched.next; n != &st->watched; n = n->next)
    if (IO_OF_LINK(n)->priv_fd == io->priv_fd) return TIDE_EEXIST;
  tide__q_insert_tail(&st->watched, &io->priv_link);
  st->nwatched++;
  set_slot(io, want, 0);
  return 0;
}

int tide__backend_poll(tide_loop *loop, int64_t timeout_ms) {
  fake_state *st = loop->priv_backend;
  int delivered = 0;
  st->polls++;
  st->last_timeout = timeout_ms;
  /* Take this poll's injections into a private batch, each moved back before
   * its callback: a callback may then stop (unlink) any watcher, and what it
   * injects into a watcher already delivered waits for the next poll. */
  tide__qnode batch;
  tide__q_init(&batch);
  for (tide__qnode *n = st->watched.next, *next; n != &st->watched; n = next) {
    next = n->next;
    if (pending(IO_OF_LINK(n)) == 0) continue;
    tide__q_remove(n);
    tide__q_insert_tail(&batch, n);
  }
  while (batch.next != &batch) {
    tide__qnode *n = batch.next;
    tide__q_remove(n);
    tide__q_insert_tail(&st->watched, n);
    tide_io *io = IO_OF_LINK(n);
    unsigned want = wanted(io), got = pending(io);
    set_slot(io, want, 0);
    unsigned ev = got & (want | TIDE_HANGUP | TIDE_IOERROR);
    if (got & (TIDE_HANGUP | TIDE_IOERROR)) ev |= want;
    if (ev == 0) continue;
    delivered = 1;
    tide__loop_io_ready(io, ev);
  }
  if (__atomic_exchange_n(&st->wakeup, 0, __ATOMIC_SEQ_CST)) {
    delivered = 1;
    tide__loop_wakeup_received(loop);
  }
  /* Nothing happened: a real poll would have slept the whole timeout. */
  if (!delivered && timeout_ms > 0) tide_fake_advance(loop, (uint64_t)timeout_ms);
  return 0;
}

void tide__backend_wakeup(tide_loop *loop) {
  fake_state *st = loop->priv_backend;
  __atomic_store_n(&st->wakeup, 1, __ATOMIC_SEQ_CST);
}

void tide__backend_report(tide_loop *loop, const char *line) {
  fake_state *st = loop->priv_backend;
  st->reports++;
  size_t len = strlen(line);
  if (len >= sizeof st->last_report) len = sizeof st->last_report - 1;
  memcpy(st->last_report, line, len);
  st->last_report[len] = '\0';
  fprintf(stderr, "%s\n", line);
}

/* --- Test controls (fake.h) ----------------------------------------------- */

void tide_fake_advance(tide_loop *loop, uint64_t ms) {
  fake_state *st = loop->priv_backend;
  st->now = ms > UINT64_MAX - st->now ? UINT64_MAX : st->now + ms;
}

void tide_fake_lazy_time(tide_loop *loop, int on) {
  loop->priv_lazy_time = on != 0;
}

uint64_t tide_fake_clock_reads(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->clock_reads;
}

int tide_fake_io_inject(tide_io *io, unsigned events) {
  if (events == 0 || (events & ~(unsigned)ALL_EVENTS)) return TIDE_EINVAL;
  if (!tide__q_linked(&io->priv_link)) return TIDE_ESTATE;
  unsigned want = wanted(io), pend = pending(io);
  if ((events & (want | TIDE_HANGUP | TIDE_IOERROR)) == 0) return TIDE_EINVAL;
  if (pend == 0) { /* newly pending: to the tail, behind earlier injections */
    fake_state *st = io->handle.priv_loop->priv_backend;
    tide__q_remove(&io->priv_link);
    tide__q_insert_tail(&st->watched, &io->priv_link);
  }
  set_slot(io, want, pend | events);
  return 0;
}

uint64_t tide_fake_poll_count(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->polls;
}

int64_t tide_fake_last_poll_timeout(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->last_timeout;
}

size_t tide_fake_io_count(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->nwatched;
}

uint64_t tide_fake_report_count(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->reports;
}

const char *tide_fake_last_report(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->last_report;
}

/* --- Host operations: the fake plays the host ------------------------------- */

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* The fake records every call's list (tide_fake_host_last_op). */
int tide__backend_host_wants_list(const tide_value *vals, size_t nvals) {
  (void)vals;
  (void)nvals;
  return 1;
}

int tide__backend_host_call(tide_loop *loop, uint32_t op, const char *name, size_t name_len,
                            const tide_value *vals, size_t nvals, const void *args,
                            size_t args_len) {
  (void)vals; /* the fake records the encoded list, as the JS host reads it */
  (void)nvals;
  fake_host *h = &((fake_state *)loop->priv_backend)->host;
  if (h->fail_code != 0) return h->fail_code;
  h->calls++;
  h->last_op = op;
  size_t n = min_size(name_len, FAKE_NAME_MAX - 1);
  memcpy(h->last_name, name, n);
  h->last_name[n] = '\0';
  h->last_args_len = args_len;
  if (args_len > 0) memcpy(h->last_args, args, min_size(args_len, FAKE_DATA_MAX));
  return 0;
}

void tide__backend_host_cancel(tide_loop *loop, uint32_t op) {
  fake_host *h = &((fake_state *)loop->priv_backend)->host;
  h->cancelled[h->cancels % FAKE_CANCEL_RING] = op;
  h->cancels++;
}

void tide__backend_call_done(tide_loop *loop, uint32_t call, int code, const void *data,
                             size_t len) {
  fake_host *h = &((fake_state *)loop->priv_backend)->host;
  h->dones++;
  h->done_call = call;
  h->done_code = code;
  h->done_len = len;
  if (len > 0) memcpy(h->done_data, data, min_size(len, FAKE_DATA_MAX));
}

void tide_fake_host_fail_calls(tide_loop *loop, int code) {
  ((fake_state *)loop->priv_backend)->host.fail_code = code;
}

uint64_t tide_fake_host_call_count(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->host.calls;
}

int tide_fake_host_last_op(const tide_loop *loop, uint32_t *out_op, const char **out_name,
                           const void **out_args, size_t *out_args_len) {
  const fake_host *h = &((const fake_state *)loop->priv_backend)->host;
  if (h->calls == 0) return TIDE_ENOENT;
  if (out_op != NULL) *out_op = h->last_op;
  if (out_name != NULL) *out_name = h->last_name;
  if (out_args != NULL) *out_args = h->last_args;
  if (out_args_len != NULL) *out_args_len = h->last_args_len;
  return 0;
}

uint64_t tide_fake_host_cancel_count(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->host.cancels;
}

int tide_fake_host_cancelled(const tide_loop *loop, uint32_t op) {
  const fake_host *h = &((const fake_state *)loop->priv_backend)->host;
  uint64_t n = h->cancels < FAKE_CANCEL_RING ? h->cancels : FAKE_CANCEL_RING;
  for (uint64_t i = 0; i < n; i++)
    if (h->cancelled[(h->cancels - 1 - i) % FAKE_CANCEL_RING] == op) return 1;
  return 0;
}

/* The copy stands for the buffer JS fills from tide_js_alloc: the loop's
 * allocator, taken by tide__host_complete. */
static int copy_in(tide_loop *loop, const void *data, size_t len, void **out_buf) {
  *out_buf = NULL;
  if (len == 0) return 0;
  void *buf = tide_loop_alloc(loop, len);
  if (buf == NULL) return TIDE_ENOMEM;
  memcpy(buf, data, len);
  *out_buf = buf;
  return 0;
}

int tide_fake_host_complete(tide_loop *loop, uint32_t op, int code, const void *data,
                            size_t len) {
  void *buf;
  int rc = copy_in(loop, data, len, &buf);
  return rc != 0 ? rc : tide__host_complete(loop, op, code, buf, len);
}

int tide_fake_call_task(tide_loop *loop, const char *name, const void *args,
                        size_t args_len) {
  void *buf;
  int rc = copy_in(loop, args, args_len, &buf);
  return rc != 0 ? rc : tide__host_call_task(loop, name, strlen(name), buf, args_len);
}

int tide_fake_cancel_call(tide_loop *loop, uint32_t call) {
  return tide__host_cancel_call(loop, call);
}

uint64_t tide_fake_call_done_count(const tide_loop *loop) {
  return ((const fake_state *)loop->priv_backend)->host.dones;
}

int tide_fake_call_done_last(const tide_loop *loop, uint32_t *out_call, int *out_code,
                             const void **out_data, size_t *out_len) {
  const fake_host *h = &((const fake_state *)loop->priv_backend)->host;
  if (h->dones == 0) return TIDE_ENOENT;
  if (out_call != NULL) *out_call = h->done_call;
  if (out_code != NULL) *out_code = h->done_code;
  if (out_data != NULL) *out_data = h->done_data;
  if (out_len != NULL) *out_len = h->done_len;
  return 0;
}
