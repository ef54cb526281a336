#!/usr/bin/env python3
# Nothing is cached across commands: in one gdb session, read one target,
# switch to another (detach + attach for live processes; file + core-file for
# cores, 3.14 -> 3.15 so that even the executable changes) and read again.
# Each answer must be the CLI's answer for the target selected at that moment.
#
# usage: test_switch.py --mode live|core

import argparse

import gdbtest
from gdbtest import pagtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["live", "core"], required=True)
    a = ap.parse_args()
    chk = gdbtest.Checker("gdb switch %s" % a.mode)

    with pagtest.Fixture("basic", "3.14") as fa, pagtest.Fixture("deadlock", "3.15") as fb:
        targets = []
        for fx in (fa, fb):
            exe = gdbtest.exe_of(fx.pid)
            if a.mode == "live":
                targets.append((fx, [str(fx.pid)], None, None))
            else:
                core = str(fx.gcore())
                targets.append((fx, ["--core", core, "--exe", exe], exe, core))
        expect = []
        for fx, cli_target, _, _ in targets:
            rc, out, err = gdbtest.run_cli(["--format", "tree"] + cli_target)
            if rc != 0:
                gdbtest.fail("CLI on %s exited %d: %s" % (cli_target, rc, err.strip()))
            expect.append(out)
        if a.mode == "live":
            first = ["-p", str(fa.pid)]
            switch = [("detach", "detach"), ("attach", "attach %d" % fb.pid)]
        else:
            first = [targets[0][2], targets[0][3]]
            switch = [("file", "file %s" % targets[1][2]), ("core", "core-file %s" % targets[1][3])]
        cmds = [("a", "py-async-graph"), ("a-again", "py-async-graph")] + switch + [("b", "py-async-graph")]
        sec, text = gdbtest.run_gdb(first, cmds)
        chk.eq("first target (basic 3.14) == CLI", expect[0], sec.get("a"))
        chk.eq("same target again == CLI", expect[0], sec.get("a-again"))
        chk.eq("after switching (deadlock 3.15) == CLI on the new target", expect[1], sec.get("b"))
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
