"""py_common.py: what the Python peers share: the event loop to use (asyncio's
default or uvloop), a nanosecond clock, the RSS, the result line (the protocol
of bench/c/bench.h), the check, and bench_rand()'s LCG.

Every peer takes the loop name first: `python3 py_chains.py uvloop 1 1000000`.
They run under Debian's /usr/bin/python3, where python3-uvloop is installed.
"""
import asyncio
import json
import sys
import time

now_ns = time.perf_counter_ns


def new_loop(name):
    """A fresh event loop of the named kind, set as the current one."""
    if name == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    elif name == "asyncio":
        loop = asyncio.new_event_loop()
    else:
        fail(f"unknown loop {name!r} (asyncio or uvloop)")
    asyncio.set_event_loop(loop)
    return loop


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def report(**fields):
    print(json.dumps(fields), flush=True)


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(cond, message):
    if not cond:
        fail(message)


def rand_sequence(seed=42):
    """bench_rand(): a 64-bit LCG, the top 31 bits of the state."""
    s = seed
    mask = (1 << 64) - 1
    while True:
        s = (s * 6364136223846793005 + 1442695040888963407) & mask
        yield s >> 33
