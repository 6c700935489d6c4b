/* timer.c: the timer heap's schedule/cancel/run-due, and the tide_timer handle.
 *
 * Every timed thing (a tide_timer, a call_later record, a combinator's deadline,
 * a task's sleep and timeout scopes) has a tide__timer_entry. When it comes due,
 * its runnable joins the ready queue, so a timer callback runs in a tick like
 * any other callback: after what was already ready, in (deadline, start order).
 */
#include "internal.h"

void tide__timer_entry_schedule(tide_loop *loop, tide__timer_entry *e, uint64_t deadline) {
  tide__heap_set(loop, e, deadline, loop->priv_timer_seq++);
}

void tide__timer_entry_cancel(tide_loop *loop, tide__timer_entry *e) {
  tide__heap_remove(loop, e);
}

/* A task's entry has no runnable of its own: the task picks which of its
 * deadlines came due (and may put the entry back for the next one, which this
 * loop then takes in its turn). */
void tide__timers_run_due(tide_loop *loop) {
  const tide__heap_slot *top;
  while ((top = tide__heap_top(loop)) != NULL && top->deadline <= tide__now(loop)) {
    tide__timer_entry *e = top->entry;
    tide__heap_remove(loop, e);
    if (e->due != 0)
      tide__ready_push(loop, tide__heap_entry_due(e));
    else
      tide__task_timer_due(loop, e);
  }
}

/* A due timer runs here. A repeating timer is re-armed before its callback, from
 * the time it runs, so the callback may stop or restart it. */
static void timer_run(tide__runnable *r) {
  tide_timer *t = tide__container_of(r, tide_timer, handle.priv_close_run);
  tide_loop *loop = t->handle.priv_loop;
  if (t->priv_repeat > 0)
    tide__timer_entry_schedule(loop, &t->priv_entry, tide__deadline(loop, t->priv_repeat));
  else
    tide__handle_stop(&t->handle);
  t->priv_cb(t);
}

int tide_timer_init(tide_loop *loop, tide_timer *timer) {
  assert(loop != NULL && timer != NULL);
  if (tide__heap_reserve(loop) != 0) return TIDE_ENOMEM;
  tide__handle_init(loop, &timer->handle, TIDE__HANDLE_TIMER);
  timer->handle.priv_close_run.run = timer_run; /* until it closes: see tide.h */
  tide__heap_entry_init(&timer->priv_entry, &timer->handle.priv_close_run);
  timer->priv_repeat = 0;
  timer->priv_cb = NULL;
  return 0;
}

int tide_timer_start(tide_timer *timer, tide_timer_cb cb, uint64_t timeout_ms,
                     uint64_t repeat_ms) {
  if (cb == NULL) return TIDE_EINVAL;
  if (timer->handle.priv_flags & (TIDE__H_CLOSING | TIDE__H_CLOSED)) return TIDE_ECLOSED;
  tide_loop *loop = timer->handle.priv_loop;
  tide__q_remove(&timer->handle.priv_close_run.link); /* due but not yet run */
  timer->priv_cb = cb;
  timer->priv_repeat = repeat_ms;
  tide__timer_entry_schedule(loop, &timer->priv_entry, tide__deadline(loop, timeout_ms));
  tide__handle_start(&timer->handle);
  return 0;
}

void tide_timer_stop(tide_timer *timer) {
  tide_loop *loop = timer->handle.priv_loop;
  if (tide__heap_contains(&timer->priv_entry))
    tide__timer_entry_cancel(loop, &timer->priv_entry);
  /* Due but not yet run; once closing, the runnable is the close callback's. */
  if (!(timer->handle.priv_flags & (TIDE__H_CLOSING | TIDE__H_CLOSED)))
    tide__q_remove(&timer->handle.priv_close_run.link);
  tide__handle_stop(&timer->handle);
}

void tide__timer_close(tide_timer *timer) {
  tide_timer_stop(timer);
  tide__heap_release(timer->handle.priv_loop);
}

void tide_timer_set_repeat(tide_timer *timer, uint64_t repeat_ms) {
  timer->priv_repeat = repeat_ms;
}

uint64_t tide_timer_get_repeat(const tide_timer *timer) { return timer->priv_repeat; }

uint64_t tide_timer_get_due_in(const tide_timer *timer) {
  tide_loop *loop = timer->handle.priv_loop;
  if (!tide__heap_contains(&timer->priv_entry)) return 0;
  uint64_t deadline = tide__heap_deadline(loop, &timer->priv_entry);
  uint64_t now = tide__now(loop);
  return deadline > now ? deadline - now : 0;
}
