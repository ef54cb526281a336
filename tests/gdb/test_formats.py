#!/usr/bin/env python3
# gdb frontend vs the CLI: for one fixture under one CPython version, live
# (gdb -p PID) or on its gcore core (gdb EXE CORE), every output format of
# "py-async-graph" inside gdb must be byte-identical to what the standalone
# CLI prints for the same target (JSON: equal once "source"/"stats", which
# describe how the target was reached, are removed).  The CLI's own output
# is checked against the fixture's format_call_graph oracle by the CLI tests;
# here the graph format is also checked against that oracle directly.
#
# usage: test_formats.py --fixture NAME --version 3.14 --mode live|core [--dbg]

import argparse
import json

import gdbtest
from gdbtest import pagtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--mode", choices=["live", "core"], required=True)
    ap.add_argument("--dbg", action="store_true")
    ap.add_argument("--shared", action="store_true", help="libpython3.X.so interpreter")
    a = ap.parse_args()
    if a.shared:
        a.dbg = "shared"
    chk = gdbtest.Checker("gdb %s %s %s%s" % (a.mode, a.fixture, a.version,
                                               pagtest.flavour_suffix(a.dbg)))

    with pagtest.Fixture(a.fixture, a.version, dbg=a.dbg) as fx:
        exe = gdbtest.exe_of(fx.pid)
        if a.mode == "live":
            target_cli = [str(fx.pid)]
            target_gdb = ["-p", str(fx.pid)]
        else:
            core = str(fx.gcore())
            target_cli = ["--core", core, "--exe", exe]
            target_gdb = [exe, core]

        def cli_all():
            out = {}
            for fmt in gdbtest.FORMATS:
                rc, o, e = gdbtest.run_cli(["--format", fmt] + target_cli)
                if rc != 0:
                    gdbtest.fail("CLI --format %s on %s exited %d: %s" % (fmt, target_cli, rc, e.strip()))
                out[fmt] = o
            return out

        before = cli_all()
        cmds = [(fmt, "py-async-graph --format %s" % fmt) for fmt in gdbtest.FORMATS]
        cmds += [("tasks-cmd", "py-async-tasks"), ("alive", "echo alive\\n")]
        (sections, text), secs = gdbtest.timed(gdbtest.run_gdb, target_gdb, cmds)
        print("gdb ran %d commands in %.2fs" % (len(cmds), secs))
        after = cli_all() if a.mode == "live" else before

        for fmt in gdbtest.FORMATS:
            if fmt not in sections:
                chk.true("gdb printed --format %s" % fmt, False, "\n" + text[-3000:])
                continue
            if fmt == "json":
                cli_doc = gdbtest.strip_json(before[fmt])
                if gdbtest.strip_json(after[fmt]) != cli_doc:
                    gdbtest.fail("the fixture changed while tested (CLI json before/after differ)")
                try:
                    raw = json.loads(sections[fmt])
                except ValueError as e:
                    chk.true("gdb json parses", False, "%s\n%s" % (e, sections[fmt][:2000]))
                    continue
                chk.eq("json (without source/stats) == CLI", cli_doc, gdbtest.strip_json(sections[fmt]))
                src = raw.get("source") if isinstance(raw, dict) else None
                if src is not None:
                    chk.eq("json source.kind", a.mode, src.get("kind"))
                    chk.eq("json source.pid", fx.pid, src.get("pid"))
            else:
                if after[fmt] != before[fmt]:
                    gdbtest.fail("the fixture changed while tested (CLI %s before/after differ)" % fmt)
                chk.eq("--format %s == CLI" % fmt, before[fmt], sections[fmt])
        chk.eq("py-async-tasks == CLI --format tasks", before["tasks"], sections.get("tasks-cmd"))
        chk.eq("gdb still answers afterwards", "alive\n", sections.get("alive"))

        # The fixture's own asyncio.format_call_graph() text for every listed task.
        graph = sections.get("graph", "")
        # (A running task's oracle is taken from inside the task, where the
        # stack starts at the recording frame; the CLI tests cover that case.)
        for t in fx.oracle.get("tasks", []):
            g = t.get("graph")
            if g and not t.get("running") and not t.get("error"):
                if g.rstrip("\n") in graph:
                    chk.true("graph output holds the oracle's format_call_graph of %s" % t.get("name"), True)
                    continue
                # Documented "shows more" case: format_call_graph stops at an
                # async_generator_asend; ours goes on into the generator's frames.
                block = pagtest.graph_block(graph, g.split("\n", 1)[0])
                chk.true("graph of %s holds every oracle line, plus the async generator frame"
                         % t.get("name"),
                         pagtest.lines_contained(block, g) and "in async generator " in block,
                         "\n--- oracle:\n%s--- ours:\n%s" % (g, block))
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
