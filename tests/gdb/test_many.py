#!/usr/bin/env python3
# Scale: the "many" fixture with 10,000 tasks, read live inside gdb.  Every
# task must be listed (py-async-tasks: one line per task, equal to the CLI),
# the table equal to the CLI's, and the time gdb needed is printed.
#
# usage: test_many.py --version 3.14 [--tasks 10000] [--max-seconds 300]

import argparse

import gdbtest
from gdbtest import pagtest
from gdbtest import is_stats_line as _is_stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--tasks", type=int, default=10000)
    ap.add_argument("--max-seconds", type=float, default=300)
    a = ap.parse_args()
    chk = gdbtest.Checker("gdb many %d %s" % (a.tasks, a.version))

    with pagtest.Fixture("many", a.version, args=("--tasks", str(a.tasks))) as fx:
        pid = str(fx.pid)
        rc, cli_tasks, e = gdbtest.run_cli(["--format", "tasks", pid])
        if rc != 0:
            gdbtest.fail("CLI --format tasks exited %d: %s" % (rc, e.strip()))
        rc, cli_table, e = gdbtest.run_cli(["--format", "table", pid])
        if rc != 0:
            gdbtest.fail("CLI --format table exited %d: %s" % (rc, e.strip()))

        # One gdb session per command so that each time is the command's own
        # (attach and symbol loading are timed separately by the empty run).
        _, t_attach = gdbtest.timed(gdbtest.run_gdb, ["-p", pid], [("nop", "echo x\\n")])
        (sec, _), t_tasks = gdbtest.timed(gdbtest.run_gdb, ["-p", pid],
                                          [("tasks", "py-async-tasks --stats")])
        # A few of the fixture's sampled tasks, against its own format_call_graph.
        sampled = [t for t in fx.oracle.get("tasks", []) if t.get("graph") and not t.get("error")][:4]
        cmds = [("table", "py-async-graph --format table")]
        cmds += [("bt-%d" % i, "py-async-bt %s" % t["id"]) for i, t in enumerate(sampled)]
        (sec2, _), t_table = gdbtest.timed(gdbtest.run_gdb, ["-p", pid], cmds)
        print("TIME gdb attach+source+detach only: %.2fs" % t_attach)
        print("TIME gdb py-async-tasks (%d tasks): %.2fs total, %.2fs over attach" %
              (a.tasks, t_tasks, t_tasks - t_attach))
        print("TIME gdb py-async-graph --format table: %.2fs total, %.2fs over attach" %
              (t_table, t_table - t_attach))

        got = sec.get("tasks", "")
        stats = [l for l in got.splitlines(True) if _is_stats(l)]
        for l in stats:
            print("  " + l.rstrip())
        got = "".join(l for l in got.splitlines(True) if l not in stats)
        chk.eq("py-async-tasks == CLI --format tasks", cli_tasks, got)
        lines = [l for l in got.splitlines() if l.strip()][1:]  # below the header
        n_count = fx.oracle.get("task_count")
        if n_count is None:
            n_count = (fx.oracle.get("expect") or {}).get("task_count", a.tasks)
        chk.eq("one line per task (the fixture counts %s pending tasks)" % n_count, n_count, len(lines))
        for i, t in enumerate(sampled):
            chk.eq("py-async-bt %s == the fixture's format_call_graph" % t.get("name"),
                   t["graph"].rstrip("\n"), (sec2.get("bt-%d" % i) or "").rstrip("\n"))
        chk.eq("--format table == CLI", cli_table, sec2.get("table"))
        chk.true("completed within %.0fs" % a.max_seconds, max(t_tasks, t_table) < a.max_seconds,
                 "%.1fs" % max(t_tasks, t_table))
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
