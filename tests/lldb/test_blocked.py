#!/usr/bin/env python3
# py-async-bt without an argument shows the task running on lldb's selected
# thread.  On the blocked fixture (a loop blocked in time.sleep inside a task
# on a second thread), select that thread by its TID and check that
# py-async-bt prints what "CLI --format graph --running --thread TID" prints,
# that this is a task the fixture reported, and that on a thread without a
# running task it fails with the CLI's one line.  Live and on the gcore core.
#
# usage: test_blocked.py --version 3.14 --mode live|core

import argparse
import json

import lldbtest
from lldbtest import pagtest


def select(tid):
    # lldb's own Python selects the thread (no code runs in the target).
    return "script print('selected', lldb.process.SetSelectedThreadByID(%d))" % tid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--mode", choices=["live", "core"], required=True)
    ap.add_argument("--fixture", default="blocked")
    a = ap.parse_args()
    chk = lldbtest.Checker("lldb py-async-bt %s %s %s" % (a.fixture, a.mode, a.version))

    with pagtest.Fixture(a.fixture, a.version) as fx:
        exe = lldbtest.exe_of(fx.pid)
        if a.mode == "live":
            target_cli, target_lldb = [str(fx.pid)], ["-p", str(fx.pid)]
        else:
            core = str(fx.gcore())
            target_cli, target_lldb = ["--core", core, "--exe", exe], [exe, "-c", core]

        rc, out, err = lldbtest.run_cli(["--format", "json"] + target_cli)
        if rc != 0:
            lldbtest.fail("CLI json exited %d: %s" % (rc, err.strip()))
        doc = json.loads(out)
        running = [t for t in doc["tasks"] if t.get("running")]
        if not running:
            lldbtest.fail("the CLI sees no running task in the %s fixture" % a.fixture)
        oracle_ids = {int(t["id"], 16) for t in fx.oracle.get("tasks", [])}
        idle = [th["native_id"] for th in doc["threads"]
                if th.get("native_id") and th.get("running_task") is None]

        D, P = lldbtest.direct, lldbtest.probe
        cmds, expect = [], {}
        for i, t in enumerate(running):
            cmds += [D("sel-%d" % i, select(t["thread"])), D("bt-%d" % i, "py-async-bt")]
            rc, o, e = lldbtest.run_cli(["--format", "graph", "--running", "--thread",
                                         str(t["thread"])] + target_cli)
            if rc != 0:
                lldbtest.fail("CLI --running --thread %d exited %d: %s" % (t["thread"], rc, e))
            expect["bt-%d" % i] = (t, o)
        if idle:
            cmds += [D("sel-idle", select(idle[0])), P("bt-idle", "py-async-bt"),
                     D("threads", "thread list")]
            rc_idle, _, e_idle = lldbtest.run_cli(["--format", "graph", "--running", "--thread",
                                                   str(idle[0])] + target_cli)
        sec, text = lldbtest.run_lldb(target_lldb, cmds)

        for label, (t, o) in expect.items():
            chk.eq("thread %d selected" % t["thread"], "selected True\n",
                   sec.get("sel-" + label[3:]))
            got = sec.get(label)
            chk.eq("%s: py-async-bt on thread %d == CLI --running --thread" % (label, t["thread"]),
                   o, got)
            chk.true("%s: shows running task %s (%s)" % (label, t["id"], t.get("name")),
                     got is not None and t["id"] in got and (t.get("name") or "") in got, got)
            chk.true("%s: the running task is one the fixture reported" % label,
                     int(t["id"], 16) in oracle_ids, t["id"])
        if idle:
            p = sec.get("bt-idle")
            line = lldbtest.error_line(p)
            chk.true("thread without a running task: one line, failed status",
                     line is not None and p.get("failed"), p)
            chk.true("the CLI fails there too (rc=%d)" % rc_idle, rc_idle != 0, e_idle)
            if line is not None and e_idle.strip():
                chk.eq("thread without a running task: same line as the CLI",
                       e_idle.strip().splitlines()[-1], line)
            chk.true("lldb answers 'thread list' afterwards", "thread #1" in (sec.get("threads") or ""),
                     sec.get("threads"))
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
