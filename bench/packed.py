#!/usr/bin/env python3
"""Compressed cores: what reading a systemd-style .zst core costs.

On one fixtures/many.py process of N tasks (default 1,000,000) it makes one
gcore core, compresses it with the zstd tool (-3, as systemd-coredump does
by default), and then times, interleaved over --reps rounds (median, with
each run's spread):

  zstd-d       zstd -d -c CORE.zst > /dev/null        (decompression alone)
  plain        py-async-graph --format json -o /dev/null --core CORE
  zst          py-async-graph --format json -o /dev/null --core CORE.zst
  zst-pipe     zstd -dc CORE.zst | py-async-graph --format json -o /dev/null --core -

The target of issue 15: zst <= 1.5 x (zstd-d + plain).  Every run's JSON
task count must equal the fixture's.  --smoke (CTest) runs a small size
once and only checks the counts, never the time.  Results: --json FILE
(bench/packed.json), and the table in bench/RESULTS.md.
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as bench  # noqa: E402  (measure(), machine(), pagtest)

pagtest = bench.pagtest
TARGET = 1.5


def tool_argv(cli, kind, core, packed):
    if kind == "zstd-d":
        return ["sh", "-c", "zstd -q -d -c '%s' > /dev/null" % packed]
    if kind == "plain":
        return [cli, "--format", "json", "-o", "/dev/null", "--stats", "--core", core]
    if kind == "zst":
        return [cli, "--format", "json", "-o", "/dev/null", "--stats", "--core", packed]
    return ["sh", "-c", "zstd -q -dc '%s' | '%s' --format json --stats --core - > /dev/null"
            % (packed, cli)]


def count_tasks(cli, core):
    p = subprocess.run([cli, "--format", "json", "--core", core], capture_output=True)
    return len(json.loads(p.stdout)["tasks"]) if p.returncode == 0 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=1000000)
    ap.add_argument("--version", default="3.14")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(bench.SRC, "build"))
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.tasks, a.reps = 10000, 1
    cli = os.path.join(a.build, "py-async-graph")
    work = tempfile.mkdtemp(prefix="pag-packed-bench-")
    env = dict(bench.clean_env(), TMPDIR=work)
    try:
        fx = pagtest.Fixture("many", a.version, args=("--tasks", str(a.tasks)),
                             ready_timeout=max(120, a.tasks // 2000))
        with fx:
            want = fx.oracle["task_count"]
            core = fx.gcore(path=os.path.join(work, "core"), timeout=1800)  # fx.dir goes
        packed = core + ".zst"
        subprocess.run(["zstd", "-q", "-3", "-T0", core, "-o", packed], check=True)
        counts = {"plain": count_tasks(cli, core), "zst": count_tasks(cli, packed)}
        bad = {k: v for k, v in counts.items() if v != want}
        if bad:
            pagtest.fail("task counts differ from the fixture's %d: %s" % (want, bad))
        kinds = ["zstd-d", "plain", "zst", "zst-pipe"]
        times = {k: [] for k in kinds}
        for _ in range(a.reps):
            for k in kinds:  # interleaved: a slow moment hits every tool alike
                rc, out, err, wall, rss = bench.measure(tool_argv(cli, k, core, packed), env=env)
                if rc != 0:
                    pagtest.fail("%s failed (exit %s): %s" % (k, rc, err.strip()[-300:]))
                times[k].append(wall)
        left = os.listdir(work)
        if any(not f.startswith("core") for f in left):
            pagtest.fail("files left in TMPDIR: %s" % left)
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = med["zst"] / (med["zstd-d"] + med["plain"])
        doc = {"date": datetime.date.today().isoformat(), "version": a.version, "tasks": want,
               "core_bytes": os.path.getsize(core), "zst_bytes": os.path.getsize(packed),
               "reps": a.reps, "seconds": times, "median": med, "ratio": ratio,
               "target": TARGET, "machine": bench.machine()}
        print("packed: %d tasks, core %.0f MiB, .zst %.0f MiB" % (
            want, doc["core_bytes"] / 2**20, doc["zst_bytes"] / 2**20))
        for k in kinds:
            print("packed:   %-9s median %.3f s  (min %.3f, max %.3f)" % (
                k, med[k], min(times[k]), max(times[k])))
        print("packed: zst / (zstd-d + plain) = %.2f (target <= %.1f)" % (ratio, TARGET))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(doc, f, indent=1)
        if not a.smoke and ratio > TARGET:
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
