#!/usr/bin/env python3
# lldb frontend vs the CLI: for one fixture under one CPython version, live
# (lldb -p PID) or on its gcore core (lldb EXE -c CORE), in ONE lldb session:
# every output format of "py-async-graph", "py-async-tasks", and the options
# --task (id and name), --thread, --limit, --depth and -o FILE must print
# byte-for-byte what the standalone CLI prints for the same target (JSON:
# equal once "source"/"stats" are removed; "source" is then checked on its
# own).  The graph format is also checked against the fixture's own
# asyncio.format_call_graph oracle.  Afterwards lldb must still answer
# `thread list`.
#
# usage: test_formats.py --fixture NAME --version 3.14 --mode live|core

import argparse
import collections
import json
import os
import tempfile

import lldbtest
from lldbtest import pagtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--mode", choices=["live", "core"], required=True)
    ap.add_argument("--shared", action="store_true", help="libpython3.X.so interpreter")
    a = ap.parse_args()
    flavour = "shared" if a.shared else False
    chk = lldbtest.Checker("lldb %s %s %s%s" % (a.mode, a.fixture, a.version,
                                                pagtest.flavour_suffix(flavour)))

    with pagtest.Fixture(a.fixture, a.version, dbg=flavour) as fx, tempfile.TemporaryDirectory() as tmp:
        exe = lldbtest.exe_of(fx.pid)
        if a.mode == "live":
            target_cli = [str(fx.pid)]
            target_lldb = ["-p", str(fx.pid)]
        else:
            core = str(fx.gcore())
            target_cli = ["--core", core, "--exe", exe]
            target_lldb = [exe, "-c", core]

        # What to ask, and the CLI arguments that must print the same.
        expect = collections.OrderedDict()
        for fmt in lldbtest.FORMATS:
            expect[fmt] = ("py-async-graph --format %s" % fmt, ["--format", fmt])
        expect["tasks-cmd"] = ("py-async-tasks", ["--format", "tasks"])
        tasks = [t for t in fx.oracle.get("tasks", []) if t.get("id")]
        names = collections.Counter(t.get("name") for t in tasks)
        unique = [t for t in tasks if t.get("name") and names[t["name"]] == 1
                  and "'" not in t["name"] and '"' not in t["name"]]
        if tasks:
            t = tasks[-1]
            expect["task-id"] = ("py-async-graph --format graph --task %s" % t["id"],
                                 ["--format", "graph", "--task", t["id"]])
            expect["bt-id"] = ("py-async-bt %s" % t["id"], ["--format", "graph", "--task", t["id"]])
        if unique:
            n = unique[0]["name"]
            expect["task-name"] = ("py-async-graph --format tree --task '%s'" % n,
                                   ["--format", "tree", "--task", n])
            expect["bt-name"] = ("py-async-bt '%s'" % n, ["--format", "graph", "--task", n])
        for n in ("2", "-1", "0"):
            expect["limit%s" % n] = ("py-async-graph --format graph --limit %s" % n,
                                     ["--format", "graph", "--limit", n])
        expect["depth1"] = ("py-async-graph --format graph --depth 1",
                            ["--format", "graph", "--depth", "1"])
        rc, cli_json, err = lldbtest.run_cli(["--format", "json"] + target_cli)
        if rc != 0:
            lldbtest.fail("CLI json on %s exited %d: %s" % (target_cli, rc, err.strip()))
        doc = json.loads(cli_json)
        tids = sorted({th["native_id"] for th in doc.get("threads", []) if th.get("native_id")})
        for tid in tids[:2]:
            expect["thread-%d" % tid] = ("py-async-graph --format table --thread %d" % tid,
                                         ["--format", "table", "--thread", str(tid)])
        outfiles = {"tree": os.path.join(tmp, "out.txt"), "json": os.path.join(tmp, "out.json")}

        def cli_all():
            out = {}
            for label, (_, args) in expect.items():
                rc, o, e = lldbtest.run_cli(args + target_cli)
                if rc != 0:
                    lldbtest.fail("CLI %s on %s exited %d: %s" % (args, target_cli, rc, e.strip()))
                out[label] = o
            return out

        before = cli_all()
        cmds = [lldbtest.direct(label, cmd) for label, (cmd, _) in expect.items()]
        cmds += [lldbtest.direct("out-" + f, "py-async-graph --format %s -o %s" % (f, p))
                 for f, p in outfiles.items()]
        cmds += [lldbtest.probe("status", "py-async-graph --format tasks"),
                 lldbtest.direct("threads", "thread list")]
        (sec, text), secs = lldbtest.timed(lldbtest.run_lldb, target_lldb, cmds)
        print("lldb ran %d commands in %.2fs" % (len(cmds), secs))
        after = cli_all() if a.mode == "live" else before
        if any(lldbtest.strip_json(after[k]) != lldbtest.strip_json(before[k]) if k == "json"
               else after[k] != before[k] for k in before):
            lldbtest.fail("the fixture changed while tested (CLI output before/after differ)")

        for label, (cmd, args) in expect.items():
            got = sec.get(label)
            if got is None:
                chk.true("lldb printed '%s'" % cmd, False, "\n" + text[-3000:])
                continue
            if label != "json":
                chk.eq("'%s' == CLI %s" % (cmd, " ".join(args)), before[label], got)
                continue
            try:
                raw = json.loads(got)
            except ValueError as e:
                chk.true("lldb json parses", False, "%s\n%s" % (e, got[:2000]))
                continue
            chk.eq("json (without source/stats) == CLI", lldbtest.strip_json(before[label]),
                   lldbtest.strip_json(got))
            src = raw.get("source") or {}
            cli_src = json.loads(before[label]).get("source") or {}
            chk.eq("json source.kind", a.mode, src.get("kind"))
            chk.eq("json source.pid", fx.pid, src.get("pid"))
            chk.eq("json source.executable == CLI's",
                   os.path.realpath(cli_src.get("executable") or ""),
                   os.path.realpath(src.get("executable") or "-"))
            if a.mode == "core":
                # lldb 16's SB API does not tell which core file is loaded.
                chk.eq("json source.core is null (unknown to lldb)", None, src.get("core"))

        for f, p in outfiles.items():
            chk.eq("-o FILE (%s) leaves lldb's output empty" % f, "", sec.get("out-" + f))
            try:
                with open(p, encoding="utf-8") as fh:
                    content = fh.read()
            except OSError as e:
                chk.true("-o FILE (%s) written" % f, False, str(e))
                continue
            if f == "json":
                chk.eq("-o FILE json == CLI (without source/stats)",
                       lldbtest.strip_json(before["json"]), lldbtest.strip_json(content))
            else:
                chk.eq("-o FILE tree == CLI tree", before["tree"], content)

        st = sec.get("status") or {}
        chk.true("the command reports success (SBCommandReturnObject status)",
                 st.get("ok") is True and st.get("err") == "", st)
        chk.eq("its output through HandleCommand == CLI", before["tasks"], st.get("out"))
        thr = sec.get("threads") or ""
        chk.true("lldb answers 'thread list' afterwards", "thread #1" in thr, thr)

        # The fixture's own asyncio.format_call_graph() text for every listed task.
        graph = sec.get("graph", "")
        for t in fx.oracle.get("tasks", []):
            g = t.get("graph")
            if not g or t.get("running") or t.get("error"):
                continue
            if g.rstrip("\n") in graph:
                chk.true("graph holds the oracle's format_call_graph of %s" % t.get("name"), True)
                continue
            # Documented "shows more" case: format_call_graph stops at an
            # async_generator_asend; ours goes on into the generator's frames.
            block = pagtest.graph_block(graph, g.split("\n", 1)[0])
            chk.true("graph of %s holds every oracle line, plus the async generator frame"
                     % t.get("name"), pagtest.shows_more(block, g),
                     "\n--- oracle:\n%s--- ours:\n%s" % (g, block))
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
