"""The native unwinder (issue 14) on a core whose module files were moved
away after the dump: the core leaves out their read-only pages (.eh_frame
too), so the walk needs the files, found through --exe and
--lib-search-path, or --sysroot, the way the core target finds them.  With
them, the loop thread's records equal the live ones (pcs, names) and name
the moved files; without them, the walk still ends (whatever it can do
without CFI) and says so.

The target runs from a hard-linked copy of the interpreter tree, so that
moving the copy touches nothing shared.

usage: native_moved.py VERSION
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from clitest import Checker, pagtest
import native_lib as nl


def start(tree, version, ready):
    home = os.path.join(tree, "usr")
    env = dict(os.environ, PYTHONHOME=home, LD_LIBRARY_PATH="%s:%s" % (
        os.path.join(home, "lib", "x86_64-linux-gnu"), os.path.join(tree, "lib", "x86_64-linux-gnu")))
    exe = os.path.join(home, "bin", "python" + version)
    p = subprocess.Popen([exe, nl.TARGET, "sleep", ready], env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    for _ in range(600):
        if os.path.exists(ready) or p.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    return p


def main():
    version = sys.argv[1]
    c = Checker("native moved %s" % version)
    _, tree = pagtest.python_tree(version)
    d = tempfile.mkdtemp(prefix="pag-native-moved-")
    try:
        copy = os.path.join(d, "tree")
        subprocess.run(["cp", "-al", tree, copy], check=True)
        ready = os.path.join(d, "ready.json")
        p = start(copy, version, ready)
        try:
            info = json.load(open(ready))
            tid = info["loop_tid"]
            rc, live, err, _ = nl.ours([p.pid])
            out = subprocess.run(["gcore", "-o", os.path.join(d, "core"), str(p.pid)],
                                 capture_output=True, env=pagtest.clean_env())
            core = os.path.join(d, "core.%d" % p.pid)
        finally:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        if not c.check(os.path.exists(core), "gcore wrote the core", out.stderr.decode()):
            c.finish()
        good = live[tid][2]
        moved = os.path.join(d, "moved")
        os.rename(copy, moved)
        rc, res, err, dt = nl.ours(["--core", core, tid], timeout=60)
        st, _, frames = res.get(tid, (None, [], []))
        c.check(rc == 0 and dt < 30, "without the files: the walk ends (exit %s, %.1fs)" % (rc, dt))
        c.note("without the files: %s, %d frames (live %d)" % (st, len(frames), len(good)))
        lib = ":".join(os.path.join(moved, "usr", "lib", sub) for sub in
                       ("x86_64-linux-gnu", "python%s/lib-dynload" % version))
        exe = os.path.join(moved, "usr", "bin", "python" + version)
        sysroot = os.path.join(d, "sysroot")
        runs = [("--exe/--lib-search-path", ["--exe", exe, "--lib-search-path", lib], moved),
                ("--sysroot", ["--sysroot", sysroot], sysroot + copy)]
        for what, opts, where in runs:
            if what == "--sysroot":
                os.makedirs(os.path.dirname(sysroot + copy))
                os.rename(moved, sysroot + copy)
            rc, res, err, dt = nl.ours(["--core", core] + opts + [tid], timeout=60)
            st, _, frames = res.get(tid, (None, [], []))
            c.check(rc == 0 and st == "OK", "%s: exit %s, status %s" % (what, rc, st), err)
            c.check([f["pc"] for f in frames] == [f["pc"] for f in good] and
                    [f["function"] for f in frames] == [f["function"] for f in good],
                    "%s: the live pcs and names" % what,
                    "\n".join("%s %s" % (hex(f["pc"]), f["function"]) for f in frames))
            inside = [f for f in frames if f["module"] and "libc.so" in f["module"]]
            c.check(inside and all(f["module"].startswith(where) for f in inside),
                    "%s: libc's frames name the file under %s" % (what, where),
                    str([f["module"] for f in inside[:2]]))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
