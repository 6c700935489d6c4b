/* task_side.c: what few tasks use, kept in a block of its own made on first use:
 * a name, where TIDE_SPAWN was called, and a host call's arguments.
 *
 * A detached sleeper or a pool's worker uses none of it, and in every task it
 * would cost some 70 bytes (internal.h). The side block comes from the loop's
 * pool as tasks do, and goes with its task. Making it can fail: spawn_at
 * and a host call say so (TIDE_ENOMEM); tide_task_set_name and tide_task_name,
 * which cannot, keep or give the name another way (tide.h). The diagnostics
 * never make one: they format a default name into a buffer of their own
 * (tide__task_label), so the task dump still allocates nothing.
 */
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(((tide_loop *)0)->priv_task_name) == TIDE__TASK_NAME_MAX,
               "the loop's fallback holds any default name");

struct tide__task_side {
  /* Set by tide_task_set_name; empty until then, and tide_task_name writes the
   * default "task-<id>" here the first time it is asked. */
  char name[TIDE__TASK_NAME_MAX];
  const char *created_file; /* where TIDE_SPAWN was called, or NULL */
  const tide_value *args;   /* from a host call (tide_task_args), else NULL */
  void *args_buf;           /* owns args and what they point into */
  void *pool_slab;          /* where the block came from (task_pool.c) */
  int created_line;
  uint32_t nargs;
};

int tide__task_side_make(tide_task *t) {
  if (t->side != NULL) return 0;
  void *slab;
  struct tide__task_side *side =
      tide__pool_alloc(t->future.priv_loop, sizeof *side, &slab);
  if (side == NULL) return TIDE_ENOMEM;
  memset(side, 0, sizeof *side);
  side->pool_slab = slab;
  t->side = side;
  return 0;
}

void tide__task_side_free(tide_task *t) {
  tide_loop *loop = t->future.priv_loop;
  struct tide__task_side *side = t->side;
  tide_loop_dealloc(loop, side->args_buf);
  t->side = NULL;
  tide__pool_free(loop, side, side->pool_slab);
}

/* --- Names ------------------------------------------------------------------- */

/* "task-<id>" into buf, which "task-" and the 20 digits of any id fit. */
static char *default_name(char *buf, uint64_t id) {
  memcpy(buf, "task-", 5);
  tide__fmt_u64(buf + 5, id);
  return buf;
}

const char *tide__task_label(const tide_task *t, char buf[TIDE__TASK_NAME_MAX]) {
  if (t->side != NULL && t->side->name[0] != '\0') return t->side->name;
  return default_name(buf, t->id);
}

/* The task is never a const object (tasks are the library's allocations), so
 * giving it its side block and filling its name on first use is well defined. */
const char *tide_task_name(const tide_task *task) {
  tide_task *t = (tide_task *)(uintptr_t)task;
  if (tide__task_side_make(t) != 0)
    return default_name(t->future.priv_loop->priv_task_name, t->id);
  if (t->side->name[0] == '\0') default_name(t->side->name, t->id);
  return t->side->name;
}

void tide_task_set_name(tide_task *t, const char *name) {
  size_t len = name != NULL ? strlen(name) : 0;
  if (len == 0 && t->side == NULL) return; /* the default, which it has */
  if (tide__task_side_make(t) != 0) return; /* the name stays as it was */
  if (len > TIDE__TASK_NAME_MAX - 1) len = TIDE__TASK_NAME_MAX - 1;
  if (len > 0) memcpy(t->side->name, name, len);
  t->side->name[len] = '\0';
}

/* --- Where it was spawned, what a host call gave it ---------------------------- */

int tide__task_set_site(tide_task *t, const char *file, int line) {
  int rc = tide__task_side_make(t);
  if (rc != 0) return rc;
  t->side->created_file = file;
  t->side->created_line = line;
  return 0;
}

const char *tide__task_site(const tide_task *t, int *out_line) {
  if (t->side == NULL || t->side->created_file == NULL) return NULL;
  *out_line = t->side->created_line;
  return t->side->created_file;
}

int tide__task_set_args(tide_task *t, const tide_value *args, size_t nargs, void *buf) {
  int rc = tide__task_side_make(t);
  if (rc != 0) return rc;
  assert(nargs <= UINT32_MAX);
  t->side->args = args;
  t->side->nargs = (uint32_t)nargs;
  t->side->args_buf = buf;
  return 0;
}

void tide_task_args(const tide_task *t, const tide_value **out_args,
                    size_t *out_count) {
  *out_args = t->side != NULL ? t->side->args : NULL;
  *out_count = t->side != NULL ? t->side->nargs : 0;
}
