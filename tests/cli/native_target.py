"""A CPython process whose event loop is blocked in a known C function
(issue 14), for the native unwinder's tests.

usage: python3.X native_target.py MODE READY_FILE [LIB]
MODE:
  sleep  a task calls time.sleep (clock_nanosleep)
  lock   a task acquires a threading.Lock another thread holds (futex)
  recv   a task calls recv on a socket with no data
  re     a task runs re.match(r'(a+)+$', 'a' * 40 + 'b') (backtracks for ages)
  nocfi  a task calls, through ctypes, LIB's nocfi_block (a stripped C
         library without CFI, which blocks in sleep)
  many   10,000 tasks waiting on a Future, and a task in time.sleep
READY_FILE gets {"pid", "loop_tid", "tids"} (every thread's native id) just
before the loop thread blocks.
"""
import asyncio
import json
import os
import re
import socket
import sys
import threading
import time


def ready(path, extra_tids=()):
    data = {"pid": os.getpid(), "loop_tid": threading.get_native_id(),
            "tids": [t.native_id for t in threading.enumerate()]}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.rename(tmp, path)


def blocker(mode, lib):
    if mode == "sleep" or mode == "many":
        return lambda: time.sleep(100000)
    if mode == "lock":
        lock = threading.Lock()
        held = threading.Event()

        def holder():
            lock.acquire()
            held.set()
            time.sleep(100000)
        threading.Thread(target=holder, name="holder", daemon=True).start()
        held.wait()
        return lock.acquire
    if mode == "recv":
        a, b = socket.socketpair()
        blocker.keep = (a, b)
        return lambda: a.recv(1)
    if mode == "re":
        return lambda: re.match(r'(a+)+$', 'a' * 40 + 'b')
    if mode == "nocfi":
        import ctypes
        fn = ctypes.CDLL(lib).nocfi_block
        return lambda: fn(1)
    raise SystemExit("unknown mode " + mode)


async def waiter(fut):
    await fut


async def main(mode, path, lib):
    block = blocker(mode, lib)
    if mode == "many":
        fut = asyncio.get_running_loop().create_future()
        tasks = [asyncio.create_task(waiter(fut)) for _ in range(10000)]
        await asyncio.sleep(0.1)
    ready(path)
    block()
    if mode == "many":
        del tasks


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
