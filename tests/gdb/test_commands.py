#!/usr/bin/env python3
# The gdb commands beyond the plain format dump, on the basic fixture (live):
#   py-async-bt TASK (by id and by name) == the fixture's own
#     asyncio.format_call_graph(task) and == CLI --format graph --task TASK;
#   selection and stack options (--task, --limit) == CLI;
#   -o FILE writes what the CLI prints; --version == CLI; help text;
#   --stats reports the core's counters and the gdb read counter;
#   an unknown task / a bad option: exactly one error line, gdb keeps going.
#
# usage: test_commands.py --version 3.14

import argparse
import collections
import os
import re
import tempfile

import gdbtest
from gdbtest import pagtest
from gdbtest import is_stats_line as _is_stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--fixture", default="basic")
    a = ap.parse_args()
    chk = gdbtest.Checker("gdb commands %s %s" % (a.fixture, a.version))

    with pagtest.Fixture(a.fixture, a.version) as fx, tempfile.TemporaryDirectory() as tmp:
        pid = str(fx.pid)
        tasks = [t for t in fx.oracle.get("tasks", []) if t.get("id")]
        if not tasks:
            gdbtest.fail("the oracle lists no tasks")
        names = collections.Counter(t.get("name") for t in tasks)
        unique = [t for t in tasks if t.get("name") and names[t["name"]] == 1]
        by_name = unique[0] if unique else None
        outfile = os.path.join(tmp, "tree.txt")

        cmds = []
        expect_cli = {}
        for i, t in enumerate(tasks):
            cmds.append(("bt-id-%d" % i, "py-async-bt %s" % t["id"]))
            expect_cli["bt-id-%d" % i] = ["--format", "graph", "--task", t["id"]]
        if by_name:
            cmds.append(("bt-name", "py-async-bt '%s'" % by_name["name"].replace("'", "\\'")))
            expect_cli["bt-name"] = ["--format", "graph", "--task", by_name["name"]]
            cmds.append(("tree-task", "py-async-graph --format tree --task '%s'" %
                         by_name["name"].replace("'", "\\'")))
            expect_cli["tree-task"] = ["--format", "tree", "--task", by_name["name"]]
        for i, t in enumerate(tasks[:3]):
            for n in ("2", "-2", "0"):
                cmds.append(("bt-lim%s-%d" % (n, i), "py-async-bt %s --limit %s" % (t["id"], n)))
        for n in ("2", "-2", "0"):
            cmds.append(("limit%s" % n, "py-async-graph --format graph --limit %s" % n))
            expect_cli["limit%s" % n] = ["--format", "graph", "--limit", n]
        cmds.append(("tasks", "py-async-tasks"))
        expect_cli["tasks"] = ["--format", "tasks"]
        cmds.append(("table-short", "py-async-graph -f table"))
        expect_cli["table-short"] = ["-f", "table"]
        cmds += [
            ("outfile", "py-async-graph --format tree -o %s" % outfile),
            ("version", "py-async-graph --version"),
            ("help", "help py-async-graph"),
            ("help-bt", "help py-async-bt"),
            ("stats", "py-async-graph --format tasks --stats"),
            ("unknown-task", "py-async-bt 0x10"),
            ("after-unknown", "echo alive\\n"),
            ("bad-option", "py-async-graph --format nonsense"),
            ("after-bad", "info inferiors"),
        ]
        cli = {}
        for label, args in expect_cli.items():
            rc, o, e = gdbtest.run_cli(args + [pid])
            if rc != 0:
                gdbtest.fail("CLI %s exited %d: %s" % (args, rc, e.strip()))
            cli[label] = o
        rc, cli_tree, _ = gdbtest.run_cli(["--format", "tree", pid])
        rc, cli_version, _ = gdbtest.run_cli(["--version"])
        rc_unk, _, cli_unknown = gdbtest.run_cli(["--format", "graph", "--task", "0x10", pid])
        (sec, text), secs = gdbtest.timed(gdbtest.run_gdb, ["-p", pid], cmds)
        print("gdb ran %d commands in %.2fs" % (len(cmds), secs))

        for label in expect_cli:
            chk.eq("%s == CLI %s" % (label, " ".join(expect_cli[label])), cli[label], sec.get(label))
        more = set()  # tasks in the documented "ours shows more" case
        for i, t in enumerate(tasks):
            g = sec.get("bt-id-%d" % i) or ""
            if t.get("graph"):
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
                chk.eq("py-async-bt %s --limit %s == format_call_graph(limit=%s)" % (t.get("name"), n, n),
                       want.rstrip("\n"), got)
        if by_name and by_name.get("graph"):
            chk.eq("py-async-bt NAME == format_call_graph", by_name["graph"].rstrip("\n"),
                   (sec.get("bt-name") or "").rstrip("\n"))

        chk.eq("-o FILE leaves gdb's output empty", "", sec.get("outfile"))
        try:
            with open(outfile, encoding="utf-8") as f:
                chk.eq("-o FILE content == CLI tree", cli_tree, f.read())
        except OSError as e:
            chk.true("-o FILE written", False, str(e))
        chk.eq("--version == CLI", cli_version, sec.get("version"))
        h = sec.get("help") or ""
        for opt in ("--format", "--task", "--thread", "--running", "--limit", "--depth", "--stats",
                    "tree", "table", "graph", "json", "dot", "tasks"):
            chk.true("help py-async-graph mentions %s" % opt, opt in h, "\n" + h)
        chk.true("help py-async-bt explains the default", "running" in (sec.get("help-bt") or ""))

        st = sec.get("stats") or ""
        m_core = re.search(r"stats: read_calls=(\d+) bytes_read=(\d+) cache_hits=(\d+)", st)
        m_gdb = re.search(r"gdb: (\d+) read_memory calls, (\d+) bytes", st)
        chk.true("--stats prints the core's counters", bool(m_core), "\n" + st)
        chk.true("--stats prints the gdb read counter", bool(m_gdb), "\n" + st)
        if m_core and m_gdb:
            calls, nbytes = int(m_gdb.group(1)), int(m_gdb.group(2))
            print("stats: core read_calls=%s bytes=%s hits=%s; gdb read_memory calls=%d bytes=%d" %
                  (m_core.group(1), m_core.group(2), m_core.group(3), calls, nbytes))
            chk.true("gdb read_memory calls > 0", calls > 0)
            # The core's page cache turns the many small reads into few page reads.
            chk.true("reads arrive page-sized (avg >= 1 KiB)", nbytes >= 1024 * calls,
                     "%d bytes in %d calls" % (nbytes, calls))
        rest = "".join(l for l in st.splitlines(True)
                       if not _is_stats(l))
        chk.eq("--stats leaves the output unchanged", cli["tasks"], rest)

        lines, one = gdbtest.one_error_line(sec.get("unknown-task", "x\ny"))
        chk.true("unknown task: exactly one error line", one, "\n" + "\n".join(lines))
        if one:
            chk.true("unknown task: the core's line", lines[0].startswith("py-async-graph: ") and
                     "0x10" in lines[0], lines[0])
            if rc_unk != 0 and cli_unknown.strip():
                chk.eq("unknown task: same line as the CLI", cli_unknown.strip().splitlines()[-1],
                       lines[0])
        chk.eq("gdb answers after the error", "alive\n", sec.get("after-unknown"))
        lines, one = gdbtest.one_error_line(sec.get("bad-option", "x\ny"))
        chk.true("bad option: exactly one error line", one and "nonsense" in lines[0],
                 "\n" + "\n".join(lines))
        chk.true("gdb answers after the bad option", "process %s" % pid in (sec.get("after-bad") or ""),
                 sec.get("after-bad"))
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
