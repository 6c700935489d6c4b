/* test-native-loops-threads.c (tide-tests only: real threads and sockets): one
 * loop per thread, the way a server uses several cores (tide.h,
 * tide_tcp_listen_ex): several loops running at once, each with its own
 * timers, tasks and sockets, listeners sharing one port (TIDE_TCP_REUSEPORT),
 * and tide_async between the loops; then the flag's errors. `scripts/test.sh
 * tsan` runs these under ThreadSanitizer.
 *
 * Each loop is made, and its first work started, on the main thread before its
 * thread starts (pthread_create orders that), runs on its thread only, and is
 * closed on the main thread after the join. Each loop counts what it saw in
 * its own shard, and the main thread checks the counts after the join (an
 * ASSERT on a loop's thread aborts the whole run: a failure too).
 * wasi-skip: WASI preview1 has no threads and no sockets.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "net.h"
#include "test.h"
#include "util.h"

#define WATCHDOG_MS 20000
#define MAX_LOOPS 4

/* What every shard has: a loop, the thread that runs it, a watchdog. */
typedef struct base {
  tide_loop loop;
  pthread_t thread;
  tide_timer dog;
  int run_rc;
  int wrong_thread; /* a callback ran off this loop's thread */
} base;

static void *run_loop(void *arg) {
  base *b = arg;
  b->run_rc = tide_loop_run(&b->loop, TIDE_RUN_DEFAULT);
  return NULL;
}

static void start_threads(base *const *shards, int n) {
  for (int i = 0; i < n; i++) {
    test_watchdog_start(&shards[i]->loop, &shards[i]->dog, WATCHDOG_MS);
    ASSERT_EQ(pthread_create(&shards[i]->thread, NULL, run_loop, shards[i]), 0);
  }
}

static void join_threads(base *const *shards, int n) {
  for (int i = 0; i < n; i++) {
    ASSERT_EQ(pthread_join(shards[i]->thread, NULL), 0);
    ASSERT_EQ(shards[i]->run_rc, 0);
    ASSERT_EQ(shards[i]->wrong_thread, 0);
  }
}

/* After the join: close each loop's remaining handles here, not from the loops'
 * threads, since a tide_async must not be closed while another thread may
 * still send to it. */
static void close_loops(base *const *shards, int n, tide_async *(*async_of)(base *)) {
  for (int i = 0; i < n; i++) {
    test_watchdog_close(&shards[i]->dog);
    tide_handle_close(&async_of(shards[i])->handle, NULL);
    RUN_AND_CLOSE_LOOP(&shards[i]->loop);
  }
}

static void note_thread(base *b) {
  if (!pthread_equal(pthread_self(), b->thread)) b->wrong_thread++;
}

/* --- Each loop its own timers and tasks; a token passed around by tide_async */

#define RING_HOPS 200
#define TICKS 10

typedef struct ring_shard {
  base b; /* first: a base * is a ring_shard * */
  int index;
  struct ring *ring;
  tide_async token;
  int visits;
  int unrefd;
  tide_timer tick;
  int ticks, tick_closed;
  int sleeps;         /* sleeper: 1 ms sleeps done */
  int child_value;    /* parent: what its child returned */
  int victim_saw;     /* the cancelled task: what its sleep returned */
  int awaiter_saw;    /* what awaiting the cancelled task gave */
} ring_shard;

typedef struct ring {
  ring_shard shard[MAX_LOOPS];
  int n;
  atomic_int hops;
  atomic_int finished;
} ring;

/* The token visits loops 0, 1, ..., n-1, 0, ... for RING_HOPS hops in all; the
 * loop that makes the last hop tells every loop that the ring is over, and
 * each then unrefs its handle (so its loop can end) but never closes it while
 * other threads may still send to it. */
static void on_token(tide_async *a) {
  ring_shard *s = a->handle.data;
  note_thread(&s->b);
  ring *r = s->ring;
  if (!atomic_load(&r->finished)) {
    s->visits++;
    if (atomic_fetch_add(&r->hops, 1) + 1 < RING_HOPS) {
      ASSERT_OK(tide_async_send(&r->shard[(s->index + 1) % r->n].token));
      return;
    }
    atomic_store(&r->finished, 1);
    for (int i = 0; i < r->n; i++)
      if (i != s->index) ASSERT_OK(tide_async_send(&r->shard[i].token));
  }
  if (!s->unrefd) {
    tide_handle_unref(&a->handle);
    s->unrefd = 1;
  }
}

static void tick_closed(tide_handle *h) {
  ((ring_shard *)h->data)->tick_closed++;
}

static void on_tick(tide_timer *t) {
  ring_shard *s = t->handle.data;
  note_thread(&s->b);
  if (++s->ticks == TICKS) tide_handle_close(&t->handle, tick_closed);
}

typedef struct sleeper {
  ring_shard *s;
  int i, rc;
} sleeper;

static int sleeper_main(tide_task *t, void *frame) {
  sleeper *f = frame;
  TIDE_BEGIN(t);
  for (f->i = 0; f->i < 10; f->i++) {
    TIDE_SLEEP(t, 1, f->rc);
    if (f->rc != 0) break;
    f->s->sleeps++;
  }
  TIDE_END(t);
}

static int child_main(tide_task *t, void *frame) {
  ring_shard **s = frame;
  int rc;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 2, rc);
  if (rc != 0) TIDE_RETURN_ERROR(t, rc, NULL);
  TIDE_RETURN_INT(t, (*s)->index * 10 + 7);
  TIDE_END(t);
}

/* Sleeps "forever" until cancelled; records what its sleep returned. */
static int victim_main(tide_task *t, void *frame) {
  ring_shard **s = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 600000, (*s)->victim_saw);
  TIDE_END(t);
}

/* Spawns a child and awaits its value; spawns a victim, cancels it after a
 * sleep, and awaits it. */
typedef struct parent {
  ring_shard *s;
  tide_task *child, *victim;
  tide_value v;
  int rc;
} parent;

static int parent_main(tide_task *t, void *frame) {
  parent *f = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  ASSERT_OK(tide_task_spawn(loop, child_main, &f->s, sizeof f->s, &f->child));
  ASSERT_OK(tide_task_spawn(loop, victim_main, &f->s, sizeof f->s, &f->victim));
  TIDE_AWAIT(t, tide_task_future(f->child), f->rc);
  if (f->rc == 0 && tide_future_result(tide_task_future(f->child), &f->v) == 0)
    f->s->child_value = (int)f->v.as.i;
  tide_task_release(f->child);
  TIDE_SLEEP(t, 3, f->rc);
  tide_task_cancel(f->victim);
  TIDE_AWAIT(t, tide_task_future(f->victim), f->s->awaiter_saw);
  tide_task_release(f->victim);
  TIDE_END(t);
}

static tide_async *ring_async(base *b) {
  return &((ring_shard *)b)->token;
}

TEST(loops_on_threads_own_timers_tasks_and_async) {
  static ring r; /* large: off the stack */
  base *bases[MAX_LOOPS];
  memset(&r, 0, sizeof r);
  r.n = MAX_LOOPS;
  atomic_init(&r.hops, 0);
  atomic_init(&r.finished, 0);
  for (int i = 0; i < r.n; i++) {
    ring_shard *s = &r.shard[i];
    bases[i] = &s->b;
    s->index = i;
    s->ring = &r;
    ASSERT_OK(tide_loop_init(&s->b.loop, NULL));
    ASSERT_OK(tide_async_init(&s->b.loop, &s->token, on_token));
    s->token.handle.data = s;
    ASSERT_OK(tide_timer_init(&s->b.loop, &s->tick));
    s->tick.handle.data = s;
    ASSERT_OK(tide_timer_start(&s->tick, on_tick, 1, 1));
    sleeper sl = {s, 0, 0};
    parent pa = {0};
    pa.s = s;
    ASSERT_OK(tide_task_spawn(&s->b.loop, sleeper_main, &sl, sizeof sl, NULL));
    ASSERT_OK(tide_task_spawn(&s->b.loop, parent_main, &pa, sizeof pa, NULL));
  }
  start_threads(bases, r.n);
  /* The first hop comes from this thread, while every loop is running. */
  ASSERT_OK(tide_async_send(&r.shard[0].token));
  join_threads(bases, r.n);
  close_loops(bases, r.n, ring_async);
  ASSERT_EQ(atomic_load(&r.hops), RING_HOPS);
  for (int i = 0; i < r.n; i++) {
    ring_shard *s = &r.shard[i];
    ASSERT_EQ(s->visits, RING_HOPS / r.n); /* in order round the ring */
    ASSERT_EQ(s->ticks, TICKS);
    ASSERT_EQ(s->tick_closed, 1);
    ASSERT_EQ(s->sleeps, 10);
    ASSERT_EQ(s->child_value, i * 10 + 7);
    ASSERT_ERR(s->victim_saw, TIDE_ECANCELED);
    ASSERT_ERR(s->awaiter_saw, TIDE_ECANCELED);
  }
}

/* --- One port, a listener per loop, clients on every loop -------------------- */

#define ECHO_LOOPS 3
#define CLIENTS_PER_LOOP 40
#define ROUNDS 3
#define MSG_LEN 200

typedef struct echo_shard {
  base b;
  int index;
  struct echo_world *world;
  tide_async stop;
  tide_tcp_listener *listener;
  tide_task *server;
  int accepted;  /* connections this loop's listener took */
  int served;    /* of those, echoed to their end */
  int clients_ok; /* clients started on this loop that saw every echo */
  int failures;  /* an unexpected outcome anywhere on this loop */
} echo_shard;

typedef struct echo_world {
  echo_shard shard[ECHO_LOOPS];
  int port;
  atomic_int clients_done;
} echo_world;

/* Every client of every loop is done: stop every loop's accepting. */
static void on_stop(tide_async *a) {
  echo_shard *s = a->handle.data;
  note_thread(&s->b);
  tide_task_cancel(s->server);
  tide_handle_unref(&a->handle);
}

static void client_finished(echo_shard *s, int ok) {
  if (ok) s->clients_ok++;
  else s->failures++;
  if (atomic_fetch_add(&s->world->clients_done, 1) + 1 == ECHO_LOOPS * CLIENTS_PER_LOOP)
    for (int i = 0; i < ECHO_LOOPS; i++)
      ASSERT_OK(tide_async_send(&s->world->shard[i].stop));
}

/* The server side of one connection: echo each chunk, awaiting its write,
 * until the client ends its side. */
typedef struct conn {
  echo_shard *s;
  tide_stream *stream;
  tide_future f;
  void *data;
  size_t len;
  int rc;
} conn;

static int conn_main(tide_task *t, void *frame) {
  conn *c = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  for (;;) {
    tide_future_init(loop, &c->f);
    c->rc = tide_stream_read(c->stream, 0, &c->f);
    if (c->rc == 0) TIDE_AWAIT(t, &c->f, c->rc);
    if (c->rc == 0) c->rc = tide_future_take_bytes(&c->f, &c->data, &c->len);
    tide_future_release(&c->f);
    if (c->rc != 0) break;
    tide_future_init(loop, &c->f);
    c->rc = tide_stream_write(c->stream, c->data, c->len, &c->f);
    tide_loop_dealloc(loop, c->data);
    if (c->rc == 0) TIDE_AWAIT(t, &c->f, c->rc);
    tide_future_release(&c->f);
    if (c->rc != 0) break;
  }
  if (c->rc == TIDE_EOF) c->s->served++;
  else c->s->failures++;
  tide_stream_close(c->stream, NULL);
  TIDE_END(t);
}

typedef struct server {
  echo_shard *s;
  tide_future f;
  int rc;
} server;

static int server_main(tide_task *t, void *frame) {
  server *sv = frame;
  tide_loop *loop = tide_task_loop(t);
  TIDE_BEGIN(t);
  for (;;) {
    tide_future_init(loop, &sv->f);
    sv->rc = tide_tcp_accept(sv->s->listener, &sv->f);
    if (sv->rc == 0) TIDE_AWAIT(t, &sv->f, sv->rc);
    if (sv->rc == 0) {
      conn c = {0};
      c.s = sv->s;
      c.stream = stream_of(&sv->f);
      sv->s->accepted++;
      if (tide_task_spawn(loop, conn_main, &c, sizeof c, NULL) != 0) {
        sv->s->failures++;
        tide_stream_close(c.stream, NULL);
      }
    }
    tide_future_release(&sv->f);
    if (sv->rc != 0) break;
  }
  if (sv->rc != TIDE_ECANCELED) sv->s->failures++;
  tide_tcp_listener_close(sv->s->listener);
  TIDE_END(t);
}

/* A client: connect to the shared port (whichever loop takes it), then
 * ROUNDS times send a message no other client sends and read until all of it
 * came back, byte for byte. */
typedef struct client {
  echo_shard *s;
  int id, round, rc;
  size_t got;
  tide_stream *stream;
  tide_future f;
  char msg[MSG_LEN], back[MSG_LEN];
} client;

static int client_main(tide_task *t, void *frame) {
  client *c = frame;
  tide_loop *loop = tide_task_loop(t);
  tide_value v;
  void *data;
  size_t len;
  TIDE_BEGIN(t);
  tide_future_init(loop, &c->f);
  c->rc = tide_tcp_connect(loop, "127.0.0.1", c->s->world->port, &c->f);
  if (c->rc == 0) TIDE_AWAIT(t, &c->f, c->rc);
  if (c->rc == 0 && tide_future_result(&c->f, &v) == 0) c->stream = v.as.p;
  tide_future_release(&c->f);
  if (c->stream == NULL) {
    client_finished(c->s, 0);
    TIDE_RETURN(t);
  }
  for (c->round = 0; c->round < ROUNDS; c->round++) {
    for (int i = 0; i < MSG_LEN; i++)
      c->msg[i] = (char)('a' + (c->s->index * 7 + c->id * 3 + c->round + i) % 26);
    (void)snprintf(c->msg, MSG_LEN, "loop %d client %d round %d:", c->s->index, c->id,
                   c->round);
    c->rc = tide_stream_write(c->stream, c->msg, MSG_LEN, NULL);
    for (c->got = 0; c->rc == 0 && c->got < MSG_LEN;) {
      tide_future_init(loop, &c->f);
      c->rc = tide_stream_read(c->stream, MSG_LEN - c->got, &c->f);
      if (c->rc == 0) TIDE_AWAIT(t, &c->f, c->rc);
      if (c->rc == 0) c->rc = tide_future_take_bytes(&c->f, &data, &len);
      tide_future_release(&c->f);
      if (c->rc == 0) {
        memcpy(c->back + c->got, data, len);
        c->got += len;
        tide_loop_dealloc(loop, data);
      }
    }
    if (c->rc != 0 || memcmp(c->msg, c->back, MSG_LEN) != 0) break;
  }
  tide_stream_close(c->stream, NULL);
  client_finished(c->s, c->round == ROUNDS);
  TIDE_END(t);
}

static tide_async *echo_async(base *b) {
  return &((echo_shard *)b)->stop;
}

static int listen_ex_now(tide_loop *loop, int port, unsigned flags, tide_tcp_listener **out) {
  tide_future f;
  tide_value v;
  tide_future_init(loop, &f);
  int rc = tide_tcp_listen_ex(loop, "127.0.0.1", port, 0, flags, &f);
  if (rc == 0) {
    run_until_done(loop, &f);
    rc = tide_future_result(&f, &v);
    if (rc == 0) *out = v.as.p;
  }
  tide_future_release(&f);
  return rc;
}

TEST(loops_on_threads_serve_one_port_with_reuseport) {
  static echo_world w;
  base *bases[ECHO_LOOPS];
  int fds_before = count_fds();
  memset(&w, 0, sizeof w);
  atomic_init(&w.clients_done, 0);
  for (int i = 0; i < ECHO_LOOPS; i++) {
    echo_shard *s = &w.shard[i];
    bases[i] = &s->b;
    s->index = i;
    s->world = &w;
    ASSERT_OK(tide_loop_init(&s->b.loop, NULL));
    /* The first listener picks the port, the others share it. */
    ASSERT_OK(listen_ex_now(&s->b.loop, w.port, TIDE_TCP_REUSEPORT, &s->listener));
    if (i == 0) w.port = tide_tcp_listener_port(s->listener);
    ASSERT_EQ(tide_tcp_listener_port(s->listener), w.port);
    ASSERT_OK(tide_async_init(&s->b.loop, &s->stop, on_stop));
    s->stop.handle.data = s;
    server sv = {0};
    sv.s = s;
    ASSERT_OK(tide_task_spawn(&s->b.loop, server_main, &sv, sizeof sv, &s->server));
    for (int c = 0; c < CLIENTS_PER_LOOP; c++) {
      client init = {0}; /* the frame is a copy */
      init.s = s;
      init.id = c;
      ASSERT_OK(tide_task_spawn(&s->b.loop, client_main, &init, sizeof init, NULL));
    }
  }
  start_threads(bases, ECHO_LOOPS);
  join_threads(bases, ECHO_LOOPS);
  int accepted = 0, served = 0;
  for (int i = 0; i < ECHO_LOOPS; i++) {
    echo_shard *s = &w.shard[i];
    ASSERT_EQ(s->failures, 0);
    ASSERT_EQ(s->clients_ok, CLIENTS_PER_LOOP);
    ASSERT_EQ(s->accepted, s->served);
    /* The kernel spreads connections by a hash of their addresses: with 120 of
     * them, a listener that got none means the port was not shared. */
    ASSERT_GT(s->accepted, 0);
    ASSERT_ERR(tide_future_result(tide_task_future(s->server), NULL), TIDE_ECANCELED);
    tide_task_release(s->server);
    accepted += s->accepted;
    served += s->served;
  }
  /* Every connection was served by exactly one loop. */
  ASSERT_EQ(accepted, ECHO_LOOPS * CLIENTS_PER_LOOP);
  ASSERT_EQ(served, ECHO_LOOPS * CLIENTS_PER_LOOP);
  close_loops(bases, ECHO_LOOPS, echo_async);
  ASSERT_EQ(count_fds(), fds_before);
}

/* --- The flag's errors ---------------------------------------------------------- */

TEST(tcp_listen_ex_reuseport_needs_every_listener_to_ask) {
  tide_loop loop;
  tide_future f;
  tide_tcp_listener *shared1, *shared2, *alone, *none = NULL;
  ASSERT_OK(tide_loop_init(&loop, NULL));

  /* Unknown flags: refused at once, the future untouched. */
  tide_future_init(&loop, &f);
  ASSERT_ERR(tide_tcp_listen_ex(&loop, "127.0.0.1", 0, 0, 2u, &f), TIDE_EINVAL);
  ASSERT(!tide_future_done(&f));
  tide_future_release(&f);

  /* Two listeners that ask share the port... */
  ASSERT_OK(listen_ex_now(&loop, 0, TIDE_TCP_REUSEPORT, &shared1));
  int port = tide_tcp_listener_port(shared1);
  ASSERT_OK(listen_ex_now(&loop, port, TIDE_TCP_REUSEPORT, &shared2));
  /* ...but one that does not ask cannot take it, with or without _ex... */
  ASSERT_ERR(listen_ex_now(&loop, port, 0, &none), TIDE_EADDRINUSE);
  ASSERT_ERR(listen_now(&loop, "127.0.0.1", port, 0, &none), TIDE_EADDRINUSE);
  /* ...and one that asks cannot join a port held by one that did not. */
  ASSERT_OK(listen_ex_now(&loop, 0, 0, &alone));
  ASSERT_ERR(listen_ex_now(&loop, tide_tcp_listener_port(alone), TIDE_TCP_REUSEPORT, &none),
             TIDE_EADDRINUSE);
  ASSERT_NULL(none);

  tide_tcp_listener_close(shared1);
  tide_tcp_listener_close(shared2);
  tide_tcp_listener_close(alone);
  RUN_AND_CLOSE_LOOP(&loop);
}
