"""Grouping on real targets (issue 16): tree --group, summary, collapsed.

Why: the grouped views are only worth something if no task is lost or
invented in them.  On a real fixture process (and on its gcore core with
--core), the oracle is the same target's own --format json snapshot (which
tests/fixtures checks against the fixture's format_call_graph() and
CPython's ps/pstree) and its plain tree (CPython's pstree, byte for byte):
  * tree --group: every line of the plain tree, task names left out, is in
    the grouped tree as many times as the counts above it multiply to (so
    the counts add up to the plain tree's task lines, which for a forest is
    the JSON's task total); running tasks and cycle members are drawn
    unfolded under their own names; plain tree without --group unchanged
    by --group's presence in the build (compat checks the bytes);
  * summary --top 0: the rows equal the JSON's tasks grouped by the
    documented key (innermost frame, then each first awaiter's innermost
    frame, to a task that awaits nobody or "[cycle]"), with the totals of
    the header; cycle and running rows first, the rest by count;
  * collapsed: parsed back into (stack, count) pairs, it equals the JSON's
    paths (first-awaiter chains, outermost frame first).
With --big N (fixtures/big_service.py at N tasks): the grouped tree is under
100 lines and names every suspension point of the summary with its count.
With --debuggers: gdb and lldb on the core print the CLI's bytes for
--group, summary and collapsed.
Usage: check_group.py FIXTURE VERSION [--core] [--big N] [--debuggers] [-- ARGS]
pag-test-formats: tree summary collapsed
"""

import argparse
import collections
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import pagtest as pt  # noqa: E402

ARROW = " \u2190 "
CONN = "\u2500\u2500 "
TIMES = " \u00d7"

FAILS = []


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)
        if detail:
            print(detail[-6000:], flush=True)


def label(f):
    if f.get("line") is None:
        return "%s %s" % (f["function"], f["file"])
    return "%s %s:%s" % (f["function"], f["file"], f["line"])


def innermost(t):
    return label(t["stack"][0]) if t.get("stack") else "(no frame)"


def chain(t, by_id):
    """First-awaiter chain: [task, awaiter, ...] up to a task that awaits
    nobody, or up to the first task on a cycle of first awaiters (True)."""
    out, pos = [], {}
    while t is not None:
        if t["id"] in pos:
            return out[:pos[t["id"]] + 1], True
        pos[t["id"]] = len(out)
        out.append(t)
        aw = t.get("awaited_by") or []
        t = by_id.get(aw[0]) if aw else None
    return out, False


# ---- tree --group ----
def tree_keys(text):
    """{(depth, label without names): weight}, and the weighted task lines."""
    keys = collections.Counter()
    mult = {}
    tasks = 0
    for line in text.split("\n"):
        i = line.find(CONN)
        if i < 1:
            continue
        depth = (i - 1) // 4
        lab = line[i + len(CONN):]
        task = lab.startswith("(T) ") or lab.startswith("(F) ")
        m = 1
        j = lab.find(TIMES)
        if task and j >= 0:
            m = int(lab[j + len(TIMES):].replace(",", ""))
            lab = lab[:j]
        w = m
        for d in range(depth):
            w *= mult.get(d, 1)
        mult[depth] = m if task else 1
        if task:
            tasks += w
            lab = "(T) [cycle]" if lab.endswith(" [cycle]") else "(T)"
        keys[(depth, lab)] += w
    return keys, tasks


def check_group(plain, grouped, js):
    kp, tp = tree_keys(plain)
    kg, tg = tree_keys(grouped)
    check(tp == tg and kp == kg, "tree --group: weighted lines equal the plain tree's (%d tasks, "
          "%d -> %d lines)" % (tp, plain.count("\n"), grouped.count("\n")),
          "diff: %r" % ((kp - kg) + (kg - kp)))
    multi = any(len(t.get("awaited_by") or []) > 1 for t in js["tasks"])
    if not multi and not js["cycles"]:
        check(tg == len(js["tasks"]), "tree --group: counts add up to the JSON's %d tasks (%d)"
              % (len(js["tasks"]), tg))
    by_id = {t["id"]: t for t in js["tasks"]}
    keep = {t["id"] for t in js["tasks"] if t.get("running")}
    for cy in js["cycles"]:
        keep.update(cy)
    for tid in sorted(keep):
        t = by_id[tid]
        if t.get("name") is None:
            continue
        check(re.search(r"\(T\) %s( \[cycle\])?\n" % re.escape(t["name"]), grouped) is not None,
              "tree --group: %s task %r drawn unfolded" %
              ("running" if t.get("running") else "cycle", t["name"]))


# ---- summary ----
def summary_expect(js):
    by_id = {t["id"]: t for t in js["tasks"]}
    on_cycle = {i for cy in js["cycles"] for i in cy}
    rows = collections.Counter()
    first = set()
    for t in js["tasks"]:
        ch, cyc = chain(t, by_id)
        parts = [innermost(x) for x in ch]
        if len(parts) - 1 > 8:
            parts = parts[:9] + ["\u2026 (+%d)" % (len(parts) - 9)]
        elif cyc:
            parts.append("[cycle]")
        key = ARROW.join(parts)
        rows[key] += 1
        if t.get("running") or t["id"] in on_cycle or cyc:
            first.add(key)
    return rows, first


def check_summary(text, js):
    lines = text.split("\n")
    head = lines[0]
    tasks = sum(1 for t in js["tasks"] if t["kind"] == "task")
    futures = len(js["tasks"]) - tasks
    threads = sum(1 for th in js["threads"] if th.get("tstate"))
    loops = len({th["running_loop"] for th in js["threads"] if th.get("running_loop")})
    running = sum(1 for t in js["tasks"] if t.get("running"))
    want = "summary: %s task%s, " % (format(tasks, ","), "" if tasks == 1 else "s")
    if futures:
        want += "%s future%s, " % (format(futures, ","), "" if futures == 1 else "s")
    want += "%d thread%s, %d loop%s, %d cycle%s, %d running" % (
        threads, "" if threads == 1 else "s", loops, "" if loops == 1 else "s",
        len(js["cycles"]), "" if len(js["cycles"]) == 1 else "s", running)
    check(head == want, "summary: header %r" % want, "got %r" % head)
    n_cyc = sum(1 for ln in lines if ln.startswith("cycle: "))
    n_run = sum(1 for ln in lines if ln.startswith("running: "))
    check(n_cyc == len(js["cycles"]) and n_run == running,
          "summary: one line per cycle (%d) and per running task (%d)" % (n_cyc, n_run))
    hi = next((i for i, ln in enumerate(lines) if "SUSPENDED AT" in ln), None)
    check(hi is not None and hi == 1 + n_cyc + n_run, "summary: the table follows them")
    got = []
    for ln in lines[(hi or 0) + 1:]:
        if not ln:
            continue
        m = re.match(r"^ *([0-9,]+)  (.*)$", ln)
        check(m is not None, "summary: row parses: %r" % ln[:120])
        if m:
            got.append((m.group(2), int(m.group(1).replace(",", ""))))
    rows, first = summary_expect(js)
    check(collections.Counter(dict(got)) == rows and len(got) == len(rows),
          "summary: %d rows equal the JSON grouped by the key (%d tasks)" %
          (len(rows), sum(rows.values())),
          "want %s\ngot %s" % (sorted(rows.items()), sorted(got)))
    flags = [k in first for k, _ in got]
    check(flags == sorted(flags, reverse=True), "summary: cycle and running rows come first")
    rest = [c for k, c in got if k not in first]
    check(rest == sorted(rest, reverse=True), "summary: the other rows by count, most first")


# ---- collapsed ----
def esc(s):
    return s.replace("%", "%25").replace(";", "%3B")


def collapsed_expect(js):
    by_id = {t["id"]: t for t in js["tasks"]}
    out = collections.Counter()
    for t in js["tasks"]:
        ch, cyc = chain(t, by_id)
        frames = ["[cycle]"] if cyc else []
        for x in reversed(ch):
            frames += [esc(label(f)) for f in reversed(x.get("stack") or [])]
        out[";".join(frames) if frames else "(no frame)"] += 1
    return out


def check_collapsed(text, js):
    got = collections.Counter()
    lines = [ln for ln in text.split("\n") if ln]
    for ln in lines:
        stack, _, n = ln.rpartition(" ")
        got[stack] += int(n)
    want = collapsed_expect(js)
    check(got == want and len(lines) == len(want),
          "collapsed: %d stacks, %d tasks, equal to the JSON's paths" %
          (len(want), sum(want.values())),
          "want-got %s\ngot-want %s" % (list((want - got).items())[:5],
                                         list((got - want).items())[:5]))


def cli(target, *args, timeout=300):
    rc, out, err = pt.run([pt.cli_path()] + list(target) + list(args), timeout=timeout)
    check(rc == 0, "%s: exit 0" % " ".join(args), err)
    return out


def check_big(grouped, summary):
    n = grouped.count("\n")
    check(n < 100, "big: grouped tree has %d lines (< 100)" % n)
    lines = summary.split("\n")
    hi = next(i for i, ln in enumerate(lines) if "SUSPENDED AT" in ln)
    for ln in lines[hi + 1:]:
        m = re.match(r"^ *([0-9,]+)  (.*?)( \u2190 |$)", ln)
        if not m:
            continue
        count, point = m.group(1), m.group(2)
        ok = " " + point + "\n" in grouped and (count == "1" or (TIMES + count + "\n") in grouped)
        check(ok, "big: grouped tree names %s with its count %s" % (point[-60:], count))


def without_source(path):
    """An html file's bytes without its "source" member (each frontend names
    its target its own way)."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None
    return re.sub(r'"source":.*?,"threads":', '"threads":', text, count=1)


def debuggers(core, exe, outs):
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gdb"))
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lldb"))
    import gdbtest  # noqa: E402
    cmds = [("group", "py-async-graph --group"), ("summary", "py-async-graph --format summary"),
            ("collapsed", "py-async-graph --format collapsed")]
    page = os.path.join(os.path.dirname(core), "gdb.html")
    sections, text = gdbtest.run_gdb([exe, core], cmds + [("html", "py-async-graph -f html -o " + page)])
    for label_, _ in cmds:
        check(sections.get(label_) == outs[label_], "gdb: %s as the CLI's" % label_,
              gdbtest.diff(outs[label_], sections.get(label_, text)))
    want = without_source(outs["html"])
    check(want is not None and without_source(page) == want,
          "gdb: -f html -o FILE writes the CLI's page (source aside)")
    import lldbtest  # noqa: E402
    if not os.path.exists(lldbtest.plugin_path()):
        check(False, "lldb: plugin built (%s)" % lldbtest.plugin_path())
        return
    lc = [("direct", lb, c) for lb, c in cmds]
    sections, text = lldbtest.run_lldb(["--core", core, exe], lc)
    for label_, _ in cmds:
        got = sections.get(label_)
        check(got == outs[label_], "lldb: %s as the CLI's" % label_,
              gdbtest.diff(outs[label_], got if got is not None else text))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture")
    ap.add_argument("version")
    ap.add_argument("--core", action="store_true")
    ap.add_argument("--big", type=int, default=0)
    ap.add_argument("--debuggers", action="store_true")
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    fargs = list(a.args) + (["--tasks", str(a.big)] if a.big else [])
    try:
        fx = pt.Fixture(a.fixture, a.version, args=fargs,
                        ready_timeout=60 + a.big / 5000.0 if a.big else None)
    except FileNotFoundError as e:
        pt.skip("interpreter not available: %s" % e)
    with fx:
        target = ["--core", fx.gcore()] if a.core or a.debuggers else [str(fx.pid)]
        js = json.loads(cli(target, "--format", "json"))
        plain = cli(target)
        t0 = time.monotonic()
        grouped = cli(target, "--group")
        summary = cli(target, "--format", "summary", "--top", "0")
        collapsed = cli(target, "--format", "collapsed")
        print("grouped views in %.2f s" % (time.monotonic() - t0))
        check_group(plain, grouped, js)
        check_summary(summary, js)
        check_collapsed(collapsed, js)
        if a.big:
            check_big(grouped, summary)
        if a.debuggers:
            html = os.path.join(fx.dir, "cli.html")
            cli(target, "--format", "html", "-o", html)
            outs = {"group": grouped, "summary": cli(target, "--format", "summary"),
                    "collapsed": collapsed, "html": html}
            debuggers(target[1], fx.exe, outs)
    print("FAILED: %d" % len(FAILS) if FAILS else "all passed")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
