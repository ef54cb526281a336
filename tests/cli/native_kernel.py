"""The native unwinder (issue 14) on cores the kernel writes (ulimit -c
unlimited, SIGABRT): the kernel leaves out read-only file pages, .eh_frame
among them, so the unwinder must take the modules' CFI from their files on
disk (found the way the core target finds them).  For sleep, lock and recv
targets (blocked in a syscall, so the stacks do not move while the process
dies): every thread's records equal gdb's own backtrace of the same kernel
core, frame for frame, and the live records taken just before.

usage: native_kernel.py VERSION
Needs a writable /proc/sys/kernel/core_pattern (restored afterwards);
otherwise exits 77 (skip) and says why.
"""
import os
import resource
import signal
import sys
import tempfile
import time

from clitest import SKIP, Checker
import native_lib as nl

PATTERN = "/proc/sys/kernel/core_pattern"
MODES = ["sleep", "lock", "recv"]


def kernel_core(t, d):
    path = os.path.join(d, "core.%d" % t.pid)
    os.kill(t.pid, signal.SIGABRT)
    os.kill(t.pid, signal.SIGCONT)
    t.proc.wait(timeout=120)
    for _ in range(100):  # the kernel has written it once the process is reaped
        if os.path.exists(path):
            break
        time.sleep(0.1)
    return path


def check_mode(c, version, mode, d):
    with nl.Target(version, mode) as t:
        t.stop()
        rc, live, err, _ = nl.ours([t.pid])
        c.check(rc == 0, "%s: live test_native_accessor exit %s" % (mode, rc), err)
        core = kernel_core(t, d)
        exe = t.exe
    if not c.check(os.path.exists(core), "%s: the kernel wrote %s" % (mode, core)):
        return
    gdb, glog = nl.gdb_frames(core=core, exe=exe)
    rc, oncore, err, dt = nl.ours(["--core", core] + sorted(live), timeout=120)
    c.check(rc == 0, "%s: kernel-core test_native_accessor exit %s" % (mode, rc), err)
    for tid in sorted(live):
        what = "%s %s kernel core thread %d" % (mode, version, tid)
        st, _, frames = oncore.get(tid, (None, [], []))
        c.check(st == "OK", "%s: status %s" % (what, st))
        c.check([f["pc"] for f in frames] == [f["pc"] for f in live[tid][2]],
                "%s: the same pcs as live" % what)
        nl.compare(c, what, frames, gdb.get(tid, []))
        for i, fr in enumerate(frames):
            nl.check_frame(c, what, i, fr, i == 0)
    os.unlink(core)


def main():
    version = sys.argv[1]
    try:
        old = open(PATTERN).read()
        with open(PATTERN, "w") as f:
            f.write(old)
    except OSError as e:
        print("SKIP: %s is not writable here (%s); cannot make the kernel write a core"
              % (PATTERN, e))
        sys.exit(SKIP)
    c = Checker("native kernel core %s" % version)
    d = tempfile.mkdtemp(prefix="pag-native-kcore-")
    os.chmod(d, 0o1777)
    try:
        with open(PATTERN, "w") as f:
            f.write(os.path.join(d, "core.%p"))
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        for mode in MODES:
            try:
                check_mode(c, version, mode, d)
            except RuntimeError as e:
                c.check(False, "%s: %s" % (mode, e))
    finally:
        with open(PATTERN, "w") as f:
            f.write(old)
        nl.shutil.rmtree(d, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
