#!/usr/bin/env python3
# py-async-bt without an argument shows the task running on gdb's selected
# thread.  On the blocked fixture (a loop blocked in time.sleep inside a task
# on a second thread), select that thread with "thread N" and check that
# py-async-bt prints what "CLI --format graph --running --thread TID" prints,
# that this is the fixture's blocked task, and that on a thread without a
# running task it says so in one line.  Live and on the gcore core.
#
# usage: test_blocked.py --version 3.14 --mode live|core

import argparse
import json

import gdbtest
from gdbtest import pagtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--mode", choices=["live", "core"], required=True)
    ap.add_argument("--fixture", default="blocked")
    a = ap.parse_args()
    chk = gdbtest.Checker("gdb py-async-bt %s %s %s" % (a.fixture, a.mode, a.version))

    with pagtest.Fixture(a.fixture, a.version) as fx:
        exe = gdbtest.exe_of(fx.pid)
        if a.mode == "live":
            target_cli, target_gdb = [str(fx.pid)], ["-p", str(fx.pid)]
        else:
            core = str(fx.gcore())
            target_cli, target_gdb = ["--core", core, "--exe", exe], [exe, core]

        rc, out, err = gdbtest.run_cli(["--format", "json"] + target_cli)
        if rc != 0:
            gdbtest.fail("CLI json exited %d: %s" % (rc, err.strip()))
        doc = json.loads(out)
        running = [t for t in doc["tasks"] if t.get("running")]
        if not running:
            gdbtest.fail("the CLI sees no running task in the %s fixture" % a.fixture)
        oracle_ids = {int(t["id"], 16) for t in fx.oracle.get("tasks", [])}
        idle_threads = [th["native_id"] for th in doc["threads"]
                        if th.get("native_id") and th.get("running_task") is None]

        cmds = [("threads", "info threads")]
        expect = {}
        for i, t in enumerate(running):
            tid = t["thread"]
            # Select the thread whose LWP is tid by its gdb number, with "thread N".
            sel = ("python gdb.execute('thread %%d' %% [t.num for t in gdb.selected_inferior().threads()"
                   " if t.ptid[1] == %d][0], to_string=True)" % tid)
            cmds += [("sel-%d" % i, sel), ("bt-%d" % i, "py-async-bt")]
            rc, o, e = gdbtest.run_cli(["--format", "graph", "--running", "--thread", str(tid)] + target_cli)
            if rc != 0:
                gdbtest.fail("CLI --running --thread %d exited %d: %s" % (tid, rc, e.strip()))
            expect["bt-%d" % i] = (t, o)
        if idle_threads:
            tid = idle_threads[0]
            sel = ("python gdb.execute('thread %%d' %% [t.num for t in gdb.selected_inferior().threads()"
                   " if t.ptid[1] == %d][0], to_string=True)" % tid)
            cmds += [("sel-idle", sel), ("bt-idle", "py-async-bt"), ("after", "echo alive\\n")]
            rc_idle, _, e_idle = gdbtest.run_cli(["--format", "graph", "--running", "--thread", str(tid)]
                                                 + target_cli)
        sec, text = gdbtest.run_gdb(target_gdb, cmds)

        for label, (t, o) in expect.items():
            got = sec.get(label)
            chk.eq("%s: py-async-bt on thread %d == CLI --running --thread" % (label, t["thread"]), o, got)
            chk.true("%s: shows running task %s (%s)" % (label, t["id"], t.get("name")),
                     got is not None and t["id"] in got and (t.get("name") or "") in got, got)
            chk.true("%s: the running task is one the fixture reported" % label,
                     int(t["id"], 16) in oracle_ids or not oracle_ids)
        if idle_threads:
            lines, one = gdbtest.one_error_line(sec.get("bt-idle", "x\ny"))
            chk.true("thread without a running task: one line", one, "\n".join(lines))
            if rc_idle != 0 and e_idle.strip() and one:
                chk.eq("thread without a running task: same line as the CLI",
                       e_idle.strip().splitlines()[-1], lines[0])
            chk.eq("gdb answers afterwards", "alive\n", sec.get("after"))
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
