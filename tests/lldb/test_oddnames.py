#!/usr/bin/env python3
# lldb on task names no terminal line holds as they are (fixtures/oddnames.py:
# lone surrogates, control characters, ""; issue 18), live or on a core, in
# one lldb session: every format of py-async-graph and py-async-tasks prints
# the CLI's bytes (the original bytes of a name's surrogateescapes
# included), and --task selects each task by its bytes (what a shell or a
# terminal passes), by repr(name) (what graph prints) and by "".  The CLI's
# own output is checked against CPython's tools by tests/cli/oddnames.py.
#
# usage: test_oddnames.py --version 3.14 --mode live|core

import collections

import lldbtest
from lldbtest import pagtest


def lldb_arg(s):
    """s as one lldb command argument: double quotes, in which a backslash
    escapes \\, " and ` (a backtick would run an expression)."""
    return '"' + "".join("\\" + c if c in '\\"`' else c for c in s) + '"'


def typable(name):
    """Whether a terminal can pass the name as its bytes: printable, with
    surrogateescapes (bytes that are not UTF-8) as the only surrogates."""
    return all(0xDC80 <= ord(c) <= 0xDCFF or c.isprintable() for c in name)


def main():
    a = lldbtest.version_and_mode()
    chk = lldbtest.Checker("lldb %s oddnames %s" % (a.mode, a.version))
    with pagtest.Fixture("oddnames", a.version) as fx:
        target_cli, target_lldb = lldbtest.targets(fx, a.mode, "-c")
        expect = collections.OrderedDict()
        for fmt in lldbtest.FORMATS:
            expect[fmt] = ("py-async-graph --format %s" % fmt, ["--format", fmt])
        expect["tasks-cmd"] = ("py-async-tasks", ["--format", "tasks"])
        for i, t in enumerate(fx.oracle["tasks"]):
            by_id = ["--format", "tasks", "--task", t["id"]]
            expect["repr-%d" % i] = ("py-async-tasks --task %s" % lldb_arg(repr(t["name"])), by_id)
            if typable(t["name"]):
                expect["bytes-%d" % i] = ("py-async-tasks --task %s" % lldb_arg(t["name"]), by_id)
        expect["empty"] = ("py-async-graph -f tree --task ''", ["-f", "tree", "--task", ""])
        cli = lldbtest.cli_outputs(expect, target_cli, lldbtest.run_cli)
        cmds = [lldbtest.direct(label, cmd) for label, (cmd, _) in expect.items()]
        cmds.append(lldbtest.probe("alive", "thread list"))
        sections, text = lldbtest.run_lldb(target_lldb, cmds)
        lldbtest.same_as_cli(chk, expect, cli, sections, text)
        alive = sections.get("alive")
        chk.true("lldb still answers afterwards", isinstance(alive, dict) and alive.get("ok"), alive)
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
