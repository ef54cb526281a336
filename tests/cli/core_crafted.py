"""The core reader on the hand-made cores of tests/fuzz/regressions/core/
(made by tests/fuzz/make_core_regressions.py from a shrunk real core):
what it says, not only that it survives (the fuzz replay checks that).

  - phdr-offset-wraps: a PT_LOAD whose p_offset + p_filesz wraps around
    passed the "is it all in the file" check -> PAG_EXIT_CORRUPT (8), one line
  - nt-file-count-wraps: NT_FILE lists 2^61 + 1 files in 150 bytes
    -> 8, "lists more files than it holds" (it said "has no NT_FILE note")
  - nt-file-no-names: entries but no paths -> 8, "names no file"
  - nt-file-devices: NT_FILE names /dev/watchdog, /dev/zero, /dev/tty: the
    reader opened every listed path to look for an ELF file, and opening
    a watchdog arms it.  Now only regular files are opened: strace shows no
    open() of a device (skipped with a reason when strace is missing)
  - nt-file-path-newline and found-exe-path-with-newlines (what fuzz_core
    found): the executable's recorded path holds newlines, a tab, ESC: it
    was printed raw, one error line became many.  Now escaped: one line
  - nt-file-missing-dirs: 5,000 files in 5,000 missing directories (more
    than the missing-directory set keeps): no crash, same output as the
    seed core it was made from

usage: core_crafted.py
"""
import os
import shutil
import subprocess
import sys
import tempfile

from clitest import Checker, cli_path, pagtest, run

EXIT_CORRUPT = 8
HERE = os.path.dirname(os.path.abspath(__file__))
REG = os.path.join(HERE, "..", "fuzz", "regressions", "core")
SEED = os.path.join(HERE, "..", "fuzz", "core_corpus", "seed-gcore-3.14")


def one_line(err):
    return err.count("\n") == 1 and err.startswith("py-async-graph: ")


def main():
    c = Checker("crafted cores")
    for name, want in (("phdr-offset-wraps", "program header 1's file range wraps around"),
                       ("nt-file-count-wraps", "its NT_FILE note lists more files than it holds"),
                       ("nt-file-no-names", "its NT_FILE note names no file")):
        rc, out, err = run(["--core", os.path.join(REG, name)], timeout=60)
        c.check(rc == EXIT_CORRUPT and one_line(err) and want in err and out == "",
                "%s: exit 8 and one line saying '%s'" % (name, want), "rc=%s\n%s" % (rc, err))
    for name, args in (("nt-file-path-newline", []), ("found-exe-path-with-newlines", []),
                       ("found-exe-path-with-newlines", ["--exe", "/bin/sh"])):
        rc, out, err = run(["--core", os.path.join(REG, name)] + args, timeout=60)
        c.check(rc == 5 and one_line(err) and "\x1b" not in err and "\t" not in err,
                "%s %s: exit 5, one line, control characters escaped" % (name, " ".join(args)),
                "rc=%s\n%r" % (rc, err[:600]))
    rc, out, err = run(["--core", os.path.join(REG, "nt-file-path-newline")], timeout=60)
    c.check("/usr/bin/py\\nthon\\t3\\x1b[2J not found" in err,
            "nt-file-path-newline: the path shown as /usr/bin/py\\nthon\\t3\\x1b[2J", err)
    # The seed's NT_FILE names the cache tree of the machine that made it;
    # this machine's tree holds the same files (the same sid package, the
    # same build-ids) under its own name: --exe and --lib-search-path.
    exe, tree = pagtest.python_tree("3.14")
    files = ["--exe", exe, "--lib-search-path",
             "%s/usr/lib/python3.14/lib-dynload:%s/usr/lib/x86_64-linux-gnu" % (tree, tree)]
    rc0, out0, err0 = run(["--core", SEED, "--info"] + files, timeout=60)
    rc, out, err = run(["--core", os.path.join(REG, "nt-file-missing-dirs"), "--info"] + files,
                       timeout=120)
    c.check(rc0 == 0 and (rc, out) == (rc0, out0),
            "nt-file-missing-dirs: the seed's --info output and exit code",
            "seed rc=%s\n%s%s\ncrafted rc=%s\n%s%s" % (rc0, out0, err0, rc, out, err))
    strace = shutil.which("strace")
    if not strace:
        print("SKIP: strace is not installed: the no-device-opened check did not run")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "trace")
        p = subprocess.run([strace, "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", log,
                            cli_path(), "--core", os.path.join(REG, "nt-file-devices"), "--info"]
                           + files,
                           capture_output=True, timeout=120)
        with open(log) as f:
            opened = [l for l in f if "/dev/" in l or "/proc/self/fd/0" in l]
    c.check(p.returncode == rc0, "nt-file-devices: exit %s as the seed" % rc0,
            p.stderr.decode(errors="replace"))
    c.check(not opened, "nt-file-devices: no device and no /proc/self/fd/0 opened",
            "".join(opened))
    c.finish()


if __name__ == "__main__":
    main()
