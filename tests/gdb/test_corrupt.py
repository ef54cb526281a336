#!/usr/bin/env python3
# Damaged cores inside gdb (issue 8): a core whose asyncio table was
# overwritten, one whose runtime debug table was, and a core cut in half.
# py-async-graph must print one error line and gdb must keep answering:
# `info threads` still lists the core's threads (gdb itself refuses a
# truncated core, so there only the next command is checked).
#
# usage: test_corrupt.py --version 3.14|3.15

import argparse
import os
import shutil
import struct
import sys
import tempfile

import gdbtest
from gdbtest import pagtest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "hardening"))
import damaged_cores as dc  # noqa: E402  (core-file patching helpers)


def commands():
    return [("graph", "py-async-graph"),
            ("threads", "info threads"),
            ("alive", "echo alive\\n"),
            ("tasks", "py-async-tasks"),
            ("alive2", "echo alive2\\n")]


def check_session(chk, what, sec, want_in, threads=True):
    lines, one = gdbtest.one_error_line(sec.get("graph", "x\ny"))
    chk.true("%s: py-async-graph gives exactly one line" % what, one, "\n" + "\n".join(lines))
    if one:
        chk.true("%s: the line is ours and says %r" % (what, want_in),
                 lines[0].startswith("py-async-graph: ") and want_in in lines[0], lines[0])
    thr = sec.get("threads", "")
    if threads:
        chk.true("%s: gdb still answers 'info threads' with the core's threads" % what,
                 "Thread" in thr or "LWP" in thr, thr)
    chk.eq("%s: gdb answers the next command" % what, "alive\n", sec.get("alive"))
    lines, one = gdbtest.one_error_line(sec.get("tasks", "x\ny"))
    chk.true("%s: py-async-tasks gives one line too" % what, one, "\n" + "\n".join(lines))
    chk.eq("%s: and gdb still answers" % what, "alive2\n", sec.get("alive2"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    a = ap.parse_args()
    chk = gdbtest.Checker("gdb corrupt cores %s" % a.version)
    with pagtest.Fixture("basic", a.version) as fx, tempfile.TemporaryDirectory() as d:
        table_addr = dc.asyncio_table_address(fx.pid)
        chk.true("the AsyncioDebug table is found (readelf)", table_addr is not None)
        core = fx.gcore(os.path.join(d, "core"))
        exe = os.readlink("/proc/%d/exe" % fx.pid)
        segs = dc.load_segments(core)

        over = os.path.join(d, "overwritten")
        shutil.copyfile(core, over)
        chk.true("the table is inside the core", dc.patch(over, segs, table_addr, b"\xff" * 104))
        sec, _ = gdbtest.run_gdb([exe, over], commands())
        check_session(chk, "AsyncioDebug overwritten", sec, "AsyncioDebug")
        rc, _, err = gdbtest.run_cli(["--core", over, "--exe", exe])
        chk.true("the CLI agrees: exit 8, corrupt (rc=%s)" % rc, rc == 8, err)

        # _PyRuntime's debug offsets (cookie first) overwritten.
        rt_addr = dc.section_address(fx.pid, ".PyRuntime")
        chk.true("the .PyRuntime section is found (readelf)", rt_addr is not None)
        rt = os.path.join(d, "runtime")
        shutil.copyfile(core, rt)
        chk.true("the runtime table is inside the core", dc.patch(rt, segs, rt_addr, b"\xff" * 64))
        sec, _ = gdbtest.run_gdb([exe, rt], commands())
        check_session(chk, "_Py_DebugOffsets overwritten", sec, "py-async-graph: ")
        rc, _, err = gdbtest.run_cli(["--core", rt, "--exe", exe])
        chk.true("the CLI fails too, with one line (rc=%s)" % rc,
                 rc not in (0, 10) and len(err.strip().splitlines()) == 1, err)

        # gdb will not load a core cut in half at all; the command says so.
        cut = os.path.join(d, "cut")
        shutil.copyfile(core, cut)
        os.truncate(cut, os.path.getsize(core) // 2)
        sec, _ = gdbtest.run_gdb([exe, cut], commands())
        check_session(chk, "core cut in half", sec, "py-async-graph: ", threads=False)
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
