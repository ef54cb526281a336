"""The native unwinder (issue 14) through a module without CFI: a tiny C
library built here with -fno-asynchronous-unwind-tables
-fno-unwind-tables, stripped, called through ctypes by a task and blocked
in sleep() inside a static function.  Live and on a gcore core, under a
timeout: the frames down to that library equal gdb's own backtrace, the
library's frame is library+0xoff (the static function has no symbol
left: function NULL, never the exported nocfi_block beside it), and the
walk ends cleanly (PAG_OK or PAG_ERR_TRUNCATED) instead of hanging.

usage: native_nocfi.py VERSION
"""
import os
import shutil
import subprocess
import sys
import tempfile

from clitest import Checker
import native_lib as nl

SOURCE = r'''
#include <unistd.h>
volatile int nocfi_sink;
/* static and not inlined: after strip it has no symbol at all */
__attribute__((noinline)) static int nocfi_inner(int x)
{
    nocfi_sink = x;
    sleep(100000);
    return nocfi_sink + 1;
}
int nocfi_block(int x)
{
    int r = nocfi_inner(x);
    return r * 2 + nocfi_sink;
}
'''


def build(d):
    src, lib = os.path.join(d, "nocfi.c"), os.path.join(d, "libnocfi.so")
    with open(src, "w") as f:
        f.write(SOURCE)
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-fno-asynchronous-unwind-tables",
                    "-fno-unwind-tables", "-fomit-frame-pointer", "-o", lib, src], check=True)
    subprocess.run(["strip", "--strip-all", lib], check=True)
    return lib


def check(c, what, res, gdb, lib, timeout_ok):
    rc, threads, err, dt = res
    c.check(rc == 0 and timeout_ok, "%s: test_native_accessor ends (exit %s) in %.1fs" % (what, rc, dt), err)
    for tid, (st, us, frames) in sorted(threads.items()):
        w = "%s thread %d" % (what, tid)
        c.check(st in ("OK", "TRUNCATED"), "%s: status %s is OK or TRUNCATED" % (w, st))
        for i, fr in enumerate(frames):
            nl.check_frame(c, w, i, fr, i == 0)
        k = next((i for i, f in enumerate(frames) if f["module"] == lib), None)
        if k is None:
            continue
        c.note("%s: %s after the CFI-less frame %d; %d frames in all; gdb %d"
               % (w, st, k, len(frames), len(gdb.get(tid, []))))
        fr = frames[k]
        c.check(fr["function"] is None,
                "%s: the stripped static function is module+0x%x, not named (%s)"
                % (w, fr["pc"] - fr["base"], fr["function"]))
        nl.compare(c, w + " (down to the CFI-less frame)", frames[:k + 1],
                   gdb.get(tid, [])[:k + 1])
        c.found = True


def main():
    version = sys.argv[1]
    c = Checker("native nocfi %s" % version)
    d = tempfile.mkdtemp(prefix="pag-nocfi-")
    lib = build(d)
    p = subprocess.run(["readelf", "-SW", lib], capture_output=True, text=True)
    c.check(".symtab" not in p.stdout, "the library is stripped (no .symtab)")
    with nl.Target(version, "nocfi", lib=lib) as t:
        t.stop()
        gdb_live, _ = nl.gdb_frames(pid=t.pid)
        c.found = False
        res = nl.ours([t.pid], timeout=60)
        check(c, "nocfi live", res, gdb_live, lib, res[3] < 60)
        c.check(c.found, "live: a thread's stack goes through the CFI-less library")
        core = t.gcore()
        gdb_core, _ = nl.gdb_frames(core=core, exe=t.exe)
        c.found = False
        res = nl.ours(["--core", core] + t.tids, timeout=60)
        check(c, "nocfi gcore", res, gdb_core, lib, res[3] < 60)
        c.check(c.found, "core: a thread's stack goes through the CFI-less library")
    shutil.rmtree(d, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
