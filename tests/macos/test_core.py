#!/usr/bin/env python3
"""A Mach-O core, end to end through lldb's Mach-O core plugin.

A fixture's gcore ELF core is rewritten as an MH_CORE file (elf2macho.py:
its memory, the read-only file pages gcore leaves out, one LC_THREAD per
thread, a "main bin spec" LC_NOTE).  It is paired with x86-64 Mach-O
stand-ins (machoimage.py) whose __DATA,PyRuntime and __DATA,AsyncioDebug
sections land, once slid, at the ELF process's section addresses: the
executable's by the LC_NOTE, the _asyncio one by `target modules load
--slide`.  Then, in one `lldb-16 -b STAND-IN -c CORE.macho` session, every
output format of py-async-graph, and py-async-tasks, must print what the
CLI prints on the ELF core, byte for byte (JSON: equal without "source"
and "stats"; source.kind must be "core"), the process must be lldb's
Mach-O core plugin's, and --info must name the CLI's addresses in the
stand-ins.

pag-test-formats: tree table graph json dot tasks

usage: test_core.py --version 3.14 [--fixture basic]
"""
import argparse
import glob
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lldb"))

import lldbtest  # noqa: E402
from lldbtest import pagtest  # noqa: E402
import elf2macho  # noqa: E402
import machoimage  # noqa: E402

M64 = 1 << 64


def module_bias(files, path):
    """Load bias of the ELF file `path` in the core (its NT_FILE mapping at
    file offset 0, less its first PT_LOAD's address)."""
    starts = [s for s, _, off, p in files if p == path and off == 0]
    if not starts:
        lldbtest.fail("the core maps no %s at file offset 0" % path)
    return min(starts) - machoimage.elf_first_load(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--fixture", default="basic")
    a = ap.parse_args()
    chk = lldbtest.Checker("macos core %s %s" % (a.fixture, a.version))
    with pagtest.Fixture(a.fixture, a.version) as fx, tempfile.TemporaryDirectory() as tmp:
        exe = lldbtest.exe_of(fx.pid)
        core = str(fx.gcore())
        _, _, threads, files = elf2macho.read_elf_core(core)
        # where each table is in the ELF process: module, bias, section
        rt = machoimage.elf_section(exe, ".PyRuntime")
        aio_mod = exe if machoimage.elf_section(exe, ".AsyncioDebug") else None
        if aio_mod is None:
            sos = sorted({p for _, _, _, p in files if "/_asyncio." in p})
            if len(sos) != 1:
                lldbtest.fail("the core maps %d _asyncio modules: %s" % (len(sos), sos))
            aio_mod = sos[0]
        aio = machoimage.elf_section(aio_mod, ".AsyncioDebug")
        rt_addr = module_bias(files, exe) + rt[0]
        aio_addr = module_bias(files, aio_mod) + aio[0]

        standin = machoimage.build("x86_64", os.path.join(tmp, "python-stand-in"),
                                   [("PyRuntime", rt[1])])
        lib = machoimage.build("x86_64", os.path.join(tmp, "asyncio-stand-in.dylib"),
                               [("AsyncioDebug", aio[1])], dylib=True)
        slide = (rt_addr - machoimage.macho_sections(standin)["__DATA,PyRuntime"][0]) % M64
        lib_slide = (aio_addr - machoimage.macho_sections(lib)["__DATA,AsyncioDebug"][0]) % M64
        mcore = os.path.join(tmp, "core.macho")
        made = elf2macho.convert(core, mcore, (standin, slide))
        print("Mach-O core: %s" % made)
        chk.eq("one LC_THREAD per thread of the ELF core", len(threads), len(made["threads"]))
        with open(mcore, "rb") as f:
            hdr = f.read(16)
        chk.eq("an MH_CORE file for x86_64", (0xFEEDFACF, 0x01000007, 4),
               tuple(int.from_bytes(hdr[i:i + 4], "little") for i in (0, 4, 12)))

        fmts = lldbtest.FORMATS
        cli = {}
        for f in fmts:
            rc, out, err = lldbtest.run_cli(["--format", f, "--core", core, "--exe", exe])
            if rc != 0:
                lldbtest.fail("CLI --format %s on the ELF core exited %d: %s" % (f, rc, err))
            cli[f] = out
        rc, cli_info, err = lldbtest.run_cli(["--info", "--core", core, "--exe", exe])
        if rc != 0:
            lldbtest.fail("CLI --info on the ELF core exited %d: %s" % (rc, err))

        cmds = [lldbtest.direct("add", "target modules add %s" % lib),
                lldbtest.direct("load", "target modules load --file %s --slide 0x%x"
                                % (lib, lib_slide)),
                lldbtest.direct("plugin", "script print(lldb.target.GetProcess().GetPluginName())"),
                lldbtest.direct("images", "image list -o -f")]
        cmds += [lldbtest.direct(f, "py-async-graph --format %s" % f) for f in fmts]
        cmds += [lldbtest.direct("tasks-cmd", "py-async-tasks"),
                 lldbtest.direct("info", "py-async-graph --info")]
        (sec, text), secs = lldbtest.timed(lldbtest.run_lldb, [standin, "-c", mcore], cmds)
        print("lldb ran %d commands in %.2fs" % (len(cmds), secs))
        if "plugin" not in sec:
            lldbtest.fail("lldb did not open the Mach-O core:\n" + text[-3000:])
        chk.eq("lldb reads it with its Mach-O core plugin", "mach-o-core\n", sec["plugin"])
        chk.true("the stand-in sits at slide 0x%x (main bin spec)" % slide,
                 ("0x%016x" % slide) in sec.get("images", ""), sec.get("images"))
        for f in fmts:
            got = sec.get(f)
            if got is None:
                chk.true("lldb printed --format %s" % f, False, "\n" + text[-3000:])
            elif f == "json":
                chk.eq("json (without source/stats) == CLI on the ELF core",
                       lldbtest.strip_json(cli[f]), lldbtest.strip_json(got))
                chk.eq("json source.kind", "core", (json.loads(got).get("source") or {}).get("kind"))
            else:
                chk.eq("--format %s == CLI on the ELF core, byte for byte" % f, cli[f], got)
        chk.eq("py-async-tasks == CLI --format tasks", cli["tasks"], sec.get("tasks-cmd"))
        chk.true("the graph has the fixture's tasks", all(
            t["name"] in cli["tasks"] for t in fx.oracle.get("tasks", []) if t.get("name")))
        cl = cli_info.splitlines()
        want = [cl[0],
                "_PyRuntime: 0x%x in %s: %s" % (rt_addr, standin, cl[1].split(": ", 2)[2]),
                "AsyncioDebug: 0x%x in %s: %s" % (aio_addr, lib,
                                                  cl[2].split(": ", 2)[2])]
        chk.true("the CLI's --info names the same addresses",
                 cl[1].startswith("_PyRuntime: 0x%x in " % rt_addr) and
                 cl[2].startswith("AsyncioDebug: 0x%x in " % aio_addr), cli_info)
        chk.eq("--info on the Mach-O core", "\n".join(want) + "\n", sec.get("info"))
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
