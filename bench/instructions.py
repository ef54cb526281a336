#!/usr/bin/env python3
"""Instructions executed by two CLI builds on the same core (callgrind).

Why: wall time on a shared 2-core machine drifts with the load; the number
of instructions a run executes does not, so it tells a small slowdown of a
refactor from noise.  For each version it starts one fixtures/many.py
process, makes one gcore core, and runs each build's CLI on that core under
`valgrind --tool=callgrind` for each format.

usage: instructions.py --old BUILD_DIR --new BUILD_DIR [--tasks 10000]
                       [--versions 3.14,3.15] [--formats tree,json] [--new-args ARGS]
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
import pagtest  # noqa: E402


def instructions(cli, core, fmt, extra=()):
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", cli,
                        "--core", core, "-f", fmt, "-o", "/dev/null"] + list(extra),
                       capture_output=True, text=True, timeout=1800)
    m = re.search(r"Collected : (\d+)", p.stderr)
    if p.returncode != 0 or not m:
        raise SystemExit("callgrind run failed (rc=%s): %s" % (p.returncode, p.stderr[-500:]))
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--tasks", default="10000")
    ap.add_argument("--versions", default=",".join(pagtest.VERSIONS))
    ap.add_argument("--formats", default="tree,json")
    ap.add_argument("--new-args", default="",
                    help="options only the new run gets (e.g. --native: the same build twice "
                         "measures what an option costs)")
    a = ap.parse_args()
    print("| py | format | old instructions | new instructions | new/old |")
    print("|---|---|---:|---:|---:|")
    for ver in a.versions.split(","):
        with pagtest.Fixture("many", ver, args=("--tasks", a.tasks)) as fx:
            core = fx.gcore()
            for fmt in a.formats.split(","):
                old = instructions(os.path.join(a.old, "py-async-graph"), core, fmt)
                new = instructions(os.path.join(a.new, "py-async-graph"), core, fmt,
                                   a.new_args.split())
                print("| %s | %s | {:,} | {:,} | %.4f |".format(old, new) % (ver, fmt, new / old),
                      flush=True)


if __name__ == "__main__":
    main()
