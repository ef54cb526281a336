#!/usr/bin/env python3
# Bad targets in gdb: each command fails with exactly one error line and gdb
# keeps answering the next command.
#   none   - no inferior at all (gdb -batch -nx, nothing loaded)
#   exe    - an executable loaded but not running
#   sleep  - a live non-Python process (sleep)
#   py313  - a live CPython 3.13 asyncio program (too old)
#
# usage: test_errors.py --case none|exe|sleep|py313

import argparse
import os
import shutil
import subprocess
import time

import gdbtest
from gdbtest import pagtest

CMDS = ["py-async-graph", "py-async-tasks", "py-async-bt", "py-async-graph --format json"]

PROG_313 = """
import asyncio
async def child():
    await asyncio.sleep(3600)
async def main():
    t = asyncio.create_task(child(), name="child-313")
    await asyncio.sleep(0)
    print("ready", flush=True)
    await t
asyncio.run(main())
"""


def python313():
    try:
        if pagtest is None:
            raise RuntimeError("tests/lib/pagtest.py is missing")
        p = pagtest.python_for("3.13")
        if p and os.path.exists(str(p)):
            return str(p)
    except Exception as e:  # not fetched
        print("pagtest.python_for('3.13'): %s" % e)
    cached = os.path.expanduser("~/.cache/py-async-graph/bin/python3.13")
    if os.access(cached, os.X_OK):
        return cached
    return shutil.which("python3.13")


def check(chk, case, sec, want_in):
    for i, c in enumerate(CMDS):
        lines, one = gdbtest.one_error_line(sec.get("c%d" % i, "x\ny"))
        chk.true("%s: '%s' gives exactly one line" % (case, c), one, "\n" + "\n".join(lines))
        if one:
            chk.true("%s: '%s' says %r" % (case, c, want_in), lines[0].startswith("py-async-graph: ")
                     and want_in in lines[0], lines[0])
        chk.eq("%s: gdb answers after '%s'" % (case, c), "alive %d\n" % i, sec.get("a%d" % i))


def commands():
    out = []
    for i, c in enumerate(CMDS):
        out += [("c%d" % i, c), ("a%d" % i, "echo alive %d\\n" % i)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True, choices=["none", "exe", "sleep", "py313"])
    a = ap.parse_args()
    chk = gdbtest.Checker("gdb errors %s" % a.case)

    if a.case == "none":
        sec, _ = gdbtest.run_gdb([], commands())
        check(chk, a.case, sec, "no process")
    elif a.case == "exe":
        sec, _ = gdbtest.run_gdb([shutil.which("sleep")], commands())
        check(chk, a.case, sec, "no process")
    elif a.case == "sleep":
        p = subprocess.Popen([shutil.which("sleep"), "600"])
        try:
            time.sleep(0.2)
            sec, _ = gdbtest.run_gdb(["-p", str(p.pid)], commands())
            rc, _, err = gdbtest.run_cli([str(p.pid)])
        finally:
            p.kill()
            p.wait()
        check(chk, a.case, sec, "not a CPython process")
        chk.true("the CLI agrees: not a CPython process (exit 5)", rc == 5, "rc=%d %s" % (rc, err))
    else:
        py = python313()
        if not py:
            gdbtest.skip("no CPython 3.13 interpreter (pagtest.python_for('3.13') / python3.13)")
        # The target is the only process that gets pagtest's PYTHONHOME (via its wrapper).
        p = subprocess.Popen([py, "-c", PROG_313], stdout=subprocess.PIPE)
        pid = p.pid
        try:
            line = p.stdout.readline()
            if line.strip() != b"ready":
                gdbtest.fail("the 3.13 program did not start: %r" % line)
            # The wrapper may exec or fork: find the real interpreter process.
            try:
                kids = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
                if kids and "python" not in os.readlink("/proc/%d/exe" % pid):
                    pid = int(kids[0])
            except OSError:
                pass
            sec, _ = gdbtest.run_gdb(["-p", str(pid)], commands())
        finally:
            if pid != p.pid:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            p.kill()
            p.wait()
        check(chk, a.case, sec, "3.13")
    chk.finish()


if __name__ == "__main__":
    main()
