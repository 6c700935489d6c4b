/* tide/private.h: the layouts of tideloop's objects. Not a header of its own:
 * do not include it directly; include "tide.h", which includes it at its end.
 *
 * It defines in full the types that live in caller storage (tide_loop,
 * tide_call, tide_future, the handles, timeout scopes, as_completed iterators,
 * task groups and the synchronization primitives), so that a program can declare
 * them on the stack or embed them in its own structures; what they are for and
 * the functions that work on them are in tide.h, under the same headings.
 *
 * Every field here is private to the library: read or write none of them, since
 * any release may change them (and so the sizes: rebuild against the new
 * headers). The one exception is a handle's head: tide_handle's `data` is the
 * user's, and each handle type starts with a `tide_handle handle` member (see
 * tide.h, "Handles"). The tide__* types are building blocks shared with the
 * library's sources, as private as the fields.
 */
#ifndef TIDE_H
#error "tide/private.h is part of tide.h: include \"tide.h\" instead"
#elif !defined(TIDE_PRIVATE_H)
#define TIDE_PRIVATE_H

/* ------------------------------------------------------------------------ */
/* Building blocks                                                           */
/* ------------------------------------------------------------------------ */

/* Intrusive doubly linked list node; a list head is a node linked to itself. */
typedef struct tide__qnode {
  struct tide__qnode *next;
  struct tide__qnode *prev;
} tide__qnode;

/* Something the loop can run from its ready queue. */
typedef struct tide__runnable {
  tide__qnode link;
  void (*run)(struct tide__runnable *self);
} tide__runnable;

/* Something that can be in the loop's timers: a heap of buckets, each a ring of
 * entries with one deadline in seq order (src/core/heap.h). slot is the heap
 * index of a bucket's first entry, TIDE__HEAP_MEMBER for the others,
 * TIDE__HEAP_NONE when not scheduled. When due, the loop appends to the ready
 * queue the runnable of its owner that `due` locates, in bytes from the entry
 * (a pointer would cost every timer 8 bytes more); a task's entry has none
 * (due 0): it stands for the earliest of the task's deadlines. */
typedef struct tide__timer_entry {
  struct tide__timer_entry *next, *prev; /* its bucket's ring */
  uint64_t seq;
  uint32_t slot;
  int32_t due;
} tide__timer_entry;

/* ------------------------------------------------------------------------ */
/* Loop                                                                      */
/* ------------------------------------------------------------------------ */

struct tide_loop {
  tide_alloc_fn priv_alloc;
  void *priv_alloc_ud;
  void *priv_backend; /* the backend's state, allocated by it */
  uint64_t priv_now;
  uint64_t priv_timer_seq;
  struct tide__heap_slot *priv_timer_heap; /* the timer heap's array (heap.h) */
  size_t priv_timer_count;    /* entries in it */
  size_t priv_timer_cap;      /* its slots */
  size_t priv_timer_reserved; /* slots reserved (heap.h): <= cap */
  struct tide__timer_entry *priv_timer_open; /* the bucket still taking entries */
  size_t priv_timer_open_size;               /* and its entries */
  struct tide__timer_entry *priv_task_open;  /* the same, for tasks' entries */
  size_t priv_task_heads; /* slots held by buckets of tasks' entries */
  int priv_task_slot;     /* the tasks' one reservation is taken */
  int priv_task_mixed;    /* a bucket of them may mix deadlines (heap.c) */
  tide__qnode priv_ready; /* work for the next tick */
  tide__qnode priv_tick;  /* what is left of the current tick's snapshot */
  tide__qnode priv_signals;
  tide__qnode priv_asyncs;
  tide__qnode priv_tasks; /* every live task, for the task dump and close */
  unsigned priv_tick_budget;
  unsigned priv_active_refs; /* referenced active handles and calls */
  unsigned priv_registered;  /* handles not closed, tasks not freed, calls queued */
  int priv_stop;
  int priv_running;
  int priv_allocated;
  int priv_async_pending; /* set from other threads with atomics */
  tide_task *priv_current;
  tide_future *priv_dispatching; /* the future whose waiters are being notified */
  tide__qnode *priv_dispatch_batch; /* and the waiters still to notify */
  uint64_t priv_task_seq;
  /* tide_task_name's answer for a task whose name block it could not make
   * (out of memory): valid until the next such answer. */
  char priv_task_name[32];
  void *priv_call_free; /* pooled call records: free list */
  void *priv_call_slabs;
  void *priv_task_pool; /* the tasks' size classes (task_pool.c) */
  tide_error_handler priv_error_handler;
  void *priv_error_ud;
  void *priv_host; /* host operations and exported tasks (src/hostops) */
  unsigned priv_host_ops; /* host operations in flight (autojump waits for them) */
  unsigned priv_waker_refs; /* referenced active handles that are not timers */
  int priv_clock;         /* tide_clock_mode: where priv_now comes from */
  /* Lazy time (a backend that sets priv_lazy_time: the JS host, whose ticks
   * mostly need no time): an iteration marks priv_now stale instead of
   * reading the clock, and the first use reads it (internal.h tide__now). */
  unsigned char priv_lazy_time;
  unsigned char priv_now_stale;
  void (*priv_host_close)(tide_loop *loop); /* frees priv_host at close */
  int priv_exit_code;
  /* Diagnostics (diag.c, trace.c): TIDE__DIAG_* bits tested on the hot paths,
   * 0 when every diagnostic is off, and their state (loop allocator). */
  unsigned priv_diag;
  void *priv_diag_state;
};

/* ------------------------------------------------------------------------ */
/* One-shot callbacks                                                        */
/* ------------------------------------------------------------------------ */

/* A scheduled call's reference: its pooled record and that record's generation. */
struct tide_call {
  void *priv_record;
  uint32_t priv_gen;
};

/* ------------------------------------------------------------------------ */
/* Futures                                                                   */
/* ------------------------------------------------------------------------ */

/* Private: what the loop calls when a waiter's future completes. */
typedef struct tide__waiter {
  tide__qnode link;
  void (*notify)(struct tide__waiter *self, tide_future *future);
} tide__waiter;

/* priv_flags bit of a task's future (the other bits are the core's own). */
#define TIDE__FUTURE_TASK 2

struct tide_future {
  tide_loop *priv_loop;
  uint8_t priv_state;
  uint8_t priv_flags;
  /* A task's state bits and count of cancellation requests (struct tide_task,
   * src/core/internal.h), in room its future has anyway. */
  uint16_t priv_task_flags;
  uint32_t priv_task_cancels;
  tide__qnode priv_waiters; /* tide__waiter: tasks and done callbacks */
  /* Queued when done and waiters exist. Until then a task's future lends it to
   * its task: as the task's step in the ready queue, or as its waiter on what
   * it awaits, one at a time (src/core/task.c). */
  union {
    tide__runnable priv_dispatch;
    tide__waiter priv_task_waiter;
  };
  /* What its producer keeps while it is pending, or its outcome once done:
   * never both at once, so they share the storage and priv_state says which
   * is there. Completing overwrites the pending part, hook included. */
  union {
    struct {
      tide_future_cancel_hook hook;
      void *ud;
      /* A future parked on a synchronization primitive: its wait's data
       * (src/core/sync.h). */
      void *wait_ptr;
      int wait_int;
    } priv_pending;
    /* The pending part of a task's future, which has no hook (its coroutine
     * is its producer): the task's entry in the timer heap and its step
     * function, which it needs only until it finishes (src/core/internal.h). */
    struct {
      tide__timer_entry timer;
      tide_task_fn fn;
    } priv_task;
    tide_value priv_value; /* TIDE_FUTURE_RESULT */
    struct {
      char *msg; /* NULL: tide_strerror(code) */
      int code;
    } priv_error; /* TIDE_FUTURE_ERROR */
  };
};

/* ------------------------------------------------------------------------ */
/* Tasks                                                                     */
/* ------------------------------------------------------------------------ */

/* A task's coroutine state, which the TIDE_* macros of tide.h read and write
 * inline (a call each would cost more than the access): where the step resumes
 * (a source line; 0 before the start) and the outcome it resumes with. Every
 * task has it right after its future, which comes first. */
typedef struct tide__coro {
  int priv_pc;
  int priv_rc;
} tide__coro;
#define TIDE__CORO_OFFSET sizeof(tide_future)
#define TIDE__CORO(t) ((tide__coro *)(void *)((char *)(t) + TIDE__CORO_OFFSET))

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */
/* ------------------------------------------------------------------------ */

/* The common head of every handle: `data` is the user's. */
struct tide_handle {
  void *data;
  tide_loop *priv_loop;
  unsigned priv_type;
  unsigned priv_flags;
  tide_close_cb priv_close_cb;
  tide__runnable priv_close_run;
};

/* A due timer queues handle.priv_close_run (running the callback): closing
 * stops the timer first, so the two uses are never queued at once. */
struct tide_timer {
  tide_handle handle; /* first: a tide_timer* converts to tide_handle* */
  tide__timer_entry priv_entry;
  uint64_t priv_repeat;
  tide_timer_cb priv_cb;
};

struct tide_io {
  tide_handle handle;
  int priv_fd;
  unsigned priv_events;  /* requested */
  int priv_backend_slot; /* the backend's bookkeeping (poll: index) */
  tide__qnode priv_link; /* the backend's list of watchers */
  tide_io_cb priv_cb;
};

struct tide_async {
  tide_handle handle;
  tide__qnode priv_link;
  /* Only with atomics, the one field other threads touch (src/core/async.c):
   * a send is pending, and the handle is closed. */
  int priv_pending;
  tide_async_cb priv_cb;
};

struct tide_signal {
  tide_handle handle;
  tide__qnode priv_link;
  int priv_signum;
  tide_signal_cb priv_cb;
};

/* ------------------------------------------------------------------------ */
/* Combinators and task groups                                               */
/* ------------------------------------------------------------------------ */

/* A timeout scope (tide_task_timeout_begin). */
struct tide_timeout {
  uint64_t priv_deadline; /* while armed; the task's heap entry covers it */
  uint64_t priv_seq;
  tide__runnable priv_fire;
  tide_task *priv_task;
  struct tide_timeout *priv_outer; /* the enclosing open scope of the task */
  int priv_cancels_at_begin;       /* tide_task_cancelling() at begin */
  uint8_t priv_open;
  uint8_t priv_expired;
  uint8_t priv_armed; /* the deadline is pending and not yet due */
};

/* An as_completed iterator. */
struct tide_as_completed {
  tide_loop *priv_loop;
  void *priv_slots;      /* one block: a waiter per input */
  size_t priv_n;
  size_t priv_left;      /* inputs not handed out yet */
  tide__qnode priv_done; /* finished inputs not handed out yet, in order */
  tide_future *priv_next; /* the pending out of tide_as_completed_next */
};

/* A task group. */
struct tide_task_group {
  tide_loop *priv_loop;
  tide_task *priv_parent;  /* the task running at init, or NULL */
  tide_future *priv_out;   /* the wait's output, until it completes */
  tide__qnode priv_running; /* children still running */
  tide__qnode priv_failed;  /* children that failed, in failure order */
  tide__qnode priv_kept;    /* other finished children the caller holds */
  size_t priv_spawned;
  size_t priv_running_count;
  size_t priv_failed_count;
  unsigned priv_state;      /* private bits: aborted, waiting, done, ... */
};

/* ------------------------------------------------------------------------ */
/* Synchronization primitives                                                */
/* ------------------------------------------------------------------------ */

/* Private: a FIFO of waiting futures (see src/core/sync.h). */
struct tide__waitq_class;
typedef struct tide__waitq {
  tide__qnode priv_head;
  const struct tide__waitq_class *priv_class;
  size_t priv_count;
} tide__waitq;

struct tide_event {
  tide_loop *priv_loop;
  int priv_set;
  tide__waitq priv_waiters;
};

struct tide_lock {
  tide_loop *priv_loop;
  int priv_locked;
  tide__waitq priv_waiters;
};

struct tide_semaphore {
  tide_loop *priv_loop;
  unsigned priv_value;
  unsigned priv_bound; /* bounded: the initial value; else 0 */
  int priv_bounded;
  tide__waitq priv_waiters;
};

struct tide_condition {
  tide_lock *priv_lock;
  tide_lock priv_own_lock; /* used when no lock was given */
  tide__waitq priv_waiters;
};

struct tide_queue {
  tide_loop *priv_loop;
  int priv_kind;
  int priv_shutdown;
  size_t priv_maxsize;    /* 0: unbounded */
  void *priv_items;       /* ring (FIFO), stack (LIFO) or binary heap */
  size_t priv_cap;
  size_t priv_head;
  size_t priv_len;
  uint64_t priv_seq;      /* put order, for stable priorities */
  size_t priv_unfinished; /* put and not yet task_done */
  tide_queue_drop_fn priv_drop;
  void *priv_drop_ud;
  tide__waitq priv_getters;
  tide__waitq priv_putters;
  tide__waitq priv_joiners;
};

struct tide_barrier {
  tide_loop *priv_loop;
  size_t priv_parties;
  int priv_broken;
  tide__waitq priv_waiters;
};

#endif /* TIDE_PRIVATE_H */
