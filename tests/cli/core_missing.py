"""A core whose mapped files are all gone (a core from another machine)
gets one short error line: the file that matters by name -- the one that
would hold _PyRuntime or .AsyncioDebug -- and the others counted (issue 18,
defect 14: the line used to list every missing file, ~1,400 characters).

usage: core_missing.py VERSION

The cores are copies of a real gcore core with the paths in their NT_FILE
note changed to paths that do not exist (the first letter of the first
directory becomes X, so /usr/lib/... is /Xsr/lib/...):
  all      every file: the executable (which holds _PyRuntime) is named
           with --exe, exit 5
  but-exe  every file but the executable: _PyRuntime is found, the
           _asyncio extension (which holds .AsyncioDebug) is named with
           --lib-search-path, exit 13; where _asyncio is built in (3.15)
           the core reads as if intact
and --sysroot over links X... -> /... gives the output of the intact core;
a pipe in the executable's place under --sysroot is passed over at once.
"""
import os
import re
import subprocess
import sys
import tempfile

from clitest import Checker, core_files, pagtest, run

EXIT_NOT_PYTHON, EXIT_READ = 5, 13
MAX_LINE = 600  # one line a person can read; the old one was ~1,400 characters
OTHERS = re.compile(r"; and (\d+) other mapped files? not found or not matching$")


def moved(path):
    return "/X" + path[2:]


def craft(core, out, keep):
    """Copy core to out with every NT_FILE path moved, except those in keep."""
    with open(core, "rb") as f:
        data = bytearray(f.read())
    tops = set()
    for _st, _en, _off, path, pos in core_files(data):
        if path.startswith("/") and len(path) > 2 and os.path.realpath(path) not in keep:
            data[pos + 1] = ord("X")
            tops.add(path.split("/")[1])
    with open(out, "wb") as f:
        f.write(data)
    return tops


def check_line(c, what, rc, err, want_rc, key, option):
    c.one_error_line(rc, err, want_rc, what, key)
    line = err.rstrip("\n")
    c.check(option in line, "%s: the line names %s" % (what, option), line)
    m = OTHERS.search(line)
    c.check(m and int(m.group(1)) >= 3, "%s: the other missing files are counted" % what, line)
    c.check(len(line) <= MAX_LINE, "%s: the line is %d characters (at most %d)"
            % (what, len(line), MAX_LINE), line)
    c.check("libc.so" not in line and "libm.so" not in line,
            "%s: files that hold neither table are not named" % what, line)


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "3.14"
    c = Checker("core with its files gone, %s" % version)
    exe = os.path.realpath(pagtest.python_tree(version)[0])
    p = subprocess.run([pagtest.python_for(version), "-c",
                        "import _asyncio; print(getattr(_asyncio, '__file__', '') or '')"],
                       capture_output=True, text=True, timeout=60)
    asyncio_so = os.path.basename(p.stdout.strip())
    with tempfile.TemporaryDirectory() as d:
        with pagtest.Fixture("basic", version) as fx:
            core = fx.gcore(path=os.path.join(d, "core"))
        rc, want, err = run(["--core", core], timeout=120)
        c.check(rc == 0 and want, "intact core: exit 0", err)

        gone = os.path.join(d, "core.all")
        tops = craft(core, gone, keep=set())
        rc, out, err = run(["--core", gone], timeout=120)
        check_line(c, "every file gone", rc, err, EXIT_NOT_PYTHON, moved(exe), "--exe")

        sysroot = os.path.join(d, "sysroot")
        os.mkdir(sysroot)
        for top in tops:
            os.symlink("/" + top, os.path.join(sysroot, "X" + top[1:]))
        rc, out, err = run(["--core", gone, "--sysroot", sysroot], timeout=120)
        c.check(rc == 0 and out == want, "every file gone, --sysroot: the intact core's output",
                "rc=%s\n%s" % (rc, err))

        # A pipe where --sysroot puts the executable is passed over, at once
        # (opening it used to block for ever), and the recorded path used.
        piped = os.path.join(d, "piped")
        os.makedirs(piped + os.path.dirname(exe))
        os.mkfifo(piped + exe)
        rc, out, err = run(["--core", core, "--sysroot", piped], timeout=30)
        c.check(rc == 0 and out == want, "a pipe under --sysroot is passed over", "rc=%s\n%s" % (rc, err))

        but_exe = os.path.join(d, "core.but-exe")
        craft(core, but_exe, keep={exe})
        rc, out, err = run(["--core", but_exe], timeout=120)
        if asyncio_so:
            check_line(c, "every file but the executable gone", rc, err, EXIT_READ, asyncio_so,
                       "--lib-search-path")
            c.check(moved(exe) not in err, "the executable found is not named", err)
        else:  # both tables are in the executable: the missing files do not matter
            c.note("_asyncio is built in: no extension file to name")
            c.check(rc == 0 and out == want and err == "",
                    "every file but the executable gone: the intact core's output", err)
    c.finish()


if __name__ == "__main__":
    main()
