"""Broken and unusual core files: one clear line, a distinct exit code, no
crash, no hang.

usage: core_bad.py VERSION
  - missing core file                 -> PAG_EXIT_NO_PROCESS (3)
  - a core cut in half (truncate)     -> PAG_EXIT_TRUNCATED (12), "core file X is truncated (...)"
  - a core of a non-Python process    -> PAG_EXIT_NOT_PYTHON (5)
  - not a core at all (an executable) -> PAG_EXIT_USAGE (2)
  - not a file: a directory, a terminal -> PAG_EXIT_USAGE (2), at once
  - a pipe (FIFO, as `--core <(zstdcat core.zst)` gives) is read as a stream: it
    used to block in open() for ever (issue 18, defect 3); one holding text -> 8
    (whole cores through pipes and FIFOs: core_packed.py)
  - a file that is not ELF                -> PAG_EXIT_CORRUPT (8), naming its first bytes
  - a compressed core is decompressed (core_packed.py): a gzip/xz one holding only
    the head of a core -> PAG_EXIT_TRUNCATED (12); zstd/lz4 magic before raw bytes ->
    PAG_EXIT_CORRUPT (8); bzip2, which is not read -> PAG_EXIT_UNSUPPORTED (7), naming
    the compressor (they used to exit 2, the code for bad options: defect 13)
  - an empty file                         -> PAG_EXIT_TRUNCATED (12)
"""
import gzip
import lzma
import os
import subprocess
import sys
import tempfile
import time

from clitest import Checker, pagtest, run

EXIT_USAGE, EXIT_NO_PROCESS, EXIT_NOT_PYTHON, EXIT_TRUNCATED = 2, 3, 5, 12
EXIT_UNSUPPORTED, EXIT_CORRUPT = 7, 8
QUICK = 20  # seconds: every refusal below is immediate; a hang is a failure


def gcore_of(pid, d):
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    prefix = os.path.join(d, "core")
    subprocess.run(["gcore", "-o", prefix, str(pid)], capture_output=True, timeout=120, env=env)
    path = "%s.%d" % (prefix, pid)
    return path if os.path.exists(path) else None


def not_files(c, d):
    """Things that are not regular files are refused before anything reads
    them (a pipe or a terminal would block)."""
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", "sleep 1; printf 'hi\\n' > %s" % fifo])
    rc, out, err = run(["--core", fifo], timeout=QUICK)
    writer.wait()
    c.one_error_line(rc, err, EXIT_CORRUPT, "a FIFO holding text, given as --core",
                     "starts with 68 69 0a")
    rc, out, err = run(["--core", d], timeout=QUICK)
    c.one_error_line(rc, err, EXIT_USAGE, "a directory given as --core", "is a directory")
    master, slave = os.openpty()
    try:
        tty = os.ttyname(slave)
        rc, out, err = run(["--core", tty], timeout=QUICK)
        c.one_error_line(rc, err, EXIT_USAGE, "a terminal given as --core", "is a character device")
    finally:
        os.close(master)
        os.close(slave)
    rc, out, err = run(["--core", "/dev/null"], timeout=QUICK)
    c.one_error_line(rc, err, EXIT_USAGE, "/dev/null given as --core", "is a character device")


def not_elf(c, d, core_head):
    """A file that is not ELF: corrupt (8), or unsupported (7) when it is a
    compressed core, with the compressor named."""
    def write(name, data):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        return path
    text = write("text", b"hello, this is not a core file at all\n" * 4)
    rc, out, err = run(["--core", text], timeout=QUICK)
    c.one_error_line(rc, err, EXIT_CORRUPT, "a text file given as --core",
                     "is not an ELF file: it starts with 68 65 6c 6c")
    rc, out, err = run(["--core", write("short", b"hi\n")], timeout=QUICK)
    c.one_error_line(rc, err, EXIT_CORRUPT, "a 3-byte text file", "starts with 68 69 0a")
    rc, out, err = run(["--core", write("empty", b"")], timeout=QUICK)
    c.one_error_line(rc, err, EXIT_TRUNCATED, "an empty file", "is empty")
    packed = {
        "gzip": gzip.compress(core_head),
        "xz": lzma.compress(core_head),
        # no zstd, lz4 or bzip2 module in the standard library: their frame magic
        "zstd": b"\x28\xb5\x2f\xfd" + core_head,
        "lz4": b"\x04\x22\x4d\x18" + core_head,
        "bzip2": b"BZh9" + core_head,
    }
    want = {"gzip": (EXIT_TRUNCATED, "is truncated"), "xz": (EXIT_TRUNCATED, "is truncated"),
            "zstd": (EXIT_CORRUPT, "compressed core %s is corrupt"),
            "lz4": (EXIT_CORRUPT, "compressed core %s is corrupt"),
            "bzip2": (EXIT_UNSUPPORTED, "a compressed core (bzip2): decompress it first")}
    for kind, data in packed.items():
        path = write("core." + kind, data)
        rc, out, err = run(["--core", path], timeout=QUICK)
        code, text = want[kind]
        c.one_error_line(rc, err, code, "a %s-compressed core" % kind,
                         text % path if "%s" in text else text)
        if kind == "bzip2":
            c.check(data[:4].hex(" ") in err, "%s: the line shows its first bytes" % kind, err)


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
        with open(core, "rb") as f:
            core_head = f.read(1 << 16)
        not_files(c, d)
        not_elf(c, d, core_head)
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
