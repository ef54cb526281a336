#!/usr/bin/env python3
"""Old build against new build, interleaved, on one process (issue 13).

Why: a refactor must not make the tool slower or bigger, and on a shared
2-core machine consecutive blocks of runs drift with the load; runs of the
two builds taken in turn (old, new, old, new, ...) against the same target
see the same drift, so their medians can be compared.

For each version and task count (default 10,000 and 1,000,000) it starts ONE
fixtures/many.py process (bench/run.py's target), makes one gcore core of it,
and then, per tool,

  cli-live   BUILD/py-async-graph --stats --format tree -o /dev/null PID
  cli-core   BUILD/py-async-graph --stats --format tree -o /dev/null --core CORE --exe EXE
  cli-live-json, cli-core-json   the same with --format json

runs one warm-up of each build and then --pairs interleaved pairs (default
15 at 10,000 and 5 at 1,000,000 tasks), every run under pag-bench-exec (the
wall time and peak RSS of the process itself, from wait4's rusage; see
bench/exec_rusage.c).  It reports, per build, the median wall time and peak
RSS with the interquartile range, the ratio new/old of the medians, the
median of the per-pair ratios, both builds' read counters (--stats), and a
verdict:

  noise = max(5 %, the larger relative interquartile spread (q3 - q1) / median
              of the two builds' runs)
  new/old <= 1 + noise  ->  "no slowdown beyond noise"
                            ("faster beyond noise" when new/old < 1 - noise)
  otherwise             ->  "SLOWDOWN beyond noise"

(the same rule for peak RSS).  The load average is recorded before and after
each size: other work on the machine is the noise.

usage: python3 bench/compare.py --old OLD_BUILD --new NEW_BUILD
           [--versions 3.14,3.15] [--sizes 10000,1000000] [--pairs 15,5]
           [--json bench/results.json] [--markdown bench/RESULTS.md]
       python3 bench/compare.py --baseline --new build     (OLD = the compat
           test's cached build of the pre-refactor commit, built if needed)

--json adds (or replaces) the key "old_vs_new" of that file and keeps every
other key; --markdown replaces the part of the file between the "written by
bench/compare.py" marks, or appends it as a new section.  Exit status 0: no
slowdown beyond noise; 3: a slowdown beyond noise; 1: a run failed.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "compat"))
import run as benchrun  # noqa: E402  (bench/run.py: measure(), machine())
from run import pagtest  # noqa: E402

NOTE_RE = re.compile(r"read_calls=(\d+) bytes_read=(\d+) cache_hits=(\d+) tasks=(\d+)")
TOOLS = ("cli-live", "cli-core", "cli-live-json", "cli-core-json")
MIN_PAIRS = {10000: 7, 1000000: 3}
BEGIN_MARK = "<!-- begin: written by bench/compare.py -->"
END_MARK = "<!-- end: written by bench/compare.py -->"


def argv_for(build, tool, pid, core, exe):
    target = [str(pid)] if tool.startswith("cli-live") else ["--core", core, "--exe", exe]
    fmt = "json" if tool.endswith("-json") else "tree"
    return [os.path.join(build, "py-async-graph"), "--stats", "--format", fmt,
            "-o", "/dev/null"] + target


def one_run(argv):
    rc, out, err, wall, rss = benchrun.measure(argv)
    m = NOTE_RE.search(err)
    # A tree past the output cap is partial in both builds; since issue 18
    # the newer one says so and exits 10.  The same work either way.
    capped = rc == 10 and "output truncated at its cap" in err
    # Builds before issue 18 print no --stats line with --format json.
    json_ok = rc == 0 and m is None and "--format" in argv and "json" in argv
    return {"ok": (rc == 0 or capped) and m is not None or json_ok, "rc": rc, "wall": wall,
            "rss": rss, "capped": capped,
            "read_calls": int(m.group(1)) if m else None,
            "bytes_read": int(m.group(2)) if m else None,
            "tasks": int(m.group(4)) if m else None,
            "note": "" if rc == 0 else err.strip()[-300:]}


def quartiles(v):
    if len(v) < 2:
        return v[0], v[0]
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], q[2]


def summarize(runs):
    v = [r["wall"] for r in runs]
    m = [r["rss"] for r in runs]
    q1, q3 = quartiles(v)
    r1, r3 = quartiles(m)
    med, mrss = statistics.median(v), statistics.median(m)
    return {"wall_median": med, "wall_q1": q1, "wall_q3": q3, "wall_min": min(v),
            "wall_max": max(v), "wall_rel_iqr": (q3 - q1) / med if med else 0.0,
            "rss_median_kib": mrss, "rss_q1_kib": r1, "rss_q3_kib": r3,
            "rss_rel_iqr": (r3 - r1) / mrss if mrss else 0.0,
            "wall_runs": v, "rss_runs_kib": m,
            "read_calls": runs[0]["read_calls"], "bytes_read": runs[0]["bytes_read"],
            "tasks": runs[0]["tasks"]}


def verdict(ratio, noise):
    if ratio > 1 + noise:
        return "SLOWDOWN beyond noise"
    if ratio < 1 - noise:
        return "no slowdown beyond noise (faster beyond noise)"
    return "no slowdown beyond noise"


def judge(old, new, pairs):
    d = {}
    for key, rel in (("wall", "wall_rel_iqr"), ("rss", "rss_rel_iqr")):
        med = "wall_median" if key == "wall" else "rss_median_kib"
        ratio = new[med] / old[med]
        noise = max(0.05, old[rel], new[rel])
        d[key] = {"ratio": ratio, "noise": noise, "verdict": verdict(ratio, noise)}
    d["wall"]["pair_ratio_median"] = statistics.median(
        n["wall"] / o["wall"] for o, n in pairs)
    return d


def run_size(args, builds, version, n, pairs):
    ready = max(120, n // 2000)
    t0 = time.monotonic()
    with pagtest.Fixture("many", version, args=("--tasks", str(n)), ready_timeout=ready) as fx:
        ready_s = time.monotonic() - t0
        want = fx.oracle["task_count"]
        exe = os.readlink("/proc/%d/exe" % fx.pid)
        t0 = time.monotonic()
        core = fx.gcore(timeout=1800)
        gcore_s = time.monotonic() - t0
        row = {"version": version, "tasks": want, "pid": fx.pid, "pairs": pairs,
               "fixture_ready_seconds": ready_s, "gcore_seconds": gcore_s,
               "core_bytes": os.path.getsize(core), "loadavg_before": os.getloadavg(),
               "results": {}}
        for tool in TOOLS:
            argv = {b: argv_for(builds[b], tool, fx.pid, core, exe) for b in ("old", "new")}
            print("compare: %s %d %s: warm-up, then %d pairs ..." % (version, want, tool, pairs),
                  file=sys.stderr, flush=True)
            warm = {b: one_run(argv[b]) for b in ("old", "new")}
            bad = [b for b in warm if not warm[b]["ok"]]
            if bad:
                row["results"][tool] = {"ok": False, "note": "%s build: %s" % (
                    bad[0], warm[bad[0]]["note"] or "exit %s" % warm[bad[0]]["rc"])}
                continue
            runs = {"old": [], "new": []}
            ps = []
            for _ in range(pairs):
                o = one_run(argv["old"])
                nw = one_run(argv["new"])
                runs["old"].append(o)
                runs["new"].append(nw)
                ps.append((o, nw))
            failed = [r for rs in runs.values() for r in rs if not r["ok"]]
            if failed:
                row["results"][tool] = {"ok": False, "note": failed[0]["note"] or
                                        "exit %s" % failed[0]["rc"]}
                continue
            so, sn = summarize(runs["old"]), summarize(runs["new"])
            res = {"ok": True, "old": so, "new": sn, "judgement": judge(so, sn, ps),
                   "argv": [re.sub(r"\b%d\b" % fx.pid, "PID", a).replace(core, "CORE")
                            .replace(exe, "EXE").replace(builds["new"] + "/", "NEW/")
                            .replace(builds["old"] + "/", "OLD/") for a in argv["new"]]}
            if any(r["capped"] for rs in runs.values() for r in rs):
                res["capped"] = True
            if (so["tasks"] or want) != want or (sn["tasks"] or want) != want:
                res["note"] = "task counts: old %s, new %s, fixture %d" % (
                    so["tasks"], sn["tasks"], want)
            row["results"][tool] = res
        row["loadavg_after"] = os.getloadavg()
    return row


def build_info(d):
    """Build type and the commit a build directory was built from."""
    info = {"dir": d}
    home = None
    try:
        with open(os.path.join(d, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    info["build_type"] = line.split("=", 1)[1].strip()
                elif line.startswith("CMAKE_HOME_DIRECTORY:"):
                    home = line.split("=", 1)[1].strip()
    except OSError:
        pass
    stamp = os.path.join(d, ".pag-baseline-complete")  # tests/compat/baseline.py
    if os.path.exists(stamp):
        with open(stamp) as f:
            info["commit_full"] = f.read().split()[0]
        info["commit"] = info["commit_full"][:7] + " (compat baseline, git archive)"
        return info
    if home:
        info["source"] = home
        p = subprocess.run(["git", "-C", home, "rev-parse", "HEAD"],
                           capture_output=True, text=True)
        if p.returncode == 0:
            info["commit_full"] = p.stdout.strip()
            info["commit"] = info["commit_full"][:7]
            dirty = subprocess.run(["git", "-C", home, "status", "--porcelain", "--", "common",
                                    "cli", "gdb", "lldb"], capture_output=True, text=True).stdout
            if dirty.strip():
                info["commit"] += " + uncommitted changes"
    return info


def code_diff(old, new):
    """Files of common/, cli/, gdb/, lldb/ that differ between the two
    builds' sources (committed and not), or None when it cannot be told."""
    home = new.get("source")
    if not home or not old.get("commit_full") or not new.get("commit_full"):
        return None
    dirs = ["common", "cli", "gdb", "lldb"]
    p = subprocess.run(["git", "-C", home, "diff", "--name-only", old["commit_full"], "--"] + dirs,
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return sorted(set(p.stdout.split()))


def fmt_ms(s):
    return "%.1f ms" % (s * 1e3) if s < 1 else "%.3f s" % s


def text_report(doc):
    L = []
    for row in doc["rows"]:
        for tool in TOOLS:
            r = row["results"].get(tool)
            if not r:
                continue
            head = "%s %9s %-8s" % (row["version"], "{:,}".format(row["tasks"]), tool)
            if not r.get("ok"):
                L.append("%s FAILED: %s" % (head, r.get("note")))
                continue
            o, n, j = r["old"], r["new"], r["judgement"]
            L.append("%s wall old %s new %s (IQR %.1f%% / %.1f%%) new/old %.3f "
                     "(pairs %.3f) noise %.1f%%: %s" % (
                         head, fmt_ms(o["wall_median"]), fmt_ms(n["wall_median"]),
                         100 * o["wall_rel_iqr"], 100 * n["wall_rel_iqr"], j["wall"]["ratio"],
                         j["wall"]["pair_ratio_median"], 100 * j["wall"]["noise"],
                         j["wall"]["verdict"]))
            L.append("%s RSS  old %.1f MiB new %.1f MiB new/old %.3f: %s; reads old %s new %s" % (
                " " * len(head), o["rss_median_kib"] / 1024, n["rss_median_kib"] / 1024,
                j["rss"]["ratio"], j["rss"]["verdict"], o["read_calls"], n["read_calls"]))
    L.append("verdict: %s" % doc["verdict"])
    if doc.get("code_diff") is not None:
        L.append("code that differs between the builds (common/ cli/ gdb/ lldb/): %s"
                 % (", ".join(doc["code_diff"]) or "none"))
    return "\n".join(L)


def markdown(doc):
    m = doc["machine"]
    L = [BEGIN_MARK, "## Old vs new build, interleaved (issue 13)", ""]
    L.append("Written by `bench/compare.py` (its docstring has the whole method); "
             "re-running it replaces only this section. It times the pre-refactor "
             "build against the build under test on ONE `fixtures/many.py` process "
             "per size, in interleaved runs (old, new, old, new, ...; one warm-up "
             "of each first), every run under `pag-bench-exec` (wall time and peak "
             "RSS of the process itself). Noise = max(5%, the larger relative "
             "interquartile spread of the two builds' runs); a ratio new/old of "
             "the medians above 1 + noise is a slowdown.")
    L.append("")
    L.append("How to run (the baseline is the compat test's cached build of the "
             "pre-refactor commit, built on first use; `--old DIR` takes any "
             "other build):")
    L.append("")
    L.append("```sh")
    L.append("python3 bench/compare.py --baseline --new build \\")
    L.append("    --json bench/results.json --markdown bench/RESULTS.md")
    L.append("python3 bench/compare.py --old OLD_BUILD --new NEW_BUILD "
             "--versions 3.14 --sizes 10000 --pairs 7   # a quick look")
    L.append("```")
    L.append("")
    L.append("Command: `%s`" % " ".join(doc["argv"]))
    L.append("")
    L.append("Old: %s, %s build. New: %s, %s build." % (
        doc["old"].get("commit", "?"), doc["old"].get("build_type", "?"),
        doc["new"].get("commit", "?"), doc["new"].get("build_type", "?")))
    L.append("")
    L.append("Machine: %s, %s cores, %s GiB RAM, Linux %s; CPython %s / %s; %s. "
             "**Load average** at start %s, at end %s (other agents were building and "
             "testing on the same 2 cores: expect noise)." % (
                 m.get("cpu"), m.get("cores"), m.get("mem_gib"), m.get("kernel"),
                 m.get("python3.14"), m.get("python3.15"), m.get("date"),
                 ", ".join("%.2f" % x for x in doc["loadavg_start"]),
                 ", ".join("%.2f" % x for x in doc["loadavg_end"])))
    L.append("")
    L.append("| py | tasks | tool | pairs | old wall median (IQR) | new wall median (IQR) "
             "| new/old | pair ratios median | noise | verdict | old peak RSS MiB "
             "| new peak RSS MiB | RSS new/old | RSS verdict | read calls old / new | load avg before -> after |")
    L.append("|---|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---|")
    for row in doc["rows"]:
        for tool in TOOLS:
            r = row["results"].get(tool)
            if not r:
                continue
            lead = "| %s | %s | %s | %d |" % (row["version"], "{:,}".format(row["tasks"]),
                                             tool, row["pairs"])
            if not r.get("ok"):
                L.append(lead + " failed: %s |" % r.get("note", "").replace("|", "\\|") +
                         " |" * 11)
                continue
            o, n, j = r["old"], r["new"], r["judgement"]
            L.append(lead + " %s (%s-%s) | %s (%s-%s) | %.3f | %.3f | %.1f%% | %s | %.1f | %.1f "
                     "| %.3f | %s | %s / %s | %s -> %s |" % (
                         fmt_ms(o["wall_median"]), fmt_ms(o["wall_q1"]), fmt_ms(o["wall_q3"]),
                         fmt_ms(n["wall_median"]), fmt_ms(n["wall_q1"]), fmt_ms(n["wall_q3"]),
                         j["wall"]["ratio"], j["wall"]["pair_ratio_median"],
                         100 * j["wall"]["noise"], j["wall"]["verdict"],
                         o["rss_median_kib"] / 1024, n["rss_median_kib"] / 1024,
                         j["rss"]["ratio"], j["rss"]["verdict"], o["read_calls"],
                         n["read_calls"], "%.2f" % row["loadavg_before"][0],
                         "%.2f" % row["loadavg_after"][0]))
    L.append("")
    L.append("**Verdict: %s.**" % doc["verdict"])
    noises = [r["judgement"]["wall"]["noise"] for row in doc["rows"]
              for r in row["results"].values() if r.get("ok")]
    if noises and max(noises) > 0.10:
        L.append("")
        L.append("The noise bound of this run reaches %.0f%% (the machine's load, above): "
                 "a slowdown smaller than that cannot be seen in it. A quieter machine "
                 "and more pairs (--pairs) give a tighter bound."
                 % (100 * max(noises)))
    cd = doc.get("code_diff")
    if cd is not None:
        L.append("")
        L.append("Source files of common/, cli/, gdb/ and lldb/ that differ between the "
                 "two builds: %s." % (", ".join("`%s`" % f for f in cd) if cd else "none"))
    L.append("")
    L.append(END_MARK)
    return "\n".join(L) + "\n"


def write_markdown(path, text):
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        old = ""
    if BEGIN_MARK in old and END_MARK in old:
        i, j = old.index(BEGIN_MARK), old.index(END_MARK) + len(END_MARK)
        new = old[:i] + text.rstrip("\n") + old[j:]
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + text
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--old", help="the baseline build directory")
    ap.add_argument("--baseline", nargs="?", const="", default=None, metavar="COMMIT",
                    help="use (and build if needed) the compat test's baseline build "
                         "(tests/compat/baseline.py) as --old")
    ap.add_argument("--new", default=os.path.join(SRC, "build"),
                    help="the build under test (default build/)")
    ap.add_argument("--versions", default="3.14,3.15")
    ap.add_argument("--sizes", default="10000,1000000")
    ap.add_argument("--pairs", default="15,5",
                    help="interleaved pairs per size, one per --sizes entry "
                         "(default 15,5; at least 7 at 10,000 and 3 at 1,000,000)")
    ap.add_argument("--json", default=None, help="add the results to this JSON file "
                    "(key old_vs_new; other keys kept)")
    ap.add_argument("--markdown", default=None, help="write the section into this file")
    ap.add_argument("--render", default=None, metavar="JSON",
                    help="measure nothing: print (and --markdown) the old_vs_new key of "
                         "an earlier --json file")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            doc = json.load(f)["old_vs_new"]
        print(text_report(doc))
        if a.markdown:
            write_markdown(a.markdown, markdown(doc))
        return 0
    sizes = [int(x) for x in a.sizes.split(",") if x]
    pairs = [int(x) for x in a.pairs.split(",") if x]
    if len(pairs) == 1:
        pairs = pairs * len(sizes)
    if len(pairs) != len(sizes):
        ap.error("--pairs needs one count per size (or one for all)")
    for s, p in zip(sizes, pairs):
        if p < MIN_PAIRS.get(s, 1):
            print("compare: note: %d pairs at %d tasks is fewer than the %d asked for"
                  % (p, s, MIN_PAIRS[s]), file=sys.stderr)
    if a.old is None:
        if a.baseline is None:
            ap.error("give --old DIR or --baseline")
        import baseline
        bt = build_info(os.path.abspath(a.new)).get("build_type") or "RelWithDebInfo"
        try:
            a.old = baseline.ensure(a.baseline or baseline.BASELINE_COMMIT, bt,
                                    lldb=os.path.exists(os.path.join(a.new, "lldb")))
        except baseline.BaselineError as e:
            print("compare: cannot build the baseline: %s" % e, file=sys.stderr)
            return 1
    builds = {"old": os.path.abspath(a.old), "new": os.path.abspath(a.new)}
    for b, d in builds.items():
        if not os.access(os.path.join(d, "py-async-graph"), os.X_OK):
            ap.error("%s build %s has no py-async-graph" % (b, d))
    helper = next((h for h in (os.path.join(builds[b], "bench", "pag-bench-exec")
                               for b in ("new", "old")) if os.access(h, os.X_OK)), None)
    if not helper:
        ap.error("neither build has bench/pag-bench-exec (needed for per-process peak RSS)")
    benchrun.EXEC_HELPER = helper
    benchrun.BUILD_TYPE_CACHE[0] = builds["new"]
    info = {b: build_info(d) for b, d in builds.items()}
    if info["old"].get("build_type") != info["new"].get("build_type"):
        print("compare: WARNING: build types differ (old %s, new %s): the times compare "
              "the compilers' settings too" % (info["old"].get("build_type"),
                                                info["new"].get("build_type")), file=sys.stderr)
    doc = {"argv": ["python3", "bench/compare.py"] + [
        x.replace(os.path.expanduser("~"), "~") for x in sys.argv[1:]],
        "old": info["old"], "new": info["new"], "machine": benchrun.machine(),
        "code_diff": code_diff(info["old"], info["new"]),
        "loadavg_start": os.getloadavg(), "rows": []}
    for ver in [v for v in a.versions.split(",") if v]:
        for n, p in zip(sizes, pairs):
            print("compare: %s, %d tasks ..." % (ver, n), file=sys.stderr, flush=True)
            doc["rows"].append(run_size(a, builds, ver, n, p))
    doc["loadavg_end"] = os.getloadavg()
    failed = slow = False
    for row in doc["rows"]:
        for r in row["results"].values():
            if not r.get("ok"):
                failed = True
            elif any(j["verdict"].startswith("SLOWDOWN") for j in r["judgement"].values()):
                slow = True
    doc["verdict"] = ("a run failed" if failed else
                      "SLOWDOWN beyond noise" if slow else "no slowdown beyond noise")
    print(text_report(doc))
    if a.json:
        try:
            with open(a.json) as f:
                whole = json.load(f)
        except (OSError, ValueError):
            whole = {}
        whole["old_vs_new"] = doc
        with open(a.json, "w") as f:
            json.dump(whole, f, indent=1)
    if a.markdown:
        write_markdown(a.markdown, markdown(doc))
    return 1 if failed else 3 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
