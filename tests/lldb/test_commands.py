#!/usr/bin/env python3
# The lldb commands beyond the plain format dump, on one fixture (live), in
# one lldb session:
#   py-async-bt TASK (by id, every task) == the fixture's own
#     asyncio.format_call_graph(task) (and its limit= variants for --limit);
#   --version == CLI; help texts list the options and explain py-async-bt;
#   --stats reports the core's counters and lldb's ReadMemory counter;
#   an unknown task / a bad option / a missing option value: exactly one
#     error line, the command's status is "failed", and lldb keeps going
#     (`thread list` and a good command afterwards succeed).
#
# usage: test_commands.py --version 3.14 [--fixture basic]

import argparse
import re

import lldbtest
from lldbtest import pagtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--fixture", default="basic")
    a = ap.parse_args()
    chk = lldbtest.Checker("lldb commands %s %s" % (a.fixture, a.version))

    with pagtest.Fixture(a.fixture, a.version) as fx:
        pid = str(fx.pid)
        tasks = [t for t in fx.oracle.get("tasks", []) if t.get("id")]
        if not tasks:
            lldbtest.fail("the oracle lists no tasks")
        D, P = lldbtest.direct, lldbtest.probe
        cmds = []
        for i, t in enumerate(tasks):
            cmds.append(D("bt-id-%d" % i, "py-async-bt %s" % t["id"]))
        for i, t in enumerate(tasks[:3]):
            for n in ("2", "-2", "0"):
                cmds.append(D("bt-lim%s-%d" % (n, i), "py-async-bt %s --limit %s" % (t["id"], n)))
        cmds += [
            D("version", "py-async-graph --version"),
            D("help", "help py-async-graph"),
            D("help-bt", "help py-async-bt"),
            D("help-tasks", "help py-async-tasks"),
            D("stats", "py-async-graph --format tasks --stats"),
            # the same through lldb's own reads (what macOS and remote targets use)
            D("env-off", "script import os; os.environ['PAG_LLDB_NO_DIRECT'] = '1'"),
            D("stats-sb", "py-async-graph --format tasks --stats"),
            D("env-on", "script import os; del os.environ['PAG_LLDB_NO_DIRECT']"),
            P("unknown-task", "py-async-bt 0x10"),
            P("unknown-name", "py-async-graph --task no-such-task-name"),
            P("bad-option", "py-async-graph --format nonsense"),
            P("no-value", "py-async-graph --limit"),
            P("target-option", "py-async-graph --core /nonexistent"),
            D("threads", "thread list"),
            D("good", "py-async-tasks"),
        ]
        rc, cli_version, _ = lldbtest.run_cli(["--version"])
        rc, cli_tasks, _ = lldbtest.run_cli(["--format", "tasks", pid])
        errs = {}
        for label, args in (("unknown-task", ["--format", "graph", "--task", "0x10"]),
                            ("unknown-name", ["--task", "no-such-task-name"]),
                            ("bad-option", ["--format", "nonsense"])):
            errs[label] = lldbtest.run_cli(args + [pid])
        (sec, text), secs = lldbtest.timed(lldbtest.run_lldb, ["-p", pid], cmds)
        print("lldb ran %d commands in %.2fs" % (len(cmds), secs))

        more = set()  # tasks in the documented "ours shows more" case
        for i, t in enumerate(tasks):
            g = sec.get("bt-id-%d" % i)
            if g is None:
                chk.true("lldb printed py-async-bt %s" % t["id"], False, text[-3000:])
                continue
            if not t.get("graph"):
                continue
            if g.rstrip("\n") != t["graph"].rstrip("\n") and pagtest.shows_more(g, t["graph"]):
                more.add(i)
                chk.true("py-async-bt %s holds every line of the fixture's format_call_graph, "
                         "plus the async generator's frames" % t.get("name"), True)
                continue
            chk.eq("py-async-bt %s == the fixture's format_call_graph" % t.get("name"),
                   t["graph"].rstrip("\n"), g.rstrip("\n"))
        for i, t in enumerate(tasks[:3]):
            for n in ("2", "-2", "0"):
                want = (t.get("graph_limit") or {}).get(n)
                if want is None:
                    continue
                got = (sec.get("bt-lim%s-%d" % (n, i)) or "").rstrip("\n")
                if i in more:  # the stack differs as documented; the awaiters must not
                    chk.eq("py-async-bt %s --limit %s: awaiters == format_call_graph(limit=%s)"
                           % (t.get("name"), n, n), pagtest.awaiters_part(want.rstrip("\n")),
                           pagtest.awaiters_part(got))
                    continue
                chk.eq("py-async-bt %s --limit %s == format_call_graph(limit=%s)"
                       % (t.get("name"), n, n), want.rstrip("\n"), got)

        chk.eq("--version == CLI", cli_version, sec.get("version"))
        h = sec.get("help") or ""
        for opt in ("--format", "--task", "--thread", "--running", "--limit", "--depth", "--stats",
                    "--output", "tree", "table", "graph", "json", "dot", "tasks"):
            chk.true("help py-async-graph mentions %s" % opt, opt in h, "\n" + h)
        chk.true("help py-async-graph hides the CLI's target options",
                 "--no-stop" not in h and "--sysroot" not in h, "\n" + h)
        chk.true("help py-async-bt explains the default", "running" in (sec.get("help-bt") or ""),
                 sec.get("help-bt"))
        chk.true("help py-async-tasks names its equivalent",
                 "--format tasks" in (sec.get("help-tasks") or ""), sec.get("help-tasks"))

        # Live, local, as root: reads go to the process directly once one
        # read agreed with lldb's; with PAG_LLDB_NO_DIRECT every read is
        # lldb's.  Both print what the CLI prints.
        stat_re = re.compile(r"lldb: (\d+) ReadMemory calls, (\d+) bytes, (\d+) failed; "
                             r"(\d+) direct reads, (\d+) bytes")
        for label, want_direct in (("stats", True), ("stats-sb", False)):
            st = sec.get(label) or ""
            m_core = re.search(r"stats: read_calls=(\d+) bytes_read=(\d+) cache_hits=(\d+)", st)
            m_lldb = stat_re.search(st)
            chk.true("%s: --stats prints the core's counters" % label, bool(m_core), "\n" + st)
            chk.true("%s: --stats prints lldb's read counters" % label, bool(m_lldb), "\n" + st)
            if m_core and m_lldb:
                calls, nbytes, _, dcalls, dbytes = (int(g) for g in m_lldb.groups())
                if want_direct:
                    chk.true("%s: direct reads used" % label, dcalls > 0 and calls <= 2,
                             m_lldb.group(0))
                else:
                    chk.true("%s: only lldb's reads" % label, dcalls == 0 and calls > 0,
                             m_lldb.group(0))
                n, b = (dcalls, dbytes) if want_direct else (calls, nbytes)
                # The core's page cache turns many small reads into few page reads.
                chk.true("%s: reads arrive page-sized (avg >= 1 KiB)" % label, b >= 1024 * n,
                         "%d bytes in %d calls" % (b, n))
            rest = "".join(l for l in st.splitlines(True) if not lldbtest.is_stats_line(l))
            chk.eq("%s: --stats leaves the output unchanged" % label, cli_tasks, rest)

        for label, word in (("unknown-task", "0x10"), ("unknown-name", "no-such-task-name"),
                            ("bad-option", "nonsense"), ("no-value", "--limit"),
                            ("target-option", "--core")):
            p = sec.get(label)
            line = lldbtest.error_line(p)
            chk.true("%s: exactly one error line and a failed status" % label,
                     line is not None and p.get("failed"), p)
            if line is None:
                continue
            chk.true("%s: the line is ours and names %r" % (label, word),
                     line.startswith("py-async-graph: ") and word in line, line)
            if label in errs:
                rc, _, e = errs[label]
                chk.true("%s: the CLI fails too (rc=%d)" % (label, rc), rc != 0, e)
                if e.strip():
                    chk.eq("%s: same line as the CLI" % label, e.strip().splitlines()[-1], line)
        thr = sec.get("threads") or ""
        chk.true("lldb answers 'thread list' after the errors", "thread #1" in thr, thr)
        chk.eq("a good command after the errors == CLI", cli_tasks, sec.get("good"))
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
