#!/usr/bin/env python3
"""Mach-O lookup, for real, in lldb-16: the plugin finds _PyRuntime and the
AsyncioDebug table as __DATA sections of Mach-O modules and validates them,
and `py-async-graph --info` says what it found, with no process.

For one CPython version, and for arm64 and x86_64 images (machoimage.py:
built with zig from the Debian build's real .PyRuntime/.AsyncioDebug bytes,
no symbols, so only the section lookup can find them), in one lldb session:
  one   an executable holding both sections (a static build's layout);
  split an executable holding __DATA,PyRuntime and a dylib holding
        __DATA,AsyncioDebug (a build whose _asyncio is an extension, or
        Homebrew's framework), placed with `target modules load --slide`
        since a bare target has no loader to place dependents.
Oracles: the addresses are the sections' (read from the files' load
commands here, plus the slide), the module is the file that holds each,
and everything else on the lines -- version, build, table checks -- is
what the CLI prints with --info for a live process of the same
interpreter; the version is also the interpreter's own sys.hexversion.

usage: test_image.py --version 3.14
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lldb"))

import lldbtest  # noqa: E402
from lldbtest import pagtest  # noqa: E402
import check_dylib  # noqa: E402
import machoimage  # noqa: E402

SLIDE = 0x200000000


def elf_tables(version):
    """(PyRuntime bytes, AsyncioDebug bytes) of the Debian build."""
    exe, tree = pagtest.python_tree(version)
    rt = machoimage.elf_section(exe, ".PyRuntime")
    aio = machoimage.elf_section(exe, ".AsyncioDebug")
    if aio is None:
        nodot = version.replace(".", "")
        sos = glob.glob(os.path.join(tree, "usr", "lib", "python" + version, "lib-dynload",
                                     "_asyncio.cpython-%s-*.so" % nodot))
        if not sos:
            lldbtest.fail("no .AsyncioDebug in %s and no _asyncio extension in %s" % (exe, tree))
        aio = machoimage.elf_section(sos[0], ".AsyncioDebug")
    if rt is None or aio is None:
        lldbtest.fail("the Debian %s build lacks .PyRuntime or .AsyncioDebug" % version)
    return rt[1], aio[1]


def cli_info(version):
    """The CLI's --info lines for a live process of this interpreter, each
    cut after its module: {"python": line, "_PyRuntime": tail, ...}."""
    with pagtest.Fixture("basic", version) as fx:
        rc, out, err = lldbtest.run_cli(["--info", str(fx.pid)])
        if rc != 0:
            lldbtest.fail("CLI --info %d exited %d: %s" % (fx.pid, rc, err.strip()))
    lines = out.splitlines()
    if len(lines) != 3:
        lldbtest.fail("CLI --info printed %d lines, not 3:\n%s" % (len(lines), out))
    return {"python": lines[0], "_PyRuntime": lines[1].split(": ", 2)[2],
            "AsyncioDebug": lines[2].split(": ", 2)[2]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    a = ap.parse_args()
    chk = lldbtest.Checker("macos image %s" % a.version)
    rt, aio = elf_tables(a.version)
    cli = cli_info(a.version)
    py = pagtest.python_for(a.version)
    hexver = subprocess.run([py, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3], "
                                       "hex(sys.hexversion))"], stdout=subprocess.PIPE, text=True,
                            env=pagtest.clean_env(), timeout=60).stdout.split()
    chk.true("the CLI's --info names the interpreter's version %s" % " ".join(hexver),
             cli["python"].startswith("python: CPython %s (%s), " % tuple(hexver)), cli["python"])

    with tempfile.TemporaryDirectory() as tmp:
        cmds, expect = [], {}
        for arch in ("aarch64", "x86_64"):
            one = machoimage.build(arch, os.path.join(tmp, "one-%s" % arch),
                                   [("PyRuntime", rt), ("AsyncioDebug", aio)])
            exe = machoimage.build(arch, os.path.join(tmp, "split-%s" % arch), [("PyRuntime", rt)])
            lib = machoimage.build(arch, os.path.join(tmp, "libasyncio-%s.dylib" % arch),
                                   [("AsyncioDebug", aio)], dylib=True)
            want = {"aarch64": "arm64"}.get(arch, arch)
            for p in (one, exe, lib):
                chk.eq("%s is a Mach-O %s image" % (os.path.basename(p), want), want,
                       machoimage.macho_arch(p))
                syms = pagtest.run([check_dylib.tool("llvm-nm"), "-j", p])[1].split()
                chk.true("%s has no table symbol (only sections can find them)"
                         % os.path.basename(p), not {"__PyRuntime", "_AsyncioDebug",
                                                     "_PyRuntime"} & set(syms), syms)
            s_one, s_exe = machoimage.macho_sections(one), machoimage.macho_sections(exe)
            s_lib = machoimage.macho_sections(lib)
            expect["one-" + arch] = [
                cli["python"],
                "_PyRuntime: 0x%x in %s: %s" % (s_one["__DATA,PyRuntime"][0], one,
                                                cli["_PyRuntime"]),
                "AsyncioDebug: 0x%x in %s: %s" % (s_one["__DATA,AsyncioDebug"][0], one,
                                                  cli["AsyncioDebug"])]
            expect["split-" + arch] = [
                cli["python"],
                "_PyRuntime: 0x%x in %s: %s" % (s_exe["__DATA,PyRuntime"][0], exe,
                                                cli["_PyRuntime"]),
                "AsyncioDebug: 0x%x in %s: %s" % (s_lib["__DATA,AsyncioDebug"][0] + SLIDE, lib,
                                                  cli["AsyncioDebug"])]
            cmds += [lldbtest.direct("create-one-" + arch, "target create %s" % one),
                     lldbtest.direct("one-" + arch, "py-async-graph --info"),
                     lldbtest.direct("create-split-" + arch, "target create %s" % exe),
                     lldbtest.direct("load-split-" + arch,
                                     "target modules load --file %s --slide 0" % exe),
                     lldbtest.direct("add-split-" + arch, "target modules add %s" % lib),
                     lldbtest.direct("slide-split-" + arch,
                                     "target modules load --file %s --slide 0x%x" % (lib, SLIDE)),
                     lldbtest.direct("split-" + arch, "py-async-graph --info"),
                     lldbtest.probe("graph-" + arch, "py-async-graph")]
        sec, text = lldbtest.run_lldb([], cmds)
        for label, lines in expect.items():
            got = sec.get(label)
            if got is None:
                chk.true("lldb printed --info for %s" % label, False, "\n" + text[-3000:])
                continue
            chk.eq("--info on the %s image(s) in lldb-16" % label, "\n".join(lines) + "\n", got)
        for arch in ("aarch64", "x86_64"):
            p = sec.get("graph-" + arch) or {}
            chk.true("without --info, a bare %s target is refused in one line (%s)"
                     % (arch, lldbtest.error_line(p)),
                     (lldbtest.error_line(p) or "").startswith("py-async-graph: no process"), p)
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
