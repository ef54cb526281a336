"""The native unwinder (issue 14) with separate debug files found by
build-id the standard elfutils way (/usr/lib/debug/.build-id, Debian's
libc6-dbg), debuginfod off: the system's own Python (the one gdb embeds),
its loop thread in time.sleep and a worker on a held lock, both in the
system libc.  And debuginfod stays off unless DEBUGINFOD_URLS is set.  Every thread's records equal gdb's own backtrace (gdb reads
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
    debuginfod(c)
    c.finish()


def debuginfod(c):
    """debuginfod stays off unless DEBUGINFOD_URLS names a server: a 3.14
    process whose modules have build-ids and no local debug files, walked
    without it (the client is never loaded) and with a server on loopback
    that refuses (the client is loaded, asked, and the walk is the same)."""
    with nl.Target("3.14", "sleep") as t:
        t.stop()
        env = pagtest.clean_env()
        env.pop("DEBUGINFOD_URLS", None)
        facts = {}
        rc, off, err, dt = nl.ours([t.pid, t.loop_tid], env=env, extra=facts)
        c.check(rc == 0 and facts.get("debuginfod-client") == "absent",
                "without DEBUGINFOD_URLS the debuginfod client is not loaded (%s)" % facts, err)
        env.update(DEBUGINFOD_URLS="http://127.0.0.1:9/", DEBUGINFOD_TIMEOUT="5",
                   DEBUGINFOD_CACHE_PATH=os.path.join(t.dir, "debuginfod-cache"))
        facts = {}
        rc, on, err, dt = nl.ours([t.pid, t.loop_tid], env=env, extra=facts, timeout=120)
        c.check(rc == 0 and facts.get("debuginfod-client") == "loaded",
                "with DEBUGINFOD_URLS set the client is used (%s)" % facts, err)
        c.check({k: (v[0], v[2]) for k, v in on.items()} ==
                {k: (v[0], v[2]) for k, v in off.items()},
                "a server that refuses changes no record")
        c.note("walk without debuginfod %d us, with a refusing server %d us"
               % (off[t.loop_tid][1][0], on[t.loop_tid][1][0]))


if __name__ == "__main__":
    main()
