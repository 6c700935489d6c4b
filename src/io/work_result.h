/* work_result.h: what every host's tide_work_submit shares: turning what a
 * job's fn returned into the outcome of its future, the same way everywhere
 * (posix/work.c runs fn on the pool's threads, nothreads/work.c on the loop). */
#ifndef TIDE_IO_WORK_RESULT_H
#define TIDE_IO_WORK_RESULT_H

#include "tide.h"

/* Complete future (pending) with fn's return code rc and its *result: the
 * value for rc 0 and a NONE, INT, DOUBLE or PTR result; the error rc for a
 * negative rc; TIDE_EINVAL with a message naming what was wrong for a positive
 * rc or a result of any other type (whose owned bytes, if it set a free
 * function, are freed here, so a mistaken BYTES result does not leak). */
void tide__work_deliver(tide_future *future, int rc, tide_value *result);
/* Drop the result of a job whose future was cancelled while fn ran: free its
 * owned bytes, if any, as tide__work_deliver would have. */
void tide__work_discard(tide_value *result);

/* The arguments tide_work_submit refuses with TIDE_EINVAL: fn or future
 * NULL, or a future already done. (Another loop's future, a task's, or one
 * with another producer are misuse the I/O layer cannot see: see tide.h.) */
int tide__work_args_ok(tide_work_fn fn, tide_future *future);

#endif /* TIDE_IO_WORK_RESULT_H */
