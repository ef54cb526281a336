"""The native unwinder (issue 14) with separate debug files found by
build-id the standard elfutils way (/usr/lib/debug/.build-id, Debian's
libc6-dbg), debuginfod off: the system's own Python (the one gdb embeds),
its loop thread in time.sleep and a worker on a held lock, both in the
system libc.  Every thread's records equal gdb's own backtrace (gdb reads
the same debug files): the pcs, the function names (gdb's DWARF name or an
alias of it in the debug file's symbol table) and file:line of each pc.

usage: native_debuginfo.py
Skips (77) when the system libc has no debug file by build-id here.
"""
import os
import signal
import subprocess
import sys
import time

from clitest import SKIP, Checker, pagtest
import native_lib as nl

SCRIPT = """
import threading, time
lock = threading.Lock()
lock.acquire()
threading.Thread(target=lock.acquire, daemon=True).start()
print("ready", flush=True)
time.sleep(100000)
"""
PYTHON = "/usr/bin/python3"


def main():
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    if not os.path.exists(PYTHON) or not nl.debug_file(os.path.realpath(libc)):
        print("SKIP: no %s or no debug file of %s in /usr/lib/debug/.build-id (libc6-dbg)"
              % (PYTHON, libc))
        sys.exit(SKIP)
    c = Checker("native debuginfo")
    env = pagtest.clean_env()
    env.pop("DEBUGINFOD_URLS", None)
    p = subprocess.Popen([PYTHON, "-c", SCRIPT], stdout=subprocess.PIPE, env=env,
                         start_new_session=True)
    try:
        p.stdout.readline()
        time.sleep(0.5)
        gdb, log = nl.gdb_frames(pid=p.pid)
        rc, ours, err, dt = nl.ours([p.pid])
        c.check(rc == 0 and len(ours) == 2, "two threads (exit %s)" % rc, err)
        for tid, (st, us, frames) in sorted(ours.items()):
            what = "thread %d" % tid
            c.check(st == "OK", "%s: status %s" % (what, st))
            nl.compare(c, what, frames, gdb.get(tid, []), lines=True)
            for i, fr in enumerate(frames):
                nl.check_frame(c, what, i, fr, i == 0)
            inlibc = [f for f in frames if f["module"] and "libc.so" in f["module"]]
            c.check(inlibc and all(f["file"] and f["line"] for f in inlibc),
                    "%s: every libc frame has file:line from the debug file" % what)
            c.note("%s: %d frames in %d us (%s)" % (what, len(frames), us[0], ", ".join(
                "%s %s:%s" % (f["function"], os.path.basename(f["file"] or "-"), f["line"])
                for f in frames[:3])))
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    c.finish()


if __name__ == "__main__":
    main()
