"""A core written by the kernel (ulimit -c unlimited + SIGABRT) gives the
same output as the live process.  The kernel leaves out read-only
file-backed pages, so this also tests reading them from the ELF files.

usage: core_kernel.py FIXTURE VERSION
Needs a writable /proc/sys/kernel/core_pattern (it is restored afterwards);
otherwise exits 77 (skip) and says why.
"""
import os
import resource
import signal
import sys
import tempfile
import time

from clitest import SKIP, Checker, json_without_source, pagtest, run

FORMATS = ["tree", "table", "graph", "json", "tasks"]
PATTERN = "/proc/sys/kernel/core_pattern"


def main():
    fixture, version = sys.argv[1], sys.argv[2]
    try:
        old = open(PATTERN).read()
        with open(PATTERN, "w") as f:
            f.write(old)
    except OSError as e:
        print("SKIP: %s is not writable here (%s); cannot make the kernel write a core" % (PATTERN, e))
        sys.exit(SKIP)
    c = Checker("kernel core %s/%s" % (fixture, version))
    d = tempfile.mkdtemp(prefix="pag-kcore-")
    os.chmod(d, 0o1777)
    try:
        with open(PATTERN, "w") as f:
            f.write(os.path.join(d, "core.%p"))
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        with pagtest.Fixture(fixture, version) as fx:
            live = {f: run(["--format", f, fx.pid]) for f in FORMATS}
            path = os.path.join(d, "core.%d" % fx.pid)
            os.kill(fx.pid, signal.SIGABRT)
            # The kernel writes the core while the process dies.
            for _ in range(600):
                if os.path.exists(path) and not os.path.exists("/proc/%d/status" % fx.pid):
                    break
                try:
                    if "State:\tZ" in open("/proc/%d/status" % fx.pid).read() and os.path.exists(path):
                        time.sleep(0.5)
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            time.sleep(0.5)
        if not c.check(os.path.exists(path), "the kernel wrote %s" % path):
            c.finish()
        for f in FORMATS:
            lrc, lout, lerr = live[f]
            crc, cout, cerr = run(["--format", f, "--core", path], timeout=300)
            c.check(lrc == crc == 0, "%s: exit codes live %s core %s" % (f, lrc, crc), lerr + cerr)
            if f == "json" and crc == 0 and lrc == 0:
                c.check(json_without_source(lout) == json_without_source(cout), "json equal without source/stats",
                        "--- live ---\n%s--- core ---\n%s" % (lout, cout))
            elif f != "json":
                c.check(lout == cout, "%s: identical" % f, "--- live ---\n%s--- core ---\n%s" % (lout, cout))
    finally:
        with open(PATTERN, "w") as f:
            f.write(old)
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)
    c.finish()


if __name__ == "__main__":
    main()
