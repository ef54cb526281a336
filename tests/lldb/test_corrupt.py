#!/usr/bin/env python3
# Damaged cores inside lldb (issue 8): a core whose asyncio table was
# overwritten, one whose runtime debug table was, and a core cut in half.
# py-async-graph must give one error line with a failed status, and lldb must
# keep working: `thread list` still lists the core's threads (where lldb
# loaded the core at all) and a good command afterwards succeeds.  The CLI
# on the same damaged core is the oracle for the failure.
#
# usage: test_corrupt.py --version 3.14|3.15

import argparse
import os
import shutil
import sys
import tempfile

import lldbtest
from lldbtest import pagtest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hardening"))
import damaged_cores as dc  # noqa: E402  (core-file patching helpers)


def session(chk, what, target, want_in, threads=True):
    P, D = lldbtest.probe, lldbtest.direct
    cmds = [P("graph", "py-async-graph"), P("threads-p", "thread list"),
            D("threads", "thread list"), P("tasks", "py-async-tasks"),
            D("version", "py-async-graph --version")]
    sec, text = lldbtest.run_lldb(target, cmds)
    for label in ("graph", "tasks"):
        p = sec.get(label)
        line = lldbtest.error_line(p)
        chk.true("%s: %s gives exactly one error line, failed status" % (what, label),
                 line is not None and p.get("failed"), p if p else text[-2000:])
        if line is not None:
            chk.true("%s: the line is ours and says %r" % (what, want_in),
                     line.startswith("py-async-graph: ") and want_in in line, line)
    if threads:
        thr = sec.get("threads") or ""
        chk.true("%s: lldb still answers 'thread list' with the core's threads" % what,
                 "thread #1" in thr and (sec.get("threads-p") or {}).get("ok"), thr)
    rc, cli_version, _ = lldbtest.run_cli(["--version"])
    chk.eq("%s: a good command afterwards succeeds" % what, cli_version, sec.get("version"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    a = ap.parse_args()
    chk = lldbtest.Checker("lldb corrupt cores %s" % a.version)
    with pagtest.Fixture("basic", a.version) as fx, tempfile.TemporaryDirectory() as d:
        table_addr = dc.asyncio_table_address(fx.pid)
        chk.true("the AsyncioDebug table is found (readelf)", table_addr is not None)
        rt_addr = dc.section_address(fx.pid, ".PyRuntime")
        chk.true("the .PyRuntime section is found (readelf)", rt_addr is not None)
        core = fx.gcore(os.path.join(d, "core"))
        exe = lldbtest.exe_of(fx.pid)
        segs = dc.load_segments(core)

        over = os.path.join(d, "overwritten")
        shutil.copyfile(core, over)
        chk.true("the table is inside the core", dc.patch(over, segs, table_addr, b"\xff" * 104))
        rc, _, err = lldbtest.run_cli(["--core", over, "--exe", exe])
        chk.true("the CLI: exit 8, corrupt (rc=%s)" % rc, rc == 8, err)
        session(chk, "AsyncioDebug overwritten", [exe, "-c", over], "AsyncioDebug")

        rt = os.path.join(d, "runtime")
        shutil.copyfile(core, rt)
        chk.true("the runtime table is inside the core", dc.patch(rt, segs, rt_addr, b"\xff" * 64))
        rc, _, err = lldbtest.run_cli(["--core", rt, "--exe", exe])
        chk.true("the CLI fails with one line (rc=%s)" % rc,
                 rc not in (0, 10) and len(err.strip().splitlines()) == 1, err)
        session(chk, "_Py_DebugOffsets overwritten", [exe, "-c", rt], "py-async-graph: ")

        cut = os.path.join(d, "cut")
        shutil.copyfile(core, cut)
        os.truncate(cut, os.path.getsize(core) // 2)
        session(chk, "core cut in half", [exe, "-c", cut], "py-async-graph: ", threads=False)
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
