"""py_chains.py: W1 on asyncio or uvloop: CHAINS chains of TOTAL callbacks in
all, each callback scheduling the next with loop.call_soon.

    python3 py_chains.py asyncio|uvloop CHAINS TOTAL
"""
import sys

from py_common import check, new_loop, now_ns, report

loop = new_loop(sys.argv[1])
chains = int(sys.argv[2])
total = int(sys.argv[3])
check(total % chains == 0, "TOTAL must be a multiple of CHAINS")

ran = 0
live = chains


def make_chain(n):
    left = n

    def step():
        nonlocal left
        global ran, live
        ran += 1
        left -= 1
        if left > 0:
            loop.call_soon(step)
        else:
            live -= 1
            if live == 0:
                loop.stop()

    return step


start = now_ns()
for _ in range(chains):
    loop.call_soon(make_chain(total // chains))
loop.run_forever()
ns = now_ns() - start
check(ran == total, f"{ran} callbacks ran, expected {total}")
report(ops=total, ns=ns, check=ran)
loop.close()
