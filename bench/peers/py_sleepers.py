"""py_sleepers.py: W4 on asyncio or uvloop: N tasks each awaiting
asyncio.sleep(0.01), all created at once. Bytes per task: RSS growth over N,
read once every task exists.

    python3 py_sleepers.py asyncio|uvloop N
"""
import asyncio
import sys

from py_common import check, new_loop, now_ns, report, rss_bytes

loop = new_loop(sys.argv[1])
n = int(sys.argv[2])
done = 0


async def sleeper():
    global done
    await asyncio.sleep(0.01)
    done += 1


async def main():
    mem0 = rss_bytes()
    start = now_ns()
    tasks = [loop.create_task(sleeper()) for _ in range(n)]
    mem1 = rss_bytes()
    await asyncio.gather(*tasks)
    ns = now_ns() - start
    check(done == n, f"{done} sleepers finished, expected {n}")
    report(ops=n, ns=ns, check=done, mem_per_task=(mem1 - mem0) / n, counted=0)


loop.run_until_complete(main())
loop.close()
