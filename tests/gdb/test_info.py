#!/usr/bin/env python3
# --info prints what was found -- the Python version and build, _PyRuntime
# and the AsyncioDebug table with the module holding each -- the same bytes
# from the CLI (live and on a gcore core) and gdb (live, and with only the
# executable loaded, no process).  Oracles: the interpreter's own
# sys.version_info and sysconfig's Py_GIL_DISABLED, gdb's own evaluation of
# &_PyRuntime, and gdb's section list ("info files") for .AsyncioDebug.
#
# usage: test_info.py --version 3.14

import argparse
import re
import subprocess

import gdbtest
from gdbtest import pagtest


def fixture_python(version):
    """(version text, free-threaded) from the interpreter itself."""
    py = pagtest.python_for(version)
    out = subprocess.run([py, "-c", "import sys, sysconfig; v = sys.version_info; "
                          "print('%d.%d.%d' % v[:3], bool(sysconfig.get_config_var('Py_GIL_DISABLED')))"],
                         capture_output=True, text=True, timeout=60).stdout.split()
    return out[0], out[1] == "True"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    a = ap.parse_args()
    chk = gdbtest.Checker("--info %s" % a.version)
    want_ver, ft = fixture_python(a.version)
    with pagtest.Fixture("basic", a.version) as fx:
        exe = gdbtest.exe_of(fx.pid)
        core = str(fx.gcore())
        rc, live, err = gdbtest.run_cli(["--info", str(fx.pid)])
        chk.true("CLI --info PID exits 0 with no stderr (rc=%d %r)" % (rc, err), rc == 0 and not err)
        rc, fromcore, err = gdbtest.run_cli(["--info", "--core", core, "--exe", exe])
        chk.true("CLI --info --core exits 0 (rc=%d %r)" % (rc, err), rc == 0 and not err)
        chk.eq("CLI --info: live == core", live, fromcore)
        sec, _ = gdbtest.run_gdb(["-p", str(fx.pid)], [
            ("info", "py-async-graph --info"), ("rt", "p/x (unsigned long)&_PyRuntime"),
            ("files", "info files")])
    chk.eq("gdb live --info == CLI", live, sec.get("info"))
    lines = live.splitlines()
    chk.eq("three lines", 3, len(lines))
    if len(lines) != 3:
        gdbtest.fail("unexpected --info output: %r" % live)
    chk.true("version and build from the interpreter itself: %r" % lines[0],
             lines[0].startswith("python: CPython %s (0x" % want_ver)
             and ("free-threaded build" if ft else "default build") in lines[0]
             and lines[0].endswith("read with the %s table" % a.version))
    rt = re.search(r"= (0x[0-9a-f]+)", sec.get("rt") or "")
    chk.true("_PyRuntime at gdb's &_PyRuntime (%s): %r" % (rt and rt.group(1), lines[1]),
             rt is not None and lines[1].startswith("_PyRuntime: %s in %s:" % (rt.group(1), exe)))
    ad = re.search(r"0x0*([0-9a-f]+) - 0x[0-9a-f]+ is \.AsyncioDebug in (\S+)", sec.get("files") or "")
    if not ad:  # the table in the executable itself: "is .AsyncioDebug" without "in"
        ad = re.search(r"0x0*([0-9a-f]+) - 0x[0-9a-f]+ is \.AsyncioDebug$()", sec.get("files") or "", re.M)
    chk.true("AsyncioDebug at gdb's .AsyncioDebug section, in its module: %r" % lines[2],
             ad is not None and lines[2].startswith("AsyncioDebug: 0x%s in %s:"
                                                    % (ad.group(1), ad.group(2) or exe)))
    # No process: gdb reads the executable's own sections.
    sec, text = gdbtest.run_gdb([exe], [("info", "py-async-graph --info"), ("graph", "py-async-graph")])
    info = (sec.get("info") or "").splitlines()
    chk.eq("gdb EXE (no process) --info: the same first two lines", lines[:2], info[:2])
    chk.eq("... and no asyncio table before _asyncio is loaded",
           "AsyncioDebug: none (the target has not loaded asyncio)" if "_asyncio" in lines[2]
           else lines[2], info[2] if len(info) > 2 else None)
    chk.true("the graph itself still needs a process", "no process" in (sec.get("graph") or ""))
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
