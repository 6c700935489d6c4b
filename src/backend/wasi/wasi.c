/* wasi.c: the WASI preview1 backend: one poll_oneoff per iteration.
 *
 * Portable across runtimes (see docs/TOOLCHAIN.md): at most ONE clock subscription per
 * call and always a RELATIVE one (Node's WASI hangs on a monotonic ABSTIME), never
 * zero subscriptions, never trust the event's nbytes, and never subscribe an fd
 * the runtime cannot poll (regular files; /dev/null under Node fails the whole
 * call with EPERM). Such fds are "always ready", as poll(2) treats regular files:
 * they are found at watcher start, by their file type or by a probing poll.
 */
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#include "backend.h"
#include "errno_code.h"
#include "queue.h"

enum { SLOT_POLLED = 0, SLOT_ALWAYS_READY = 1 };
enum { ZERO_POLL_RESCUE = 8 };

typedef struct wasi_state {
  tide__qnode watchers;         /* tide_io via priv_link, in start order */
  size_t nwatchers;
  size_t capacity;              /* watchers the arrays below can hold */
  __wasi_subscription_t *subs;  /* 1 clock + 2 per watcher */
  __wasi_event_t *events;
  tide_io **ios;                /* this poll's watchers, indexed by userdata */
  unsigned *revents;
  int wakeup_pending;           /* no threads here: a flag is enough */
  unsigned zero_polls;          /* consecutive non-blocking polls with fds */
  /* The clock-only poll's storage until the arrays above exist (no watcher
   * has started yet): polling must not allocate, and `in` and `out` must be
   * separate, valid memory. With NULL arrays the subscription went to address
   * 0 and poll_oneoff got 0 for both, which WAMR, writing its event before it
   * has read the subscription, turned into a zero timeout: timer-only waits
   * spun, and TIDE_RUN_ONCE returned before its timer was due. */
  __wasi_subscription_t clock_sub;
  __wasi_event_t clock_event;
} wasi_state;

static wasi_state *state_of(tide_loop *loop) { return loop->priv_backend; }

int tide__backend_init(tide_loop *loop) {
  wasi_state *s = tide_loop_alloc(loop, sizeof *s);
  if (s == NULL) return TIDE_ENOMEM;
  memset(s, 0, sizeof *s);
  tide__q_init(&s->watchers);
  loop->priv_backend = s;
  return 0;
}

static void free_arrays(tide_loop *loop, wasi_state *s) {
  tide_loop_dealloc(loop, s->subs);
  tide_loop_dealloc(loop, s->events);
  tide_loop_dealloc(loop, s->ios);
  tide_loop_dealloc(loop, s->revents);
}

void tide__backend_close(tide_loop *loop) {
  wasi_state *s = state_of(loop);
  free_arrays(loop, s);
  tide_loop_dealloc(loop, s);
}

uint64_t tide__backend_now(tide_loop *loop) {
  (void)loop;
  __wasi_timestamp_t ns = 0;
  if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1000000, &ns) != 0) return 0;
  return ns / 1000000u;
}

uint64_t tide__backend_now_us(tide_loop *loop) {
  (void)loop;
  __wasi_timestamp_t ns = 0;
  if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1000, &ns) != 0) return 0;
  return ns / 1000u;
}

/* Grow every array together so a started watcher always fits in the next poll;
 * growing happens only at watcher start, where TIDE_ENOMEM can be reported. */
static int reserve(tide_loop *loop, wasi_state *s, size_t watchers) {
  if (watchers <= s->capacity) return 0;
  size_t cap = s->capacity ? s->capacity * 2 : 8;
  while (cap < watchers) cap *= 2;
  __wasi_subscription_t *subs = tide_loop_alloc(loop, (1 + 2 * cap) * sizeof *subs);
  __wasi_event_t *events = tide_loop_alloc(loop, (1 + 2 * cap) * sizeof *events);
  tide_io **ios = tide_loop_alloc(loop, cap * sizeof *ios);
  unsigned *revents = tide_loop_alloc(loop, cap * sizeof *revents);
  if (subs == NULL || events == NULL || ios == NULL || revents == NULL) {
    tide_loop_dealloc(loop, subs);
    tide_loop_dealloc(loop, events);
    tide_loop_dealloc(loop, ios);
    tide_loop_dealloc(loop, revents);
    return TIDE_ENOMEM;
  }
  /* A callback may start a watcher while poll is dispatching from these arrays:
   * keep what they hold. */
  if (s->capacity > 0) {
    memcpy(ios, s->ios, s->capacity * sizeof *ios);
    memcpy(revents, s->revents, s->capacity * sizeof *revents);
  }
  free_arrays(loop, s);
  s->subs = subs;
  s->events = events;
  s->ios = ios;
  s->revents = revents;
  s->capacity = cap;
  return 0;
}

static void fd_subscription(__wasi_subscription_t *sub, uint64_t userdata, int fd,
                            unsigned event) {
  memset(sub, 0, sizeof *sub);
  sub->userdata = userdata;
  sub->u.tag = event == TIDE_READABLE ? __WASI_EVENTTYPE_FD_READ : __WASI_EVENTTYPE_FD_WRITE;
  if (event == TIDE_READABLE)
    sub->u.u.fd_read.file_descriptor = (__wasi_fd_t)fd;
  else
    sub->u.u.fd_write.file_descriptor = (__wasi_fd_t)fd;
}

static void clock_subscription(__wasi_subscription_t *sub, uint64_t timeout_ns) {
  memset(sub, 0, sizeof *sub);
  sub->userdata = UINT64_MAX;
  sub->u.tag = __WASI_EVENTTYPE_CLOCK;
  sub->u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub->u.u.clock.timeout = timeout_ns; /* relative: flags stay 0 */
}

/* Can this runtime poll fd for events? Regular files and directories never
 * block; anything else is asked once, with a zero timeout beside it. */
static int probe_always_ready(int fd, unsigned events) {
  __wasi_fdstat_t st;
  if (__wasi_fd_fdstat_get((__wasi_fd_t)fd, &st) != 0) return -1;
  if (st.fs_filetype == __WASI_FILETYPE_REGULAR_FILE ||
      st.fs_filetype == __WASI_FILETYPE_DIRECTORY)
    return 1;
  __wasi_subscription_t subs[2];
  __wasi_event_t out[2];
  __wasi_size_t n = 0;
  fd_subscription(&subs[0], 0, fd, (events & TIDE_READABLE) ? TIDE_READABLE : TIDE_WRITABLE);
  clock_subscription(&subs[1], 0);
  return __wasi_poll_oneoff(subs, out, 2, &n) != 0 ? 1 : 0;
}

int tide__backend_io_update(tide_loop *loop, tide_io *io, unsigned events) {
  wasi_state *s = state_of(loop);
  int watching = tide__q_linked(&io->priv_link);
  if (events == 0) {
    if (watching) {
      tide__q_remove(&io->priv_link);
      s->nwatchers--;
    }
    return 0;
  }
  if (!watching) {
    for (tide__qnode *n = s->watchers.next; n != &s->watchers; n = n->next)
      if (tide__container_of(n, tide_io, priv_link)->priv_fd == io->priv_fd)
        return TIDE_EEXIST;
    int rc = reserve(loop, s, s->nwatchers + 1);
    if (rc != 0) return rc;
  }
  if (!watching) {
    /* Probe once per start: a changed event mask keeps the fd's kind. */
    int always = probe_always_ready(io->priv_fd, events);
    if (always < 0) return TIDE_EBADF;
    io->priv_backend_slot = always ? SLOT_ALWAYS_READY : SLOT_POLLED;
    tide__q_insert_tail(&s->watchers, &io->priv_link);
    s->nwatchers++;
  }
  return 0;
}

void tide__backend_wakeup(tide_loop *loop) { state_of(loop)->wakeup_pending = 1; }

void tide__backend_report(tide_loop *loop, const char *line) {
  (void)loop;
  fprintf(stderr, "%s\n", line);
  fflush(stderr);
}

int tide__backend_poll(tide_loop *loop, int64_t timeout_ms) {
  wasi_state *s = state_of(loop);
  size_t nsubs = 0, nios = 0;
  int any_always_ready = 0;
  if (s->wakeup_pending) timeout_ms = 0;
  for (tide__qnode *n = s->watchers.next; n != &s->watchers; n = n->next) {
    tide_io *io = tide__container_of(n, tide_io, priv_link);
    s->ios[nios] = io;
    if (io->priv_backend_slot == SLOT_ALWAYS_READY) {
      s->revents[nios] = io->priv_events;
      any_always_ready = 1;
    } else {
      s->revents[nios] = 0;
      if (io->priv_events & TIDE_READABLE)
        fd_subscription(&s->subs[nsubs++], nios, io->priv_fd, TIDE_READABLE);
      if (io->priv_events & TIDE_WRITABLE)
        fd_subscription(&s->subs[nsubs++], nios, io->priv_fd, TIDE_WRITABLE);
    }
    nios++;
  }
  if (any_always_ready) timeout_ms = 0;
  /* Node's WASI (uvwasi) lets a clock under 1 ms win before it looks at fds, so a
   * loop that always has work ready would never see a pipe become readable.
   * Every ZERO_POLL_RESCUE-th non-blocking poll with fd subscriptions therefore
   * waits up to 1 ms: a runtime that reports ready fds at once returns
   * immediately anyway, and a busy loop pays at most 1 ms per that many
   * iterations (each up to tick_budget callbacks). */
  if (timeout_ms == 0 && nsubs > 0) {
    if (++s->zero_polls >= ZERO_POLL_RESCUE) {
      s->zero_polls = 0;
      timeout_ms = 1;
    }
  } else {
    s->zero_polls = 0;
  }
  if (timeout_ms != 0 || nsubs > 0) {
    /* No arrays means no watcher, so nsubs is 0 and the clock fits alone. */
    __wasi_subscription_t *subs = s->subs != NULL ? s->subs : &s->clock_sub;
    __wasi_event_t *events = s->events != NULL ? s->events : &s->clock_event;
    /* One relative clock; "no limit" becomes a long one, as a call needs at least
     * one subscription and some runtimes block forever on an empty list. */
    uint64_t ms = timeout_ms < 0 ? 24u * 3600u * 1000u : (uint64_t)timeout_ms;
    clock_subscription(&subs[nsubs++], ms * 1000000u);
    __wasi_size_t nevents = 0;
    __wasi_errno_t err = __wasi_poll_oneoff(subs, events, (__wasi_size_t)nsubs, &nevents);
    if (err == __WASI_ERRNO_INTR) return 0;
    /* wasi-libc's errno values are WASI's error numbers. */
    if (err != 0) return tide__errno_code((int)err);
    for (__wasi_size_t i = 0; i < nevents; i++) {
      const __wasi_event_t *ev = &events[i];
      if (ev->type == __WASI_EVENTTYPE_CLOCK || ev->userdata >= nios) continue;
      unsigned got = ev->type == __WASI_EVENTTYPE_FD_READ ? TIDE_READABLE : TIDE_WRITABLE;
      if (ev->error != 0) got |= TIDE_IOERROR;
      if (ev->fd_readwrite.flags & __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP) got |= TIDE_HANGUP;
      s->revents[ev->userdata] |= got;
    }
  }
  if (s->wakeup_pending) {
    s->wakeup_pending = 0;
    tide__loop_wakeup_received(loop);
  }
  /* The core drops events for watchers stopped by an earlier callback. */
  for (size_t i = 0; i < nios; i++)
    if (s->revents[i] != 0) tide__loop_io_ready(s->ios[i], s->revents[i]); /* re-read: may grow */
  return 0;
}
