/* task_timer.c: a task's one entry in the timer heap, shared by its sleep and
 * the deadlines of its open timeout scopes.
 *
 * Scopes nest without limit and tide_task_timeout_begin cannot fail, so a scope
 * cannot take a heap slot of its own. Instead the task's entry (which needs no
 * memory to go in: heap.h) carries the earliest (deadline, seq) of all of them.
 * When it comes due, only that one fires, and the entry goes back keyed by the next:
 * the heap still hands out every deadline in exact (deadline, seq) order, interleaved
 * with everybody else's. A task has few scopes open, so a scan finds the
 * earliest.
 */
#include "internal.h"

/* The armed scope due first, or NULL. */
static tide_timeout *first_scope(const tide_task *t) {
  tide_timeout *first = NULL;
  for (tide_timeout *s = t->timeouts; s != NULL; s = s->priv_outer)
    if (s->priv_armed &&
        (first == NULL || tide__heap_before(s->priv_deadline, s->priv_seq,
                                            first->priv_deadline, first->priv_seq)))
      first = s;
  return first;
}

/* The sleep fires before the first scope (it is armed, and earlier or alone). */
static int sleep_first(const tide_task *t, const tide_timeout *scope) {
  return tide__task_has(t, TIDE__T_SLEEP_ARMED) &&
         (scope == NULL || tide__heap_before(t->wait.sleep.deadline, t->wait.sleep.seq,
                                             scope->priv_deadline, scope->priv_seq));
}

void tide__task_timer_sync(tide_task *t) {
  tide_loop *loop = t->future.priv_loop;
  tide__timer_entry *e = tide__task_timer(t);
  tide_timeout *scope = first_scope(t);
  if (sleep_first(t, scope))
    tide__heap_set(loop, e, t->wait.sleep.deadline, t->wait.sleep.seq);
  else if (scope != NULL)
    tide__heap_set(loop, e, scope->priv_deadline, scope->priv_seq);
  else if (tide__heap_contains(e))
    tide__heap_remove(loop, e);
}

uint64_t tide__task_timer_deadline(const tide__timer_entry *e) {
  const tide_task *t = tide__container_of(e, tide_task, future.priv_task.timer);
  const tide_timeout *scope = first_scope(t);
  if (sleep_first(t, scope)) return t->wait.sleep.deadline;
  assert(scope != NULL && "a task's entry in the heap with nothing armed");
  return scope->priv_deadline;
}

void tide__task_timer_due(tide_loop *loop, tide__timer_entry *e) {
  tide_task *t = tide__container_of(e, tide_task, future.priv_task.timer);
  tide_timeout *scope = first_scope(t);
  if (sleep_first(t, scope)) {
    tide__task_clear_flags(t, TIDE__T_SLEEP_ARMED); /* SLEEPING stays: the sleep won */
    tide__task_queue_step(t);
  } else {
    scope->priv_armed = 0;
    tide__ready_push(loop, &scope->priv_fire);
  }
  if (t->timeouts != NULL) tide__task_timer_sync(t);
}
