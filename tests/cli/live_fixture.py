"""Live checks of py-async-graph against one fixture process.

usage: live_fixture.py FIXTURE VERSION [--dbg | --shared | --flavour NAME] [--tasks N]

For every task in the fixture's oracle, `--format graph --task ID PID`
(plain and with --limit 2/-2/0) must equal the fixture's own
asyncio.format_call_graph() text.  Per fixture, further real oracles:
  basic    --format tree / table byte-identical to python -m asyncio pstree / ps
  unicode  task names exactly as the fixture made them (CPython 3.14's ps garbles them)
  threads  every oracle task (other threads, orphans) appears in our JSON
  blocked  the running task's graph shows the synchronous caller of time.sleep
  deadlock the tree prints and names the await cycle
  many     every task is listed (JSON task count)
"""
import argparse
import json
import subprocess

from clitest import Checker, json_without_source, lines_contained, pagtest, run, same_text

# Documented cases where our graph legitimately shows more than the oracle:
# the running task's graph is taken from the thread's real frames (sync
# frames included), which format_call_graph called from *another* task
# cannot see.  The test then asserts ours contains every oracle line.
KNOWN_MORE = {"running": "running task: ours adds the thread's synchronous frames",
              "agen": "async generator: format_call_graph stops at the async_generator_asend; "
                      "ours goes on into the generator's frame and what it awaits"}


def limit_slice(full, limit):
    """Apply graph.py's --limit rule to our own unlimited single-level text:
    N > 0 keeps the N outermost call-stack lines, N < 0 the |N| innermost,
    0 drops the call stack."""
    lines = full.rstrip("\n").split("\n")
    head, rest = lines[0], lines[1:]
    stack = []
    if rest and rest[0] == "  + Call stack:":
        rest = rest[1:]
        while rest and rest[0].startswith("  |   "):
            stack.append(rest.pop(0))
    n = int(limit)
    kept = stack[-n:] if n > 0 else stack[:-n] if n < 0 else []
    out = [head] + (["  + Call stack:"] + kept if kept else []) + rest
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture")
    ap.add_argument("version")
    ap.add_argument("--dbg", action="store_true")
    ap.add_argument("--shared", action="store_true", help="libpython3.X.so interpreter")
    ap.add_argument("--flavour", help="another interpreter of the cache's bin/: python3.X-FLAVOUR"
                    " (nopie: Debian's non-PIE build; jit: PYTHON_JIT=1)")
    ap.add_argument("--tasks", type=int, default=0)
    a = ap.parse_args()
    args = ("--tasks", str(a.tasks)) if a.tasks else ()
    if a.shared:
        a.dbg = "shared"
    if a.flavour:
        a.dbg = a.flavour
    tag = "%s/%s%s" % (a.fixture, a.version, pagtest.flavour_suffix(a.dbg))
    c = Checker("live " + tag)
    with pagtest.Fixture(a.fixture, a.version, dbg=a.dbg, args=args) as fx:
        pid = fx.pid
        oracle = fx.oracle
        rc, out, err = run(["--format", "json", pid], timeout=600)
        c.check(rc == 0, "json exit code 0 (got %s)" % rc, err)
        ours = json.loads(out) if rc == 0 else {"tasks": [], "threads": []}
        byid = {t["id"]: t for t in ours["tasks"]}
        c.check(ours.get("source", {}).get("kind") == "live" and ours["source"].get("pid") == pid,
                "json source names the live pid", json.dumps(ours.get("source")))

        if a.fixture == "many":
            want = oracle.get("expect", {}).get("task_count") or a.tasks or len(oracle["tasks"])
            listed = [t for t in ours["tasks"] if t["kind"] == "task" and t["listed"]]
            c.check(len(listed) >= want, "many: %d tasks listed, want >= %d" % (len(listed), want))
            for t in oracle.get("tasks", [])[:50]:
                c.check(t["id"] in byid, "many: oracle task %s listed" % t["id"])
            c.finish()

        # Every oracle task is there (other threads and orphans included).
        for t in oracle["tasks"]:
            c.check(t["id"] in byid, "task %s (%r) appears in our JSON" % (t["id"], t["name"]))
            if t["id"] in byid and t.get("name") is not None:
                c.check(byid[t["id"]]["name"] == t["name"],
                        "task %s name %r == oracle %r" % (t["id"], byid[t["id"]]["name"], t["name"]))

        # format_call_graph, per task, with limits.
        expect = oracle.get("expect") or {}
        if a.flavour == "jit" and a.fixture == "blocked":
            # The point of the JIT configuration: the blocked frame runs JIT code.
            c.check(expect.get("jit_active") is True,
                    "under PYTHON_JIT=1 the blocked frame runs JIT code (sys._jit.is_active())",
                    repr(expect.get("jit_active")))
        for t in oracle["tasks"]:
            if t.get("error"):
                # Documented case: CPython's format_call_graph fails on this task
                # (RecursionError in an await cycle); ours must still draw it and
                # mark the cycle.
                rc, out, err = run(["--format", "graph", "--task", t["id"], pid])
                c.note("graph --task %s: oracle has no text (%s); ours must show the task and the cycle"
                       % (t["id"], t["error"]))
                c.check(rc == 0 and ("id=%s)" % t["id"]) in out and "cycle" in out,
                        "graph --task %s (oracle error %s) shows the task and the cycle" % (t["id"], t["error"]),
                        out + err)
                continue
            if t.get("name") and t["name"] == expect.get("blocked_task"):
                # Documented case: the blocked task recorded its own graph before it
                # blocked; where it is now is checked against "expect" below.
                c.note("graph --task %s: blocked task, checked against the fixture's expect facts" % t["id"])
                continue
            variants = [([], t["graph"])]
            for lim, text in sorted(t.get("graph_limit", {}).items()):
                if text is not None:
                    variants.append((["--limit", lim], text))
            running = byid.get(t["id"], {}).get("running", False)
            agen = any(f["kind"] == "async_gen" for f in byid.get(t["id"], {}).get("stack", []))
            if agen:
                rc, full, err = run(["--format", "graph", "--task", t["id"], pid])
                c.note("graph --task %s: %s" % (t["id"], KNOWN_MORE["agen"]))
                c.check(rc == 0 and lines_contained(full, t["graph"]) and
                        "in async generator " in full,
                        "graph --task %s contains every oracle line and the async generator frame"
                        % t["id"], "--- ours ---\n%s--- oracle ---\n%s" % (full, t["graph"]))
                # With --limit: our own stack sliced by graph.py's rule, and the
                # "Awaited by" part exactly the oracle's for the same limit.
                sep = "\n  + Awaited by:"
                for lim in ("2", "-2", "0"):
                    want = t.get("graph_limit", {}).get(lim)
                    if want is None:
                        continue
                    rc, out, err = run(["--format", "graph", "--task", t["id"], "--limit", lim, pid])
                    mine_head, _, mine_tail = out.partition(sep)
                    _, _, want_tail = want.partition(sep)
                    c.check(rc == 0 and same_text(mine_head + "\n", limit_slice(full.partition(sep)[0], lim))
                            and mine_tail.rstrip("\n") == want_tail.rstrip("\n"),
                            "graph --task %s --limit %s: graph.py's slice of our stack, oracle's awaiters"
                            % (t["id"], lim), "--- ours ---\n%s--- oracle ---\n%s" % (out, want))
                continue
            for extra, want in variants:
                what = "graph --task %s %s" % (t["id"], " ".join(extra))
                rc, out, err = run(["--format", "graph", "--task", t["id"], *extra, pid])
                if rc == 0 and same_text(out, want):
                    c.check(True, what)
                elif rc == 0 and running and lines_contained(out, want):
                    c.note("%s: %s (ours contains every oracle line)" % (what, KNOWN_MORE["running"]))
                    c.check(True, what)
                else:
                    c.check(False, "%s (rc=%s) equals the fixture's format_call_graph" % (what, rc),
                            "--- ours ---\n%s--- oracle ---\n%s\n--- stderr ---\n%s" % (out, want, err))

        # Byte-identical to CPython's own tools wherever they are right: not
        # 3.14's other threads and non-ASCII names, not pstree on a cycle
        # (it refuses), not the main interpreter next to a subinterpreter.
        same = {"basic": ("tree", "table"), "deadlock": ("table",), "fanin": ("tree", "table")}
        if a.version != "3.14":
            same.update({f: ("tree", "table") for f in ("unicode", "threads", "blocked")})
        if a.fixture in same:
            py = pagtest.python_for(a.version, dbg=a.dbg)
            for fmt, sub in (("tree", "pstree"), ("table", "ps")):
                if fmt not in same[a.fixture]:
                    continue
                p = subprocess.run([py, "-m", "asyncio", sub, str(pid)], capture_output=True,
                                   timeout=120)
                rc, out, err = run(["--format", fmt, pid])
                c.check(p.returncode == 0, "python -m asyncio %s exit 0" % sub, p.stderr.decode())
                c.check(rc == 0 and out.encode() == p.stdout,
                        "--format %s byte-identical to python%s -m asyncio %s" % (fmt, a.version, sub),
                        "--- ours ---\n%s--- cpython ---\n%s" % (out, p.stdout.decode("utf-8", "replace")))

        if a.fixture == "unicode":
            rc, out, err = run(["--format", "table", pid])
            for t in oracle["tasks"]:
                if t.get("name"):
                    c.check(t["name"] in out, "table shows the name %r" % t["name"], out)

        if a.fixture == "threads":
            tids = {th["native_id"] for th in ours["threads"]}
            for t in oracle["tasks"]:
                mine = byid.get(t["id"], {})
                if t.get("orphan"):
                    c.check(mine.get("thread") == 0, "orphan %r is on the orphan list (thread 0)" % t["name"],
                            json.dumps(mine)[:500])
                else:
                    c.check(t.get("thread") in tids and mine.get("thread") == t.get("thread"),
                            "task %r is on its thread %s" % (t["name"], t.get("thread")), json.dumps(mine)[:500])
            c.check(any(th["native_id"] == 0 and th["tasks"] for th in ours["threads"]),
                    "the orphaned tasks' list (native_id 0) is present and not empty")
            rc, out, err = run(["--format", "tree", pid])
            c.check(rc == 0, "tree exit 0", err)
            for t in oracle["tasks"]:
                if t.get("name"):
                    c.check(t["name"] in out, "tree shows %r" % t["name"])

        if a.fixture == "blocked":
            running = [t for t in ours["tasks"] if t.get("running")]
            blk = [t for t in running if t["name"] == expect.get("blocked_task")]
            c.check(len(blk) == 1, "the blocked task %r is reported running" % expect.get("blocked_task"),
                    json.dumps(ours["threads"]))
            for t in blk:
                c.check(t["thread"] == expect.get("blocked_thread"),
                        "it runs on the blocked thread %s" % expect.get("blocked_thread"), json.dumps(t)[:800])
                rc, out, err = run(["--format", "graph", "--task", t["id"], pid])
                want_sync = "line %s, in %s()" % (expect.get("blocking_line"), expect.get("blocking_function"))
                want_caller = "line %s, in async %s()" % (expect.get("caller_line"), expect.get("caller"))
                c.check(rc == 0 and want_sync in out, "running task graph shows %r" % want_sync, out + err)
                c.check(want_caller in out, "running task graph shows %r" % want_caller, out)
                c.check(out.find(want_sync) < out.find(want_caller),
                        "the sync frame is inside (above) its async caller", out)

        if a.fixture == "fanin":
            # one awaited_by set with every waiter in it, each once
            sh = [t for t in ours["tasks"] if t["name"] == expect.get("shared")]
            c.check(len(sh) == 1, "the shared task is listed once")
            for t in sh:
                c.check(len(t["awaited_by"]) == expect["waiters"] == len(set(t["awaited_by"])),
                        "shared is awaited by its %s waiters, each once" % expect.get("waiters"),
                        len(t["awaited_by"]))
            c.check(len(ours["tasks"]) == oracle["task_count"],
                    "every task listed (%d == %d)" % (len(ours["tasks"]), oracle["task_count"]))

        if a.fixture == "subinterp":
            # Both interpreters' task lists are walked; CPython's own reader
            # sees only the newest interpreter (see check_fixture.py).
            interp_of = {}
            for th in ours["threads"]:
                for tid in th["tasks"]:
                    interp_of[tid] = th["interp_id"]
            sub = {t["id"] for t in oracle["tasks"] if t["name"].startswith("sub-")}
            main_ = {t["id"] for t in oracle["tasks"]} - sub
            si = {interp_of.get(i) for i in sub}
            mi = {interp_of.get(i) for i in main_}
            c.check(len(si) == 1 and len(mi) == 1 and si != mi and None not in si | mi,
                    "sub and main tasks are listed under two different interpreters",
                    "sub %s main %s" % (si, mi))
            rc, out, err = run(["--format", "tree", pid])
            c.check(rc == 0, "tree exit 0", err)
            for t in oracle["tasks"]:
                c.check("(T) %s\n" % t["name"] in out, "tree shows %r" % t["name"], out)

        if a.fixture == "deadlock":
            rc, out, err = run(["--format", "tree", pid])
            c.check(rc == 0, "tree exit 0 despite the cycle", err)
            tail = out.split("await cycle")[-1] if "await cycle" in out else ""
            c.check(bool(tail), "tree names the await cycle", out)
            for n in expect.get("cycle", []):
                c.check(n in tail, "the cycle line names %r" % n, out)
            c.check(len(ours["cycles"]) >= 1, "JSON lists a cycle")
    c.finish()


if __name__ == "__main__":
    main()
