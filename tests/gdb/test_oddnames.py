#!/usr/bin/env python3
# gdb on task names no terminal line holds as they are (fixtures/oddnames.py:
# lone surrogates, control characters, ""; issue 18), live or on a core: every
# format of py-async-graph and py-async-tasks prints the CLI's bytes -- the
# original bytes of a name's surrogateescapes included, which gdb.write()
# cannot print -- and --task selects each task by repr(name) (what graph
# prints; gdb's command line refuses bytes that are not UTF-8 before the
# script sees them) and by "".  The CLI's own output is checked against
# CPython's tools by tests/cli/oddnames.py.
#
# usage: test_oddnames.py --version 3.14 --mode live|core [--script PATH]

import gdbtest
from gdbtest import pagtest


def gdb_arg(s):
    """s as one argument of gdb.string_to_argv (libiberty's buildargv: a
    backslash escapes the next character, inside quotes too)."""
    return "'" + "".join("\\" + c if c in "\\'\"" else c for c in s) + "'"


def main():
    a = gdbtest.version_and_mode(script="another copy of py-async-graph.py to source")
    chk = gdbtest.Checker("gdb %s oddnames %s" % (a.mode, a.version))
    with pagtest.Fixture("oddnames", a.version) as fx:
        target_cli, target_gdb = gdbtest.targets(fx, a.mode)
        expect = {}
        for fmt in gdbtest.FORMATS:
            expect[fmt] = ("py-async-graph --format %s" % fmt, ["--format", fmt])
        expect["tasks-cmd"] = ("py-async-tasks", ["--format", "tasks"])
        for i, t in enumerate(fx.oracle["tasks"]):
            expect["repr-%d" % i] = ("py-async-tasks --task %s" % gdb_arg(repr(t["name"])),
                                     ["--format", "tasks", "--task", t["id"]])
        expect["empty"] = ("py-async-graph -f tree --task ''", ["-f", "tree", "--task", ""])
        cli = gdbtest.cli_outputs(expect, target_cli)
        cmds = [(label, cmd) for label, (cmd, _) in expect.items()]
        sections, text = gdbtest.run_gdb(target_gdb, cmds + [("alive", "echo alive\\n")],
                                         script=a.script)
        gdbtest.same_as_cli(chk, expect, cli, sections, text)
        chk.eq("gdb still answers afterwards", "alive\n", sections.get("alive"))
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
