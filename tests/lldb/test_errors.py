#!/usr/bin/env python3
# Bad targets in lldb: each command fails with exactly one error line and a
# failed SBCommandReturnObject status, and lldb keeps working in the same
# session: `thread list` (where there is a process) and a good command
# (`py-async-graph --version`, == the CLI's) still succeed.
#   none   - no target at all (lldb -b, nothing loaded)
#   exe    - an executable loaded but not running
#   sleep  - a live non-Python process (sleep)
#   py313  - a live CPython 3.13 asyncio program (too old)
# A failing command typed directly also ends `lldb -b` with a non-zero status
# (lldb's batch mode stops at the first failed command): checked once per case.
#
# usage: test_errors.py --case none|exe|sleep|py313

import argparse
import shutil
import subprocess
import time

import lldbtest
from lldbtest import pagtest

CMDS = ["py-async-graph", "py-async-tasks", "py-async-bt", "py-async-bt 0x10",
        "py-async-graph --format json", "py-async-graph --format dot -o /dev/null"]

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


def session(target, has_process):
    cmds = [lldbtest.probe("c%d" % i, c) for i, c in enumerate(CMDS)]
    if has_process:
        cmds.append(lldbtest.direct("threads", "thread list"))
    cmds.append(lldbtest.direct("version", "py-async-graph --version"))
    return lldbtest.run_lldb(target, cmds)


def check(chk, case, target, want_in, has_process):
    sec, text = session(target, has_process)
    for i, c in enumerate(CMDS):
        p = sec.get("c%d" % i)
        line = lldbtest.error_line(p)
        chk.true("%s: '%s' gives exactly one error line and a failed status" % (case, c),
                 line is not None and p.get("failed"), p if p else text[-2000:])
        if line is not None:
            chk.true("%s: '%s' says %r" % (case, c, want_in),
                     line.startswith("py-async-graph: ") and want_in in line, line)
    if has_process:
        thr = sec.get("threads") or ""
        chk.true("%s: lldb answers 'thread list' afterwards" % case, "thread #1" in thr, thr)
    rc, cli_version, _ = lldbtest.run_cli(["--version"])
    chk.eq("%s: a good command afterwards == CLI --version" % case, cli_version, sec.get("version"))
    # Typed directly, the failure is lldb's own failed command status.
    argv = [lldbtest.lldb_exe(), "-b", "--no-lldbinit"] + list(target) + [
        "-o", "plugin load " + lldbtest.plugin_path(), "-o", "py-async-graph"]
    rc, out, err = pagtest.run(argv, timeout=120, env=lldbtest.lldb_env())
    errs = [l for l in err.splitlines() if l.startswith("error: py-async-graph: ")]
    chk.true("%s: typed directly, one 'error:' line and lldb -b exits non-zero (rc=%d)" % (case, rc),
             rc != 0 and len(errs) == 1 and want_in in errs[0], out[-1000:] + err[-1000:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True, choices=["none", "exe", "sleep", "py313"])
    a = ap.parse_args()
    chk = lldbtest.Checker("lldb errors %s" % a.case)
    if a.case == "none":
        check(chk, a.case, [], "no process", False)
    elif a.case == "exe":
        check(chk, a.case, [shutil.which("sleep")], "no process", False)
    elif a.case == "sleep":
        p = subprocess.Popen([shutil.which("sleep"), "600"], start_new_session=True)
        try:
            time.sleep(0.2)
            check(chk, a.case, ["-p", str(p.pid)], "not a CPython process", True)
            rc, _, err = lldbtest.run_cli([str(p.pid)])
        finally:
            p.kill()
            p.wait()
        chk.true("the CLI agrees: not a CPython process (exit 5)", rc == 5, "rc=%d %s" % (rc, err))
    else:
        # The 3.13 wrapper sets PYTHONHOME for the target only, and execs.
        py = pagtest.python_for("3.13")
        p = subprocess.Popen([py, "-c", PROG_313], stdout=subprocess.PIPE, start_new_session=True)
        try:
            line = p.stdout.readline()
            if line.strip() != b"ready":
                lldbtest.fail("the 3.13 program did not start: %r" % line)
            check(chk, a.case, ["-p", str(p.pid)], "3.13", True)
            rc, _, err = lldbtest.run_cli([str(p.pid)])
        finally:
            p.kill()
            p.wait()
        chk.true("the CLI agrees: too old (exit 6)", rc == 6, "rc=%d %s" % (rc, err))
    chk.finish()


if __name__ == "__main__":
    main()
