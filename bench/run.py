#!/usr/bin/env python3
"""py-async-graph benchmark: our tools against CPython's own, on one process.

For each CPython version and task count it starts fixtures/many.py (a
two-level TaskGroup tree whose leaves wait), waits for its ready handshake,
makes one gcore core of it, and then times, on that same process, the median
of --reps runs (after one warm-up run of each tool) of:

  cli-live        build/py-async-graph --stats -o /dev/null PID   (tree format)
  cli-live-json   the same with --format json
  cli-core        build/py-async-graph --stats -o /dev/null --core CORE --exe EXE
  cli-core-json   the same with --format json
  cli-live-group  the live CLI with --group (issue 16: the grouped tree)
  cli-live-summary  the live CLI with --format summary --top 0
  gdb-live        py-async-graph inside `gdb -p PID`     (command time and session)
  gdb-core        py-async-graph inside `gdb EXE CORE`
  lldb-live       py-async-graph inside `lldb-16 -p PID` (plugin)
  lldb-core       py-async-graph inside `lldb-16 EXE -c CORE`
  cpython-gaab    _remote_debugging.RemoteUnwinder(PID).get_all_awaited_by()
  cpython-pstree  python3.X -m asyncio pstree PID

and reports the peak RSS of each measuring process (wait4), the bytes read and
read calls per task (the core's --stats counters), a physical reference (one
process_vm_readv copy of every writable mapping of the target), a
least-squares fit of each tool's cost against the task count, and pass/fail
for the targets of issue 7.

Times: "cmd" is the command alone where it can be separated -- inside gdb and
lldb, around the command (Python time.monotonic() in the debugger's own
Python); for get_all_awaited_by(), the call without interpreter start-up --
and "wall" is the measured process from exec to exit.  For the CLI and pstree
cmd == wall.  The targets compare the CLI's wall time with CPython's call time
(the harshest pairing for us), and the debuggers' command time with pstree's
wall time (a gdb user already has the session open).

--smoke runs one small size and only checks that every tool runs and agrees
with the fixture's task count (CTest runs this; it never judges time).
--tools / --merge re-measure some tools later (e.g. the LLDB rows) and merge
them into an earlier --json file; --markdown writes the RESULTS.md tables.

Two builds against each other (old vs new, interleaved runs on one process,
ratio of medians against the runs' spread): bench/compare.py, which reuses
measure() and machine() from here.
"""

import argparse
import ctypes
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
import pagtest  # noqa: E402

STATS_RE = re.compile(r"read_calls=(\d+) bytes_read=(\d+)(?: cache_hits=(\d+))?")
TIME_RE = re.compile(r"@@T ([0-9.]+)")

TOOLS = ["cli-live", "cli-live-json", "cli-core", "cli-core-json", "cli-live-group",
         "cli-live-summary", "cli-live-native", "cli-core-native", "gdb-live", "gdb-core", "lldb-live", "lldb-core", "cpython-gaab",
         "cpython-pstree"]
# Tools the smoke run checks (the JSON variants add nothing to a count check).
SMOKE_TOOLS = ["cli-live", "cli-core", "gdb-live", "gdb-core", "lldb-live", "lldb-core",
               "cpython-gaab", "cpython-pstree"]


def clean_env():
    """Environment for every tool we run: never PYTHONHOME/PYTHONPATH (gdb
    embeds its own Python; the target wrappers set their own)."""
    return pagtest.clean_env()


# Set by main(): build/bench/pag-bench-exec, when it was built.
EXEC_HELPER = None
BUILD_TYPE_CACHE = [""]  # the build directory, for its CMAKE_BUILD_TYPE


def measure(argv, env=None, timeout=1800):
    """Run argv; (rc, stdout, stderr, wall seconds, peak RSS KiB).

    Under pag-bench-exec (built by CMake) the wall time and peak RSS are the
    command's own.  Without it the command runs from here: the wall time is
    taken around a blocking wait4 and the RSS is only an upper bound (it
    includes this runner's own RSS, inherited at exec)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", prefix="pag-bench-", suffix=".rusage") as rep:
        full = [EXEC_HELPER, rep.name, str(int(timeout))] + list(argv) if EXEC_HELPER else argv
        t0 = time.monotonic()
        p = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             env=env if env is not None else clean_env(),
                             start_new_session=True)
        killer = threading.Timer(timeout + 10, lambda: _killpg(p.pid))
        killer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        wall = time.monotonic() - t0
        rc = os.waitstatus_to_exitcode(status)
        rss = ru.ru_maxrss
        if EXEC_HELPER:
            m = re.match(r"wall_s=([0-9.]+) maxrss_kib=(\d+) status=(\d+)", rep.read())
            if m:
                wall, rss, rc = float(m.group(1)), int(m.group(2)), int(m.group(3))
        out.seek(0)
        err.seek(0)
        return (rc, out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"), wall, rss)


def _killpg(pid):
    try:
        os.killpg(pid, 9)
    except OSError:
        pass


def count_json_tasks(doc):
    return sum(1 for t in doc["tasks"] if t["kind"] == "task" and t["listed"])


class Tools:
    """One method per tool; each returns a dict: ok, cmd, wall, rss (KiB),
    calls, bytes (our counters), tasks (with count=True), note, argv."""

    def __init__(self, build, version, pid, core, exe, reps):
        self.build, self.version, self.pid, self.core, self.exe = build, version, pid, core, exe
        self.reps = reps
        self.cli = os.path.join(build, "py-async-graph")
        self.gdb_script = os.path.join(build, "gdb", "py-async-graph.py")
        self.lldb_plugin = os.path.join(build, "lldb", "libpy-async-graph-lldb.so")
        self.py = str(pagtest.python_for(version))

    def _target(self, live):
        return [str(self.pid)] if live else ["--core", self.core, "--exe", self.exe]

    def cli_run(self, live, fmt="tree", count=False, extra=()):
        if count:
            argv = [self.cli, "--format", "json"] + self._target(live)
        else:
            # --stats with json puts the counters into the (discarded) JSON:
            # the json rows read exactly what the tree rows read.
            argv = ([self.cli] + (["--stats"] if fmt != "json" else []) +
                    ["--format", fmt] + list(extra) + ["-o", "/dev/null"] + self._target(live))
        rc, out, err, wall, rss = measure(argv)
        m = STATS_RE.search(err)
        r = dict(ok=rc == 0, wall=wall, cmd=wall, rss=rss, argv=argv,
                 note=err.strip()[-300:] if rc else "",
                 calls=int(m.group(1)) if m else None, bytes=int(m.group(2)) if m else None)
        if count and rc == 0:
            r["tasks"] = count_json_tasks(json.loads(out))
        return r

    def gdb_run(self, live, count=False):
        if not shutil.which("gdb"):
            return dict(ok=False, note="gdb missing")
        tgt = ["-p", str(self.pid)] if live else [self.exe, self.core]
        cmd = "py-async-graph --format json" if count else "py-async-graph --stats -o /dev/null"
        argv = ["gdb", "-batch", "-nx", "-iex", "set pagination off", "-iex", "set width 0",
                "-iex", "set debuginfod enabled off"] + tgt + [
                    "-ex", "source " + self.gdb_script,
                    "-ex", "python import time; _t = time.monotonic()"]
        # With count, markers separate the JSON from gdb's own chatter.
        argv += (["-ex", "echo @@BEGIN\\n", "-ex", cmd, "-ex", "echo @@END\\n"]
                 if count else ["-ex", cmd])
        argv += ["-ex", 'python print("@@T %f" % (time.monotonic() - _t))']
        rc, out, err, wall, rss = measure(argv)
        return self._debugger_result(rc, out, err, wall, rss, count, argv)

    def lldb_run(self, live, count=False):
        lldb = shutil.which("lldb-16") or shutil.which("lldb")
        if not lldb:
            return dict(ok=False, note="n/a (lldb-16 not installed)")
        if not os.path.exists(self.lldb_plugin):
            return dict(ok=False, note="n/a (plugin not built: %s)" % self.lldb_plugin)
        tgt = ["-p", str(self.pid)] if live else [self.exe, "-c", self.core]
        cmd = "py-async-graph --format json" if count else "py-async-graph --stats -o /dev/null"
        argv = [lldb, "-b", "--no-lldbinit"] + tgt + [
            "-o", "plugin load " + self.lldb_plugin,
            "-o", "script import time; _t = time.monotonic()"]
        argv += (["-o", "script print('@@BEGIN')", "-o", cmd, "-o", "script print('@@END')"]
                 if count else ["-o", cmd])
        argv += ["-o", "script print('@@T %f' % (time.monotonic() - _t))"]
        if live:
            argv += ["-o", "process detach"]
        rc, out, err, wall, rss = measure(argv)
        return self._debugger_result(rc, out, err, wall, rss, count, argv)

    def _debugger_result(self, rc, out, err, wall, rss, count, argv):
        text = out + err
        m = TIME_RE.search(text)
        s = STATS_RE.search(text)
        # The command reports failures as "py-async-graph: <why>"; its notes
        # ("py-async-graph: stats: ...", warnings) are not failures.
        errs = [l for l in text.splitlines() if l.startswith("py-async-graph: ")
                and not l.startswith(("py-async-graph: stats", "py-async-graph: warning"))]
        r = dict(ok=m is not None and not errs, wall=wall, cmd=float(m.group(1)) if m else None,
                 rss=rss, argv=argv, calls=int(s.group(1)) if s else None,
                 bytes=int(s.group(2)) if s else None,
                 note="; ".join(errs)[-300:] if errs else ("" if m else text.strip()[-300:]))
        if count:
            body = text.split("@@BEGIN", 1)[-1].split("@@END", 1)[0]
            try:
                r["tasks"] = count_json_tasks(json.loads(body[body.index("{"):body.rindex("}") + 1]))
            except ValueError:
                r["tasks"] = None
                r["note"] = body.strip()[-300:] or text.strip()[-300:]
        return r

    def gaab_run(self, count=False):
        code = ("import _remote_debugging, time, sys\n"
                "t = time.monotonic()\n"
                "try:\n"
                "    r = _remote_debugging.RemoteUnwinder(%d).get_all_awaited_by()\n"
                "except Exception as e:\n"
                "    print('@@E %%s: %%s' %% (type(e).__name__, e)); sys.exit(3)\n"
                "d = time.monotonic() - t\n"
                "print('@@T %%f' %% d)\n"
                "print('@@N %%d' %% sum(len(x[1]) for x in r))\n" % self.pid)
        argv = [self.py, "-c", code]
        # The wrapper sets PYTHONHOME for the target's interpreter itself.
        rc, out, err, wall, rss = measure(argv)
        m = TIME_RE.search(out)
        n = re.search(r"@@N (\d+)", out)
        e = re.search(r"@@E (.*)", out)
        return dict(ok=rc == 0 and m is not None, wall=wall, cmd=float(m.group(1)) if m else None,
                    rss=rss, tasks=int(n.group(1)) if n else None, argv=argv,
                    note=e.group(1) if e else ("" if rc == 0 else (out + err).strip()[-300:]))

    def pstree_run(self, count=False):
        argv = [self.py, "-m", "asyncio", "pstree", str(self.pid)]
        rc, out, err, wall, rss = measure(argv)
        tasks = len(set(l.split("(T) ", 1)[1] for l in out.splitlines() if "(T) " in l))
        return dict(ok=rc == 0, wall=wall, cmd=wall, rss=rss, tasks=tasks if rc == 0 else None,
                    argv=argv, note="" if rc == 0 else (out + err).strip()[-300:])

    def runner(self, tool):
        """(function, args) for a tool name."""
        return {
            "cli-live": (self.cli_run, (True,)), "cli-core": (self.cli_run, (False,)),
            "cli-live-json": (self.cli_run, (True, "json")),
            "cli-core-json": (self.cli_run, (False, "json")),
            "cli-live-group": (self.cli_run, (True, "tree", False, ("--group",))),
            "cli-live-summary": (self.cli_run, (True, "summary", False, ("--top", "0"))),
            # issue 14: --native unwinds every thread (elfutils) besides the graph
            "cli-live-native": (self.cli_run, (True, "tree", False, ("--native",))),
            "cli-core-native": (self.cli_run, (False, "tree", False, ("--native",))),
            "gdb-live": (self.gdb_run, (True,)), "gdb-core": (self.gdb_run, (False,)),
            "lldb-live": (self.lldb_run, (True,)), "lldb-core": (self.lldb_run, (False,)),
            "cpython-gaab": (self.gaab_run, ()), "cpython-pstree": (self.pstree_run, ()),
        }[tool]

    def count(self, tool):
        fn, a = self.runner(tool)
        if fn in (self.cli_run,):
            return fn(a[0], count=True)
        if fn in (self.gdb_run, self.lldb_run):
            return fn(*a, count=True)
        return fn()

    def median_of(self, tool, reps=None, warmup=True):
        fn, a = self.runner(tool)
        first = fn(*a)  # warm-up (also the only run when it fails: a failure is not timed)
        if not first.get("ok"):
            first["runs"] = 1
            return first
        runs = [fn(*a) for _ in range(reps or self.reps)] if warmup else [first]
        ok = [r for r in runs if r.get("ok")]
        if not ok:
            runs[-1]["runs"] = len(runs)
            return runs[-1]
        res = dict(ok[0])
        for key in ("wall", "cmd", "rss"):
            vals = [r[key] for r in ok if r.get(key) is not None]
            res[key] = statistics.median(vals) if vals else None
            res[key + "_runs"] = vals  # every timed run, for the spread
        res["runs"] = len(ok)
        res["warmup"] = warmup
        return res


def writable_ranges(pid):
    ranges = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            r, perms = line.split()[:2]
            if perms.startswith("rw"):
                a, b = (int(x, 16) for x in r.split("-"))
                ranges.append((a, b - a))
    return ranges


def heap_copy_seconds(pid, reps=3):
    """Median time of one process_vm_readv pass over every writable mapping
    of the target (8 MiB per call into one reused buffer): the physical floor
    for reading the whole heap once.  Returns (seconds, bytes copied)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.process_vm_readv.restype = ctypes.c_ssize_t

    class Iov(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    ranges = writable_ranges(pid)
    chunk = 8 << 20
    buf = ctypes.create_string_buffer(chunk)
    times, total = [], 0
    for _ in range(reps):
        total = 0
        t0 = time.monotonic()
        for a, n in ranges:
            off = 0
            while off < n:
                k = min(chunk, n - off)
                local = Iov(ctypes.cast(buf, ctypes.c_void_p), k)
                remote = Iov(a + off, k)
                got = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
                if got > 0:
                    total += got
                off += k
        times.append(time.monotonic() - t0)
    return statistics.median(times), total


def fit(points):
    """Least squares y = a + b x over (x, y); returns (a, b, r2)."""
    if len(points) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    a = my - b * mx
    ss = sum((y - my) ** 2 for y in ys)
    r2 = 1 - sum((y - a - b * x) ** 2 for x, y in points) / ss if ss else 1.0
    return a, b, r2


def run_size(args, version, n, tools_wanted):
    ready = max(120, n // 2000)
    fx = pagtest.Fixture("many", version, args=("--tasks", str(n)), ready_timeout=ready)
    t_start = time.monotonic()
    with fx:
        ready_s = time.monotonic() - t_start
        want = fx.oracle["task_count"]
        exe = os.readlink("/proc/%d/exe" % fx.pid)
        t0 = time.monotonic()
        core = fx.gcore(timeout=1800)
        gcore_s = time.monotonic() - t0
        tools = Tools(args.build, version, fx.pid, core, exe, args.reps)
        row = {"version": version, "tasks": want, "pid": fx.pid, "exe": exe, "core": core,
               "fixture_ready_seconds": ready_s, "fixture_settled_seconds": fx.oracle.get("settled_s"),
               "fixture_maxrss_kib": fx.oracle.get("maxrss_kb"),
               "gcore_seconds": gcore_s, "core_bytes": os.path.getsize(core), "results": {}}
        res = row["results"]
        if args.smoke:
            for k in tools_wanted:
                r = tools.count(k)
                res[k] = {"ok": r.get("tasks") == want, "tasks": r.get("tasks"),
                          "note": r.get("note", ""), "argv": r.get("argv")}
            return row
        hc_s, hc_b = heap_copy_seconds(fx.pid)
        row["heap_copy"] = {"seconds": hc_s, "bytes": hc_b,
                            "writable_bytes": sum(k for _, k in writable_ranges(fx.pid))}
        for k in tools_wanted:
            print("bench:   %s ..." % k, file=sys.stderr, flush=True)
            if k.startswith("cpython-") and n > args.cpython_max:
                res[k] = {"ok": False, "note": "not run above --cpython-max %d" % args.cpython_max}
                continue
            if k.startswith("cpython-") and n > args.cpython_once_above:
                # Minutes per run: one run, no warm-up (said in the table).
                res[k] = tools.median_of(k, warmup=False)
            else:
                res[k] = tools.median_of(k)
            r = res[k]
            r["pid"] = fx.pid
            if r.get("calls") is not None:
                r["calls_per_task"] = r["calls"] / want
                r["bytes_per_task"] = r["bytes"] / want
            if r.get("ok") and r.get("rss"):
                r["rss_kib_per_task"] = r["rss"] / want
        return row


def fmt_s(v):
    if v is None:
        return "-"
    return "%.3f" % v if v < 10 else "%.1f" % v


def spread(r, key):
    """' (min-max)' of a tool's timed runs, for the markdown table."""
    v = r.get(key + "_runs") or []
    return " (%s-%s)" % (fmt_s(min(v)), fmt_s(max(v))) if len(v) > 1 else ""


def rows_table(rows, with_spread=False):
    """(header, [cells]) of the results table."""
    hdr = ["py", "tasks", "tool", "cmd s", "wall s", "peak RSS MiB", "read calls/task",
           "bytes read/task", "note"]
    if with_spread:
        hdr[3:5] = ["cmd s (min-max)", "wall s (min-max)"]
    out = []
    for row in rows:
        for k in TOOLS:
            r = row["results"].get(k)
            if r is None:
                continue
            ok = r.get("ok")
            note = "" if ok else (r.get("note") or "failed")
            if ok and r.get("runs") == 1 and r.get("warmup") is False:
                note = "one run, no warm-up"
            out.append([row["version"], "{:,}".format(row["tasks"]), k,
                        (fmt_s(r.get("cmd")) + (spread(r, "cmd") if with_spread else "")) if ok else "-",
                        (fmt_s(r.get("wall")) + (spread(r, "wall") if with_spread else "")) if ok else "-",
                        "%.0f" % (r["rss"] / 1024) if ok and r.get("rss") else "-",
                        "%.4f" % r["calls_per_task"] if r.get("calls_per_task") is not None else "-",
                        "%.0f" % r["bytes_per_task"] if r.get("bytes_per_task") is not None else "-",
                        note])
        hc = row.get("heap_copy")
        if hc:
            out.append([row["version"], "{:,}".format(row["tasks"]), "heap-copy",
                        fmt_s(hc["seconds"]), "", "", "", "",
                        "one process_vm_readv pass over %.0f MiB of writable mappings"
                        % (hc["bytes"] / 2**20)])
    return hdr, out


def report(rows, smoke):
    if smoke:
        return "\n".join("%s %d tasks: %s" % (row["version"], row["tasks"], ", ".join(
            "%s %s%s" % (k, v.get("tasks"), "" if v["ok"] else " MISMATCH")
            for k, v in row["results"].items())) for row in rows)
    hdr, cells = rows_table(rows)
    widths = [max(len(str(c[i])) for c in cells + [hdr]) for i in range(len(hdr) - 1)]
    lines = ["  ".join(str(h).rjust(w) if i in (1, 3, 4, 5, 6, 7) else str(h).ljust(w)
                       for i, (h, w) in enumerate(zip(hdr, widths))) + "  " + hdr[-1]]
    lines.append("-" * len(lines[0]))
    for c in cells:
        lines.append("  ".join(str(v).rjust(w) if i in (1, 3, 4, 5, 6, 7) else str(v).ljust(w)
                               for i, (v, w) in enumerate(zip(c, widths))) + "  " + c[-1])
    return "\n".join(lines)


def fits(rows):
    """Per version and tool: least-squares fit of time (cmd) and peak RSS
    against tasks.  Returns [(version, tool, dict)]."""
    out = []
    for ver in sorted({r["version"] for r in rows}):
        for tool in TOOLS:
            pts, mem = [], []
            for row in sorted((r for r in rows if r["version"] == ver), key=lambda r: r["tasks"]):
                r = row["results"].get(tool, {})
                if r.get("ok") and r.get("cmd") is not None:
                    pts.append((row["tasks"], r["cmd"]))
                    if r.get("rss"):
                        mem.append((row["tasks"], r["rss"]))
            f = fit(pts)
            if not f:
                continue
            d = {"points": len(pts), "intercept_s": f[0], "us_per_task": f[1] * 1e6, "r2": f[2],
                 "max_tasks": pts[-1][0]}
            # Growth exponent b of time ~ tasks^b (least squares on logs) over
            # the sizes from 10,000 up, where start-up no longer dominates:
            # 1.0 is linear; n log n over 10,000 -> 1,000,000 would be 1.09.
            big = [(x, y) for x, y in pts if x >= 10000 and y > 0]
            if len(big) >= 2:
                fl = fit([(math.log(x), math.log(y)) for x, y in big])
                if fl:
                    d["growth_exponent"] = fl[1]
                    d["growth_from"] = big[0][0]
            # Marginal cost per task of the last two steps (shown, not judged:
            # a short step is noisy, and the per-task cost of a working set far
            # beyond the CPU caches rises with it).
            if len(pts) >= 3:
                (x0, y0), (x1, y1), (x2, y2) = pts[-3:]
                d["us_per_task_prev_step"] = (y1 - y0) / (x1 - x0) * 1e6
                d["us_per_task_last_step"] = (y2 - y1) / (x2 - x1) * 1e6
            fm = fit(mem)
            if fm:
                d["rss_kib_per_task"] = fm[1]
            out.append((ver, tool, d))
    return out


def targets(rows):
    out = []

    def get(ver, n, tool):
        for row in rows:
            if row["version"] == ver and row["tasks"] == n:
                return row["results"].get(tool)
        return None

    fitd = {(v, t): d for v, t, d in fits(rows)}
    for ver in sorted({r["version"] for r in rows}):
        sizes = sorted(r["tasks"] for r in rows if r["version"] == ver)
        n10k = min(sizes, key=lambda s: abs(s - 10000))
        n1m = max(sizes)
        cli, gaab = get(ver, n10k, "cli-live"), get(ver, n10k, "cpython-gaab")
        what = "%s: CLI live, %s tasks: >= 10x faster than get_all_awaited_by()" % (ver, "{:,}".format(n10k))
        if cli and gaab and cli.get("ok") and gaab.get("ok"):
            ratio = gaab["cmd"] / cli["wall"]
            out.append((what, ratio >= 10,
                        "%.1fx: CLI %.3f s wall vs the call alone %.3f s (%.1fx vs its process wall %.3f s)"
                        % (ratio, cli["wall"], gaab["cmd"], gaab["wall"] / cli["wall"], gaab["wall"])))
        elif cli or gaab:
            out.append((what, False, "not measured: %s" % ((gaab or {}).get("note") or (cli or {}).get("note"))))
        if n1m >= 1000000:
            r = get(ver, n1m, "cli-live")
            if r and r.get("ok"):
                out.append(("%s: CLI live, %s tasks: < 3 s wall" % (ver, "{:,}".format(n1m)),
                            r["wall"] < 3, "%.2f s" % r["wall"]))
                out.append(("%s: CLI live, %s tasks: < 1 GiB peak RSS" % (ver, "{:,}".format(n1m)),
                            r["rss"] < 1 << 20, "%.0f MiB" % (r["rss"] / 1024)))
            r = get(ver, n1m, "cli-core")
            if r and r.get("ok"):
                out.append(("%s: CLI core, %s tasks: < 3 s" % (ver, "{:,}".format(n1m)),
                            r["wall"] < 3, "%.2f s (peak RSS %.0f MiB)" % (r["wall"], r["rss"] / 1024)))
        # issue 16: folding costs at most a fifth of the plain tree's time
        base = get(ver, n1m, "cli-live")
        for tool in ("cli-live-group", "cli-live-summary"):
            r = get(ver, n1m, tool)
            if r and r.get("ok") and base and base.get("ok"):
                out.append(("%s: %s, %s tasks: within 1.2x of the plain tree" % (
                    ver, tool, "{:,}".format(n1m)), r["wall"] <= 1.2 * base["wall"],
                    "%.3f s vs %.3f s (%.2fx)" % (r["wall"], base["wall"], r["wall"] / base["wall"])))
        # issue 14: --native costs at most half again the run without it
        for tool, plain in (("cli-live-native", "cli-live"), ("cli-core-native", "cli-core")):
            r, b = get(ver, n10k, tool), get(ver, n10k, plain)
            if r and r.get("ok") and b and b.get("ok"):
                out.append(("%s: %s, %s tasks: within 1.5x of %s" % (
                    ver, tool, "{:,}".format(n10k), plain), r["wall"] <= 1.5 * b["wall"],
                    "%.3f s vs %.3f s (%.2fx)" % (r["wall"], b["wall"], r["wall"] / b["wall"])))
            elif r is not None:
                out.append(("%s: %s, %s tasks: within 1.5x of %s" % (
                    ver, tool, "{:,}".format(n10k), plain), False,
                    "not measured: %s" % (r.get("note") or "failed")))
        ps = get(ver, n10k, "cpython-pstree")
        for tool in ("gdb-live", "gdb-core", "lldb-live", "lldb-core"):
            r = get(ver, n10k, tool)
            what = "%s: %s, %s tasks: no slower than pstree" % (ver, tool, "{:,}".format(n10k))
            if r and r.get("ok") and ps and ps.get("ok"):
                out.append((what, r["cmd"] <= ps["wall"],
                            "command %.3f s vs pstree %.3f s (whole %s session %.2f s: %s)" % (
                                r["cmd"], ps["wall"], tool.split("-")[0], r["wall"],
                                "also faster" if r["wall"] <= ps["wall"] else "slower")))
            elif r is not None:
                out.append((what, False, "not measured: %s" % (r.get("note") or "failed")))
        d = fitd.get((ver, "cli-live"))
        if d:
            lin = d["r2"] >= 0.98
            detail = "%.2f us/task + %.3f s, R^2 = %.4f over %d sizes" % (
                d["us_per_task"], d["intercept_s"], d["r2"], d["points"])
            if "growth_exponent" in d:
                lin = lin and d["growth_exponent"] <= 1.05
                detail += "; time ~ tasks^%.3f from %s tasks up (<= 1.05; n log n would be ~1.09)" % (
                    d["growth_exponent"], "{:,}".format(d["growth_from"]))
            if "us_per_task_last_step" in d:
                detail += "; marginal %.2f -> %.2f us/task over the last two steps" % (
                    d["us_per_task_prev_step"], d["us_per_task_last_step"])
            out.append(("%s: CLI live cost linear in tasks" % ver, lin, detail))
    return out


def comparisons(rows):
    """At every size where CPython's tools ran: how many times faster our
    tools are.  [(version, tasks, {name: ratio})]."""
    out = []
    for row in sorted(rows, key=lambda r: (r["version"], r["tasks"])):
        res = row["results"]
        g, p = res.get("cpython-gaab", {}), res.get("cpython-pstree", {})
        d = {}
        for ours, key in (("cli-live", "wall"), ("cli-core", "wall"), ("gdb-live", "cmd"),
                          ("gdb-core", "cmd"), ("lldb-live", "cmd"), ("lldb-core", "cmd")):
            r = res.get(ours, {})
            if not r.get("ok") or not r.get(key):
                continue
            if g.get("ok"):
                d["get_all_awaited_by() call / %s %s" % (ours, key)] = g["cmd"] / r[key]
            if p.get("ok"):
                d["pstree / %s %s" % (ours, key)] = p["wall"] / r[key]
        if d:
            out.append((row["version"], row["tasks"], d))
    return out


def comparisons_text(rows):
    lines = []
    for ver, n, d in comparisons(rows):
        lines.append("%s %9s  %s" % (ver, "{:,}".format(n), "  ".join(
            "%s %.1fx" % (k.split(" / ")[1].replace(" wall", "").replace(" cmd", ""), v)
            for k, v in d.items() if k.startswith("get_all"))))
    return "times faster than get_all_awaited_by() (its call alone):\n" + "\n".join(lines)


def fits_text(rows):
    lines = []
    for ver, tool, d in fits(rows):
        s = "%s %-15s %8.3f us/task + %7.3f s  R^2 %.4f" % (
            ver, tool, d["us_per_task"], d["intercept_s"], d["r2"])
        if "growth_exponent" in d:
            s += "  growth n^%.3f" % d["growth_exponent"]
        if "us_per_task_last_step" in d:
            s += "  marginal %.3f -> %.3f us/task" % (d["us_per_task_prev_step"], d["us_per_task_last_step"])
        if "rss_kib_per_task" in d:
            s += "  RSS %.3f KiB/task" % d["rss_kib_per_task"]
        lines.append(s)
    return "\n".join(lines)


def command_template(argv, row, build):
    """argv of one measured run, with the run's own PID/paths made generic."""
    if not argv:
        return ""
    s = []
    for a in argv:
        a = str(a)
        a = a.replace(build + "/", "build/")
        if row.get("core"):
            a = a.replace(row["core"], "CORE")
        if row.get("exe"):
            a = a.replace(row["exe"], "EXE")
        a = a.replace(os.path.expanduser("~"), "~")
        a = re.sub(r"\b%d\b" % row["pid"], "PID", a)
        s.append(a)
    if s and os.path.isabs(s[0]) and shutil.which(os.path.basename(s[0])) == s[0]:
        s[0] = os.path.basename(s[0])
    out = []
    for a in s:
        if re.fullmatch(r"[A-Za-z0-9_./~=:,@+-]+", a):
            out.append(a)
        else:
            out.append("'" + a.replace("'", "'\"'\"'") + "'")
    return " ".join(out)


def machine():
    info = {"cores": os.cpu_count(), "kernel": platform.release(), "machine": platform.machine()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    for name, argv in (("gdb", ["gdb", "--version"]), ("lldb", ["lldb-16", "--version"])):
        try:
            info[name] = subprocess.run(argv, capture_output=True, text=True,
                                        env=clean_env()).stdout.splitlines()[0]
        except (OSError, IndexError):
            info[name] = None
    try:
        info["commit"] = subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", SRC, "status", "--porcelain", "--", "common", "cli",
                                "gdb", "lldb", "bench"], capture_output=True, text=True).stdout
        if dirty.strip():
            info["commit"] += " + uncommitted changes in " + ", ".join(sorted(
                {l[3:].split("/")[0] for l in dirty.splitlines()}))
    except OSError:
        pass
    try:
        with open(os.path.join(BUILD_TYPE_CACHE[0], "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    info["build_type"] = line.split("=", 1)[1].strip()
    except (OSError, IndexError):
        pass
    for v in ("3.14", "3.15"):
        try:
            info["python" + v] = subprocess.run(
                [str(pagtest.python_for(v)), "-c", "import sys; print(sys.version.split()[0])"],
                capture_output=True, text=True).stdout.strip()
        except (OSError, FileNotFoundError):
            pass
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info["loadavg"] = os.getloadavg()
    return info


def markdown(doc, build):
    rows = doc["rows"]
    m = doc.get("machine", {})
    L = ["<!-- written by bench/run.py --markdown; prose around it is by hand -->", ""]
    L.append("Command: `%s`" % " ".join(doc["argv"]))
    if doc.get("merged"):
        for a in doc["merged"]:
            L.append("Merged in later: `%s`" % " ".join(a))
    L.append("")
    L.append("Machine: %s, %s cores, %s GiB RAM, Linux %s; %s; %s; CPython %s / %s; "
             "commit %s, %s build; %s (load average at start %s)." % (
                 m.get("cpu"), m.get("cores"), m.get("mem_gib"), m.get("kernel"), m.get("gdb"),
                 m.get("lldb"), m.get("python3.14"), m.get("python3.15"), m.get("commit"),
                 m.get("build_type", "?"),
                 m.get("date"), ", ".join("%.2f" % x for x in m.get("loadavg", []))))
    L.append("")
    hdr, cells = rows_table(rows, with_spread=True)
    for ver in sorted({r["version"] for r in rows}):
        L.append("### CPython %s" % ver)
        L.append("")
        L.append("| " + " | ".join(hdr) + " |")
        L.append("|" + "|".join("---:" if i in (1, 3, 4, 5, 6, 7) else "---"
                                for i in range(len(hdr))) + "|")
        for c in cells:
            if c[0] == ver:
                L.append("| " + " | ".join(str(x).replace("|", "\\|") for x in c) + " |")
        L.append("")
        L.append("| tasks | fixture ready s | gcore s | core MiB | writable MiB |")
        L.append("|---:|---:|---:|---:|---:|")
        for row in sorted((r for r in rows if r["version"] == ver), key=lambda r: r["tasks"]):
            L.append("| {:,} | {:.1f} | {:.1f} | {:.0f} | {} |".format(
                row["tasks"], row["fixture_ready_seconds"], row["gcore_seconds"],
                row["core_bytes"] / 2**20,
                "%.0f" % (row["heap_copy"]["writable_bytes"] / 2**20) if row.get("heap_copy") else "-"))
        L.append("")
    L.append("### Fits (least squares over the sizes above; time is the cmd column)")
    L.append("")
    L.append("| py | tool | us/task | intercept s | R^2 | growth exponent (10,000 up) "
             "| marginal us/task, last two steps | peak RSS KiB/task |")
    L.append("|---|---|---:|---:|---:|---:|---|---:|")
    for ver, tool, d in fits(rows):
        L.append("| %s | %s | %.3f | %.3f | %.4f | %s | %s | %s |" % (
            ver, tool, d["us_per_task"], d["intercept_s"], d["r2"],
            "%.3f" % d["growth_exponent"] if "growth_exponent" in d else "-",
            "%.3f -> %.3f" % (d["us_per_task_prev_step"], d["us_per_task_last_step"])
            if "us_per_task_last_step" in d else "-",
            "%.3f" % d["rss_kib_per_task"] if "rss_kib_per_task" in d else "-"))
    L.append("")
    L.append("### How many times faster than CPython's tools (same process, same run)")
    L.append("")
    L.append("Ratios of CPython's time (`get_all_awaited_by()`: the call alone; pstree: its "
             "process) to ours (CLI: its process; gdb/lldb: the command), at every size where "
             "CPython's tools ran.")
    L.append("")
    L.append("| py | tasks | ours | times faster than get_all_awaited_by() | times faster than pstree |")
    L.append("|---|---:|---|---:|---:|")
    for ver, n, d in comparisons(rows):
        tools = list(dict.fromkeys(k.split(" / ")[1] for k in d))
        for t in tools:
            L.append("| %s | %s | %s | %s | %s |" % (
                ver, "{:,}".format(n), t,
                "%.1fx" % d["get_all_awaited_by() call / " + t]
                if "get_all_awaited_by() call / " + t in d else "-",
                "%.1fx" % d["pstree / " + t] if "pstree / " + t in d else "-"))
    L.append("")
    L.append("### Issue 7 targets")
    L.append("")
    L.append("| | target | measured |")
    L.append("|---|---|---|")
    for w, g, dtl in targets(rows):
        L.append("| %s | %s | %s |" % ("PASS" if g else "FAIL", w, dtl))
    L.append("")
    L.append("### Commands measured (one row of the table each; PID, CORE, EXE of that run)")
    L.append("")
    seen = set()
    for row in rows:
        for k in TOOLS:
            r = row["results"].get(k, {})
            if k in seen or not r.get("argv"):
                continue
            seen.add(k)
            c = command_template(r["argv"], row, build)
            if "\n" in c:
                L += ["- %s:" % k, "", "  ```sh"] + ["  " + x for x in c.splitlines()] + ["  ```"]
            else:
                L.append("- %s: `%s`" % (k, c))
    L.append("- the target: `~/.cache/py-async-graph/bin/python3.X fixtures/many.py --ready ORACLE "
             "--tasks N` (waits until every leaf runs and it has written ORACLE), then "
             "`gcore -o PREFIX PID` once for CORE")
    L.append("- heap-copy: `process_vm_readv` over every `rw` mapping of /proc/PID/maps, "
             "8 MiB per call (bench/run.py, heap_copy_seconds)")
    L.append("")
    return "\n".join(L)


BEGIN_MARK = "<!-- begin: written by bench/run.py --markdown -->"
END_MARK = "<!-- end: written by bench/run.py --markdown -->"


def write_markdown(path, text):
    """Write the tables to path; if path already holds the begin/end marks
    (bench/RESULTS.md), replace only what is between them and keep the prose."""
    body = BEGIN_MARK + "\n" + text.split("\n", 1)[1].lstrip("\n") + "\n" + END_MARK + "\n"
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        old = ""
    if BEGIN_MARK in old and END_MARK in old:
        body = old[:old.index(BEGIN_MARK)] + body + old[old.index(END_MARK) + len(END_MARK) + 1:]
    with open(path, "w") as f:
        f.write(body)


def merge_rows(old_rows, new_rows):
    """Put new tool results into the old rows of the same (version, tasks);
    rows not in the old file are added."""
    idx = {(r["version"], r["tasks"]): r for r in old_rows}
    for nr in new_rows:
        o = idx.get((nr["version"], nr["tasks"]))
        if o is None:
            old_rows.append(nr)
            continue
        for k, v in nr["results"].items():
            v = dict(v)
            v["merged_from_pid"] = nr["pid"]
            if v.get("argv"):  # in the old row's terms, for command_template()
                v["argv"] = [re.sub(r"\b%d\b" % nr["pid"], str(o["pid"]), str(a))
                             .replace(nr.get("core") or "\0", o.get("core") or "CORE")
                             for a in v["argv"]]
            o["results"][k] = v
    return sorted(old_rows, key=lambda r: (r["version"], r["tasks"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="Example: python3 bench/run.py --sizes 1000,10000 "
                                        "--versions 3.15 --json /tmp/b.json")
    ap.add_argument("--sizes", default="1000,10000,65536,100000,1000000",
                    help="task counts (default 1000,10000,65536,100000,1000000; 65,536 is the "
                         "most CPython 3.14/3.15's reader accepts in one thread)")
    ap.add_argument("--versions", default="3.14,3.15")
    ap.add_argument("--reps", type=int, default=5, help="timed runs per tool after one warm-up (default 5)")
    ap.add_argument("--build", default=os.path.join(SRC, "build"), help="build directory (default build/)")
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--markdown", default=None, help="write the RESULTS.md tables here")
    ap.add_argument("--tools", default=",".join(TOOLS),
                    help="comma list of tools to measure (default all: %s)" % ",".join(TOOLS))
    ap.add_argument("--merge", default=None,
                    help="an earlier --json file: the tools measured now replace its rows' entries")
    ap.add_argument("--cpython-max", type=int, default=1000000,
                    help="largest task count to run CPython's tools on (default 1000000)")
    ap.add_argument("--cpython-once-above", type=int, default=200000,
                    help="above this many tasks run CPython's tools once, without warm-up (default 200000)")
    ap.add_argument("--no-lldb", action="store_true", help="leave the LLDB rows out")
    ap.add_argument("--smoke", action="store_true",
                    help="one small size (1000); check that every tool runs and agrees on the task count")
    ap.add_argument("--render", default=None, metavar="JSON",
                    help="measure nothing: print (and --markdown) the results of an earlier --json file")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    if args.render:
        with open(args.render) as f:
            doc = json.load(f)
        print(report(doc["rows"], False) + "\n\n" + fits_text(doc["rows"]) + "\n\n" +
              comparisons_text(doc["rows"]) + "\n")
        for what, good, detail in targets(doc["rows"]):
            print("%s  %s: %s" % ("PASS" if good else "FAIL", what, detail))
        if args.markdown:
            write_markdown(args.markdown, markdown(doc, args.build))
        return 0
    if args.smoke and args.sizes == ap.get_default("sizes"):
        args.sizes = "1000"
    global EXEC_HELPER
    helper = os.path.join(args.build, "bench", "pag-bench-exec")
    if os.access(helper, os.X_OK):
        EXEC_HELPER = helper
    elif not args.smoke:
        print("bench: %s not built: peak RSS figures include this runner's own RSS" % helper,
              file=sys.stderr)
    wanted = [t for t in args.tools.split(",") if t]
    bad = [t for t in wanted if t not in TOOLS]
    if bad:
        ap.error("unknown tool(s) %s; known: %s" % (",".join(bad), ",".join(TOOLS)))
    if args.smoke and args.tools == ap.get_default("tools"):
        wanted = list(SMOKE_TOOLS)
    if args.no_lldb:
        wanted = [t for t in wanted if not t.startswith("lldb-")]
    BUILD_TYPE_CACHE[0] = args.build
    mach = machine() if not args.smoke else None
    rows = []
    for ver in args.versions.split(","):
        for n in (int(x) for x in args.sizes.split(",")):
            print("bench: %s, %d tasks ..." % (ver, n), file=sys.stderr, flush=True)
            rows.append(run_size(args, ver, n, wanted))
            if args.json and not args.smoke:  # keep what we have if a later size dies
                with open(args.json + ".partial", "w") as f:
                    json.dump({"argv": sys.argv, "rows": rows}, f, indent=1)
    doc = {"argv": ["python3", "bench/run.py"] + sys.argv[1:], "machine": mach, "rows": rows}
    if args.merge:
        with open(args.merge) as f:
            old = json.load(f)
        doc = dict(old)
        doc["rows"] = merge_rows(old["rows"], rows)
        doc["merged"] = old.get("merged", []) + [["python3", "bench/run.py"] + sys.argv[1:]]
        rows = doc["rows"]
    print(report(rows, args.smoke))
    ok = True
    if args.smoke:
        for row in rows:
            for k, v in row["results"].items():
                if not v["ok"]:
                    ok = False
                    print("FAIL %s %d: %s counted %s tasks, the fixture has %d%s" % (
                        row["version"], row["tasks"], k, v.get("tasks"), row["tasks"],
                        (": " + v["note"]) if v.get("note") else ""))
    else:
        print()
        print(fits_text(rows))
        print()
        print(comparisons_text(rows))
        print()
        for what, good, detail in targets(rows):
            print("%s  %s: %s" % ("PASS" if good else "FAIL", what, detail))
        doc["targets"] = [{"what": w, "pass": g, "detail": d} for w, g, d in targets(rows)]
        doc["fits"] = [{"version": v, "tool": t, **d} for v, t, d in fits(rows)]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        if os.path.exists(args.json + ".partial"):
            os.unlink(args.json + ".partial")
    if args.markdown and not args.smoke:
        write_markdown(args.markdown, markdown(doc, args.build))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
