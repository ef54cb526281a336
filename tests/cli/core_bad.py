"""Broken and unusual core files: one clear line, a distinct exit code, no
crash, no hang.

usage: core_bad.py VERSION
  - missing core file                 -> PAG_EXIT_NO_PROCESS (3)
  - a core cut in half (truncate)     -> PAG_EXIT_TRUNCATED (12), "core file X is truncated (...)"
  - a core of a non-Python process    -> PAG_EXIT_NOT_PYTHON (5)
  - not a core at all (an executable) -> PAG_EXIT_USAGE (2)
"""
import os
import subprocess
import sys
import tempfile
import time

from clitest import Checker, pagtest, run

EXIT_USAGE, EXIT_NO_PROCESS, EXIT_NOT_PYTHON, EXIT_TRUNCATED = 2, 3, 5, 12


def gcore_of(pid, d):
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    prefix = os.path.join(d, "core")
    subprocess.run(["gcore", "-o", prefix, str(pid)], capture_output=True, timeout=120, env=env)
    path = "%s.%d" % (prefix, pid)
    return path if os.path.exists(path) else None


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "3.14"
    c = Checker("core errors")
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "no-such-core")
        rc, out, err = run(["--core", missing], timeout=60)
        c.one_error_line(rc, err, EXIT_NO_PROCESS, "missing core", missing)

        rc, out, err = run(["--core", "/bin/true"], timeout=60)
        c.one_error_line(rc, err, EXIT_USAGE, "an executable given as core", "not a core file")

        with pagtest.Fixture("basic", version) as fx:
            core = fx.gcore(path=os.path.join(d, "core"))  # outside fx.dir, which stop() removes
        size = os.path.getsize(core)
        for frac, label in ((2, "half"), (size, "one byte")):
            cut = os.path.join(d, "cut-" + label)
            with open(core, "rb") as src, open(cut, "wb") as dst:
                dst.write(src.read(max(1, size // frac)))
            for fmt in ("tree", "json"):
                rc, out, err = run(["--format", fmt, "--core", cut], timeout=60)
                c.one_error_line(rc, err, EXIT_TRUNCATED, "core cut to %s (%s)" % (label, fmt),
                                 "core file %s is truncated (" % cut)
                c.check(out == "", "no output for a truncated core")
        os.unlink(core)

        sl = subprocess.Popen(["sleep", "100"])
        try:
            time.sleep(0.2)
            core = gcore_of(sl.pid, d)
        finally:
            sl.kill()
            sl.wait()
        c.check(core is not None, "gcore of sleep")
        if core:
            rc, out, err = run(["--core", core], timeout=60)
            c.one_error_line(rc, err, EXIT_NOT_PYTHON, "core of sleep", "not a CPython process")
    c.finish()


if __name__ == "__main__":
    main()
