#!/usr/bin/env python3
# Scale: the "many" fixture with 10,000 tasks, read live inside gdb.  Every
# task must be listed (py-async-tasks: one line per task, equal to the CLI),
# the table equal to the CLI's, and the time gdb needed is printed.
#
# usage: test_many.py --version 3.14 [--tasks 10000] [--max-seconds 300]

import argparse
import time

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
        n_oracle = len(fx.oracle.get("tasks", []))
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
        (sec2, _), t_table = gdbtest.timed(gdbtest.run_gdb, ["-p", pid],
                                           [("table", "py-async-graph --format table")])
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
        lines = [l for l in got.splitlines() if l.strip()]
        chk.true("at least %d tasks listed (got %d lines, oracle %d tasks)" % (a.tasks, len(lines), n_oracle),
                 len(lines) >= a.tasks)
        chk.eq("--format table == CLI", cli_table, sec2.get("table"))
        chk.true("completed within %.0fs" % a.max_seconds, max(t_tasks, t_table) < a.max_seconds,
                 "%.1fs" % max(t_tasks, t_table))
    chk.finish()


if __name__ == "__main__":
    main()
