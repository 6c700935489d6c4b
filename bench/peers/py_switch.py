"""py_switch.py: W3 on asyncio or uvloop.

    python3 py_switch.py LOOP done N    one task awaits a finished Future N times
                                        (asyncio does not suspend then)
    python3 py_switch.py LOOP yield N   two tasks each await asyncio.sleep(0) N
                                        times (a trip through the loop each)
"""
import asyncio
import sys

from py_common import check, new_loop, now_ns, report

loop = new_loop(sys.argv[1])
mode = sys.argv[2]
n = int(sys.argv[3])
check(mode in ("done", "yield"), "mode: done or yield")


async def awaiter(fut):
    total = 0
    if mode == "done":
        for _ in range(n):
            total += (await fut) == 7
    else:
        for _ in range(n):
            await asyncio.sleep(0)
            total += 1
    return total


async def main():
    fut = loop.create_future()
    fut.set_result(7)
    start = now_ns()
    count = 1 if mode == "done" else 2
    sums = await asyncio.gather(*(awaiter(fut) for _ in range(count)))
    ns = now_ns() - start
    check(sum(sums) == n * count, f"{sum(sums)} awaits succeeded, expected {n * count}")
    report(ops=n * count, ns=ns, check=sums[0])


loop.run_until_complete(main())
loop.close()
