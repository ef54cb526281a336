"""--no-stop against a target that never stops changing: 200 runs, each one
exits cleanly with a consistent graph (exit 0) or with the documented
"target changed while reading" error (exit 11).  None crashes or hangs.
A partial result (exit 10) is a failure: under --no-stop a task that
cannot be decoded (a name or coroutine freed mid-read) is a change and is
read again (issue 18, defect 8c); so is garbage in a consistent graph.

usage: nostop_churn.py VERSION CLI [RUNS]
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pagtest  # noqa: E402


def main():
    version, cli = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    counts = {}
    bad = []
    env = pagtest.clean_env()
    with pagtest.Fixture("churn", version) as fx:
        for i in range(runs):
            fmt = ("json", "tree", "table")[i % 3]
            try:
                p = subprocess.run([cli, "--no-stop", "--format", fmt, str(fx.pid)],
                                   capture_output=True, timeout=60, env=env)
            except subprocess.TimeoutExpired:
                bad.append("run %d: hang (60 s)" % i)
                continue
            rc = p.returncode
            err = p.stderr.decode("utf-8", "replace")
            counts[rc] = counts.get(rc, 0) + 1
            if rc == 0:
                if fmt == "json":
                    doc = json.loads(p.stdout)
                    names = {t["name"] for t in doc["tasks"]}
                    missing = [n for n in fx.oracle["expect"]["names"] if n not in names]
                    if missing:
                        bad.append("run %d: consistent graph lacks %s" % (i, missing))
                    # every edge must point at a node of the graph
                    ids = {t["id"] for t in doc["tasks"]}
                    if any(e["task"] not in ids or e["awaiter"] not in ids for e in doc["edges"]):
                        bad.append("run %d: an edge points outside the graph" % i)
            elif rc == 11:
                if "changed" not in err or len(err.strip().splitlines()) != 1:
                    bad.append("run %d: exit 11 without one 'changed' line: %r" % (i, err))
            else:
                bad.append("run %d: exit %d: %r" % (i, rc, err[:300]))
            if not fx.alive():
                bad.append("run %d: the target died" % i)
                break
    print("exit codes over %d runs: %s" % (runs, dict(sorted(counts.items()))))
    for b in bad:
        print("FAIL:", b)
    if bad:
        sys.exit(1)
    print("no-stop churn: all runs clean")


if __name__ == "__main__":
    main()
