"""The CLI's native unwinder (issue 14) on real CPython processes whose loop
thread is blocked in a known C function: time.sleep, a held
threading.Lock, socket recv, and `re` backtracking.

For each, live (the process SIGSTOPped, so that gdb and the CLI see the
same registers even of a thread that computes) and on a gcore core of the
same stopped process: every thread's records from the accessor
(test_native_accessor, which opens the target exactly as the CLI does) equal gdb's
own backtrace frame for frame (pcs and function names, aliases allowed);
every name covers its pc in the module's own symbol table and every
module offset lies in an executable segment of the module file; the live
and the core records are the same; the topmost frames name the
blocking function the issue expects; and the CLI's own --native
--all-threads JSON carries gdb's frames, less the evaluator frames the
core replaced by Python frames, with the accessor's names and offsets.

usage: native_blocked.py VERSION [FLAVOUR]
"""
import json
import os
import re
import sys

from clitest import Checker, run
import native_lib as nl

MODES = ["sleep", "lock", "recv", "re"]
# what the topmost named frames must include (the list)
EXPECT = {
    "sleep": r"nanosleep",
    "lock": r"sem_|pthread_|futex|_PySemaphore_Wait",
    "recv": r"recv|poll",
}


def check_mode(c, version, flavour, mode):
    with nl.Target(version, mode, flavour) as t:
        t.stop()
        gdb_live, glog = nl.gdb_frames(pid=t.pid)
        rc, live, err, dt = nl.ours([t.pid])
        c.check(rc == 0, "%s live: test_native_accessor exit %s" % (mode, rc), err)
        check_cli_json(c, mode, version, t.pid, live, gdb_live)
        core = t.gcore()
        gdb_core, glog2 = nl.gdb_frames(core=core, exe=t.exe)
        rc, oncore, err, dt2 = nl.ours(["--core", core] + sorted(live))
        c.check(rc == 0, "%s core: test_native_accessor exit %s" % (mode, rc), err)
        c.check(set(live) == set(t.tids) or set(t.tids) <= set(live),
                "%s: a record list for every thread %s" % (mode, t.tids), str(sorted(live)))
        for tid in sorted(live):
            st, us, frames = live[tid]
            what = "%s %s live thread %d" % (mode, version, tid)
            c.check(st == "OK", "%s: status %s (the walk reached the thread's start)"
                    % (what, st))
            c.check(len(frames) >= 3, "%s: %d frames" % (what, len(frames)))
            if tid not in gdb_live:
                c.check(False, "%s: gdb shows the thread" % what, glog[-3000:])
                continue
            nl.compare(c, what, frames, gdb_live[tid])
            for i, fr in enumerate(frames):
                nl.check_frame(c, what, i, fr, i == 0)
            sps = [f["sp"] for f in frames]
            c.check(all(a < b for a, b in zip(sps, sps[1:])),
                    "%s: the sp moves outward" % what, str([hex(x) for x in sps]))
            cst, cus, cframes = oncore.get(tid, (None, [], []))
            if nl.trim(gdb_core.get(tid, [])) == gdb_live[tid]:
                c.check(cst == st and cframes == frames,
                        "%s: the gcore core gives the same records" % what,
                        "core status %s\n%s" % (cst, "\n".join(map(str, cframes[:6]))))
            else:
                # gdb 13's gcore writes zeros for a thread stack that holds
                # guard pages (sid's glibc installs them with madvise); gdb's
                # own bt of that core shows it too: the walk must say so.
                c.note("%s: the gcore core lost this stack (gdb's bt of it: %d frames)"
                       % (what, len(gdb_core.get(tid, []))))
                c.check(cst == "TRUNCATED", "%s: a lost stack on the core is TRUNCATED, not %s"
                        % (what, cst))
            if tid in gdb_core:
                nl.compare(c, what.replace("live", "gcore"), cframes, gdb_core[tid])
            else:
                c.check(False, "%s: gdb shows the thread on the core" % what, glog2[-3000:])
        loop = live.get(t.loop_tid, (None, [], []))[2]
        top = [f["function"] for f in loop[:8] if f["function"]]
        if mode in EXPECT:
            c.check(any(re.search(EXPECT[mode], n) for n in top),
                    "%s: the loop thread's topmost named frames name the blocker (%s)"
                    % (mode, EXPECT[mode]), str(top))
        if mode == "re" and loop:
            # a sample of a computing thread: it may be inside a libc
            # helper (memset, malloc) that the matcher called
            # the interpreter: the executable, or libpython in a shared build
            interp = [f["module"] == t.exe or
                      os.path.basename(f["module"] or "").startswith("libpython3")
                      for f in loop]
            k = next((i for i, x in enumerate(interp) if x), None)
            c.check(k is not None and k <= 3 and
                    all("libc" in (f["module"] or "") for f in loop[:k]),
                    "re: the topmost native frames lie in the interpreter binary "
                    "(below at most a libc helper)", "\n".join(map(str, loop[:5])))
            inner = loop[k] if k is not None else loop[0]
            if flavour in ("dbg",):
                c.check(any((f["function"] or "").startswith("sre_") for f in loop[:8]),
                        "re: a build with a symbol table names the sre_ matcher",
                        str([f["function"] for f in loop[:8]]))
            names = [f["function"] for f in loop]
            c.note("re %s%s: innermost interpreter function %s; _PyEval_EvalFrameDefault %s "
                   "among %d frames" % (version, "-" + flavour if flavour else "",
                                        inner["function"], "is" if "_PyEval_EvalFrameDefault"
                                        in names else "is NOT", len(loop)))
        c.note("%s %s: live accessor %d threads in %.3fs (first call %s us, then %s us)"
               % (mode, version, len(live), dt, min(v[1][0] for v in live.values()),
                  max(v[1][0] for v in live.values())))


def check_cli_json(c, mode, version, pid, live, gdb_live):
    """The CLI's own --native --all-threads JSON (the core's merge of these
    records): each thread's native frames are gdb's, in order, less the
    evaluator frames the core replaced by Python frames, with the
    accessor's names, the module's base name and the documented offset."""
    rc, out, err = run(["--native", "--all-threads", "--format", "json", pid])
    if not c.check(rc == 0, "%s %s: CLI --native --all-threads exit %s" % (mode, version, rc), err):
        return
    doc = json.loads(out)
    c.check(doc.get("schema") == "py-async-graph/2", "%s: JSON schema /2" % mode)
    for th in doc.get("threads", []):
        tid = th.get("native_id")
        if tid not in live or tid not in gdb_live:
            continue
        what = "%s %s CLI JSON thread %d" % (mode, version, tid)
        native = [f for f in th.get("stack", []) if f.get("kind") == "native"]
        theirs = nl.trim(gdb_live[tid])
        recs = {f["pc"]: f for f in live[tid][2]}
        pcs = [f["pc"] for f in native]
        it = iter(g[0] for g in theirs)
        c.check(all(pc in it for pc in pcs), "%s: native pcs are gdb's, in order" % what,
                "%s\n%s" % ([hex(p) for p in pcs], [hex(g[0]) for g in theirs]))
        left = [g for g in theirs if g[0] not in set(pcs)]
        c.check(left and all(g[0] in recs and nl.is_evaluator(recs[g[0]]) for g in left),
                "%s: only evaluator frames were replaced (named, or in the module's "
                "largest function)" % what, str(left[:4]))
        for f in native:
            r = recs.get(f["pc"])
            if not r:
                continue
            want = (r["off"] if r["function"] else f["pc"] - r["base"]) if r["module"] else None
            c.check(f["function"] == r["function"] and f["offset"] == want and
                    f["module"] == (os.path.basename(r["module"]) if r["module"] else None),
                    "%s: %#x is %s+%s (%s), as the accessor says" % (
                        what, f["pc"], f["function"], f["offset"], f["module"]), str(r))


def main():
    version = sys.argv[1]
    flavour = sys.argv[2] if len(sys.argv) > 2 else False
    c = Checker("native blocked %s%s" % (version, "-" + flavour if flavour else ""))
    for mode in MODES:
        try:
            check_mode(c, version, flavour, mode)
        except RuntimeError as e:
            c.check(False, "%s: %s" % (mode, e))
    c.finish()


if __name__ == "__main__":
    main()
