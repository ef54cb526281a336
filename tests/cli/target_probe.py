"""The CLI's target layer on its own (no decoder): pag-target-probe looks up
_PyRuntime / .PyRuntime / .AsyncioDebug / PyCoro_Type in a live fixture and
in its gcore core; the bytes at _PyRuntime start with CPython's debug cookie
"xdebugpy", and live and core agree on every address and byte (a symbol in
read-only data is read from the ELF file in the core case).  The target's
source fields ("source FIELD VALUE" lines) name the kind, the pid, the core
file and the executable.

usage: target_probe.py VERSION
"""
import os
import subprocess
import sys
import tempfile

from clitest import Checker, pagtest

LOOKUPS = ["sym:_PyRuntime:8", "sec:.PyRuntime:8", "sec:.AsyncioDebug:16", "sym:PyCoro_Type:16",
           "sym:_Py_AsyncioDebug:16"]
COOKIE = b"xdebugpy".hex()


def probe(args):
    exe = os.path.join(pagtest.BUILD_DIR, "tests", "pag-target-probe")
    p = subprocess.run([exe] + [str(a) for a in args] + LOOKUPS, capture_output=True, text=True, timeout=120)
    lines = [l for l in p.stdout.splitlines() if not l.startswith("source ")]
    return p.returncode, sorted(lines), p.stderr


def source(args):
    """The probe's source fields as a dict (FIELD -> VALUE)."""
    exe = os.path.join(pagtest.BUILD_DIR, "tests", "pag-target-probe")
    p = subprocess.run([exe] + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    src = {}
    for l in p.stdout.splitlines():
        if l.startswith("source "):
            field, _, value = l[len("source "):].partition(" ")
            src[field] = value
    return src


def main():
    version = sys.argv[1]
    c = Checker("target probe %s" % version)
    with tempfile.TemporaryDirectory() as d, pagtest.Fixture("basic", version) as fx:
        rc, live, err = probe([fx.pid])
        c.check(rc == 0, "probe live exit 0", err)
        rt = [l for l in live if l.startswith("sym _PyRuntime #0")]
        c.check(len(rt) == 1 and rt[0].endswith("bytes=" + COOKIE), "_PyRuntime starts with xdebugpy", "\n".join(live))
        sec = [l for l in live if l.startswith("sec .PyRuntime #0")]
        c.check(len(sec) == 1 and sec[0].split()[3] == rt[0].split()[3] if rt and sec else False,
                ".PyRuntime section is at _PyRuntime", "\n".join(live))
        c.check(any(l.startswith("sec .AsyncioDebug #0 0x") for l in live), ".AsyncioDebug found", "\n".join(live))
        src = source([fx.pid])
        c.check(src.get("kind") == "live" and src.get("pid") == str(fx.pid) and "core" not in src,
                "live source: kind live, the pid, no core", repr(src))
        c.check(os.path.realpath(src.get("executable", "")) == os.path.realpath(fx.exe),
                "live source: the executable is the interpreter's", "%r vs %r" % (src, fx.exe))
        core = fx.gcore(path=os.path.join(d, "core"))
        rc, cl, err = probe(["--core", core])
        c.check(rc == 0, "probe core exit 0", err)
        c.check(cl == live, "core lookups and bytes equal live", "--- live\n%s\n--- core\n%s" % ("\n".join(live), "\n".join(cl)))
        csrc = source(["--core", core])
        c.check(csrc.get("kind") == "core" and csrc.get("pid") == str(fx.pid) and csrc.get("core") == core,
                "core source: kind core, the pid, the core file", repr(csrc))
        c.check(os.path.realpath(csrc.get("executable", "")) == os.path.realpath(fx.exe),
                "core source: the executable is the interpreter's", "%r vs %r" % (csrc, fx.exe))
    c.finish()


if __name__ == "__main__":
    main()
