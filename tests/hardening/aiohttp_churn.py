"""--no-stop against a real aiohttp service under load (issue 18, defect 10):
every one of RUNS reads is a consistent graph (exit 0) or the documented
"target kept changing" error (exit 11); never a partial result (exit 10)
and never garbage.

usage: aiohttp_churn.py VERSION CLI [RUNS]

The target is fixtures/aiohttp_service.py (an aiohttp server in the main
thread, a client thread hammering it over loopback), with sid's aiohttp
from the site tree fixtures/fetch-pythons.sh unpacks.  Each run is
`CLI --no-stop --retries 20 PID`, every second one with --format json so
that the graph can be checked as data.  Garbage is what the issue saw:
  - "unreadable" anywhere in the output, or a task with an error;
  - an awaiter that is not a node of the graph of a kind an awaiter can
    be: a listed task (a waiting task is on a task list), the running
    task of a thread, or a Future (the user guide: a bare Future appears
    only as an awaiter; gather's and aiohttp's futures do), or an edge to
    an id the graph does not have;
  - a task with an empty name, or one that is not on any list and not
    running (the fixture names no task "", every pending task is listed,
    and the one that can be off the list is a running task that has just
    finished its coroutine);
  - in the tree output, a task line `(T) ` with an empty name.
A consistent graph must hold the fixture's parked requests (hang-0..3).
The counts of exit codes are printed.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pagtest  # noqa: E402

SITE = os.path.join(pagtest.CACHE_DIR, "site", "aiohttp", "usr", "lib", "python3",
                    "dist-packages")


def check_json(out, names):
    doc = json.loads(out)
    tasks = {t["id"]: t for t in doc["tasks"]}
    listed = {i for i, t in tasks.items() if t["listed"] and t["kind"] == "task"}
    can_await = listed | {i for i, t in tasks.items()
                          if t["kind"] == "future" or (t["kind"] == "task" and t["running"])}
    bad = []
    for t in doc["tasks"]:
        if t.get("error"):
            bad.append("task %s has an error: %s" % (t["id"], t["error"]))
        if t["kind"] == "task" and not t["listed"] and not t["running"]:
            bad.append("task %s %r is on no task list (%s)" % (t["id"], t["name"], t))
        if t["kind"] == "task" and not t["name"]:
            bad.append("task %s has an empty name" % t["id"])
    for e in doc["edges"]:
        if e["task"] not in tasks:
            bad.append("edge from unknown id %s" % e["task"])
        if e["awaiter"] not in can_await:
            what = tasks.get(e["awaiter"])
            bad.append("awaiter %s of %s is not a listed task, a running one or a Future (%s)"
                       % (e["awaiter"], e["task"], what))
    if doc.get("failed") or doc.get("inconsistent"):
        bad.append("failed=%s inconsistent=%s in a consistent graph" % (
            doc.get("failed"), doc.get("inconsistent")))
    have = {t["name"] for t in doc["tasks"]}
    bad += ["consistent graph lacks %s" % n for n in names if n not in have]
    return bad


def check_tree(out, names):
    bad = []
    for ln in out.splitlines():
        if ln.rstrip().endswith("(T)") or "(T) ''" in ln:
            bad.append("a task line with an empty name: %r" % ln)
    bad += ["consistent graph lacks %s" % n for n in names if "(T) " + n not in out]
    return bad


def main():
    version, cli = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    if not os.path.isdir(os.path.join(SITE, "aiohttp")):
        pagtest.fail("no aiohttp site tree at %s (run fixtures/fetch-pythons.sh)" % SITE)
    counts = {}
    bad = []
    env = pagtest.clean_env()
    t0 = time.monotonic()
    with pagtest.Fixture("aiohttp_service", version, args=("--site", SITE)) as fx:
        names = fx.oracle["expect"]["names"]
        for i in range(runs):
            fmt = ["--format", "json"] if i % 2 else []
            cmd = [cli, "--no-stop", "--retries", "20"] + fmt + [str(fx.pid)]
            try:
                p = subprocess.run(cmd, capture_output=True, timeout=60, env=env)
            except subprocess.TimeoutExpired:
                bad.append("run %d: hang (60 s)" % i)
                continue
            rc = p.returncode
            out = p.stdout.decode("utf-8", "replace")
            err = p.stderr.decode("utf-8", "replace")
            counts[rc] = counts.get(rc, 0) + 1
            what = []
            if "unreadable" in out or "unreadable" in err:
                what.append("'unreadable' in the output")
            if rc == 0:
                what += check_json(out, names) if fmt else check_tree(out, names)
            elif rc == 11:
                if out or "changed" not in err or len(err.strip().splitlines()) != 1:
                    what.append("exit 11 without one 'changed' line and no output: %r" % err)
            else:
                what.append("exit %d: %r" % (rc, err[:300]))
            bad += ["run %d: %s" % (i, w) for w in what[:5]]
            if not fx.alive():
                bad.append("run %d: the target died" % i)
                break
    print("exit codes over %d runs (%.0f s): %s" % (
        runs, time.monotonic() - t0, dict(sorted(counts.items()))))
    for b in bad:
        print("FAIL:", b)
    if bad:
        sys.exit(1)
    print("aiohttp churn: %d of %d runs exit 0 or 11, no garbage" % (runs, runs))


if __name__ == "__main__":
    main()
