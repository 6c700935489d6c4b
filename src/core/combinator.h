/* combinator.h: what gather, wait, wait_for, shield, as_completed and task
 * groups share (combinator.c), and nothing outside the core sees.
 *
 * Every combinator completes a caller's output future and watches its inputs
 * through waiters embedded in its own state (tide__future_add_waiter), so once
 * started it never allocates. Deadlines are timer entries embedded the same way.
 */
#ifndef TIDE_COMBINATOR_H
#define TIDE_COMBINATOR_H

#include "internal.h"

/* 0 if out can be a combinator's output: pending, of loop, not a task's, with
 * no producer yet (no cancel hook); else TIDE_EINVAL. */
int tide__out_usable(const tide_loop *loop, const tide_future *out);
/* Return rc; if it is an error and out is usable, complete out with it first
 * (message, copied, says which call refused). Every public combinator call
 * ends its failures through this. */
int tide__out_refused(tide_loop *loop, tide_future *out, int rc, const char *message);
/* 0 if every input is a future of loop other than out; else TIDE_EINVAL. */
int tide__inputs_usable(const tide_loop *loop, tide_future *const *futures, size_t n,
                        const tide_future *out);

/* A deadline is a timer entry whose runnable runs when it is due. While armed
 * (in the heap, or due and queued) it keeps the loop alive. The runnable must
 * call tide__deadline_fired() first. init reserves its heap slot (0 or
 * TIDE_ENOMEM), so arming never fails; release disarms it and gives the slot
 * back. disarm returns 1 if it was armed. */
int tide__deadline_init(tide_loop *loop, tide__timer_entry *entry, tide__runnable *run,
                        void (*fn)(tide__runnable *run));
void tide__deadline_arm(tide_loop *loop, tide__timer_entry *entry, tide__runnable *run,
                        uint64_t ms);
int tide__deadline_disarm(tide_loop *loop, tide__timer_entry *entry, tide__runnable *run);
void tide__deadline_release(tide_loop *loop, tide__timer_entry *entry,
                            tide__runnable *run);
static inline void tide__deadline_fired(tide_loop *loop) { loop->priv_active_refs--; }

/* Complete dst with src's outcome: a result is copied with BYTES/STRING/JSON
 * borrowed (dst owns nothing), an error with its code and message (src's error
 * counts as observed: it was handed on), a cancellation as CANCELLED. */
void tide__future_mirror(tide_future *src, tide_future *dst);
/* Complete a combinator's own output CANCELLED without calling its cancel hook
 * (the combinator finishing a cancellation it deferred). */
void tide__future_end_cancelled(tide_future *out);
/* 1 while out's cancel hook runs because out is being released: the hook must
 * let go of out now instead of deferring. */
static inline int tide__future_releasing(const tide_future *f) {
  return (f->priv_flags & TIDE__F_RELEASING) != 0;
}

/* Combinator state allocated from the loop counts as registered, so the loop
 * refuses to close (TIDE_EBUSY) while one is unfinished. */
void *tide__combinator_alloc(tide_loop *loop, size_t size);
void tide__combinator_free(tide_loop *loop, void *state);
/* header + n * item bytes, or 0 if that overflows. */
size_t tide__combinator_size(size_t header, size_t n, size_t item);

#endif /* TIDE_COMBINATOR_H */
