"""A gcore core gives the same output as the live process, in every format.

usage: core_fixture.py FIXTURE VERSION [--dbg | --shared | --flavour NAME]

JSON is compared with its "source" and "stats" members removed (the only
allowed difference); every other format must be byte-identical.  (The live
output itself is checked against the fixture's oracles by live_fixture.py.)
"""
import argparse
import json
import os

from clitest import Checker, json_without_source, pagtest, run

FORMATS = ["tree", "table", "graph", "json", "dot", "tasks"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture")
    ap.add_argument("version")
    ap.add_argument("--dbg", action="store_true")
    ap.add_argument("--shared", action="store_true", help="libpython3.X.so interpreter")
    ap.add_argument("--flavour", help="another interpreter of the cache's bin/: python3.X-FLAVOUR"
                    " (nopie: Debian's non-PIE build; jit: PYTHON_JIT=1)")
    a = ap.parse_args()
    if a.shared:
        a.dbg = "shared"
    if a.flavour:
        a.dbg = a.flavour
    c = Checker("core %s/%s%s" % (a.fixture, a.version, pagtest.flavour_suffix(a.dbg)))
    with pagtest.Fixture(a.fixture, a.version, dbg=a.dbg) as fx:
        live = {f: run(["--format", f, fx.pid]) for f in FORMATS}
        core = fx.gcore()
        try:
            for f in FORMATS:
                lrc, lout, lerr = live[f]
                crc, cout, cerr = run(["--format", f, "--core", core], timeout=300)
                c.check(lrc == crc, "%s: exit codes live %s core %s" % (f, lrc, crc), lerr + cerr)
                if f == "json":
                    ok = lrc == 0 and crc == 0 and json_without_source(lout) == json_without_source(cout)
                    c.check(ok, "json equal without source/stats", "--- live ---\n%s--- core ---\n%s" % (lout, cout))
                    if crc == 0:
                        src = json.loads(cout)["source"]
                        c.check(src.get("kind") == "core" and src.get("pid") == fx.pid and
                                src.get("core") == core and os.path.basename(src.get("executable", "")).startswith("python"),
                                "core source names the core, pid and executable", json.dumps(src))
                else:
                    c.check(lout == cout, "%s: live and core output identical" % f,
                            "--- live ---\n%s--- core ---\n%s" % (lout, cout))
                c.check(lerr == cerr, "%s: same stderr" % f, lerr + "\n" + cerr)
        finally:
            if os.path.exists(core):
                os.unlink(core)
    c.finish()


if __name__ == "__main__":
    main()
