"""py_timers.py: W2 on asyncio or uvloop: N loop.call_later (1..8 ms,
bench_rand's sequence), N/2 handle.cancel(), N/2 fires. Bytes per timer: the
RSS growth over N.

    python3 py_timers.py asyncio|uvloop N
"""
import sys

from py_common import check, new_loop, now_ns, rand_sequence, report, rss_bytes

loop = new_loop(sys.argv[1])
n = int(sys.argv[2]) & ~1
rand = rand_sequence()
delays = [(1 + next(rand) % 8) / 1000.0 for _ in range(n)]
fired = 0
t3 = 0


def on_fire():
    global fired, t3
    fired += 1
    if fired == n // 2:
        t3 = now_ns()
        loop.stop()


async def start_all():
    # Inside the running loop, as the C programs start theirs from setup.
    global t0, t1, t2, mem0, mem1
    mem0 = rss_bytes()
    t0 = now_ns()
    handles = [loop.call_later(d, on_fire) for d in delays]
    t1 = now_ns()
    for i in range(1, n, 2):
        handles[i].cancel()
    t2 = now_ns()
    mem1 = rss_bytes()


loop.create_task(start_all())
loop.run_forever()
check(fired == n // 2, f"{fired} timers fired, expected {n // 2}")
report(ops=2 * n, ns=t3 - t0, check=fired, start_ns=t1 - t0, cancel_ns=t2 - t1,
       fire_ns=t3 - t2, mem_per_timer=(mem1 - mem0) / n, counted=0)
loop.close()
