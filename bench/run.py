#!/usr/bin/env python3
"""py-async-graph benchmark: our tools against CPython's own, on one process.

For each CPython version and task count it starts fixtures/many.py (a
two-level TaskGroup tree whose leaves wait), makes one gcore core of it, and
then times, on that same process, the median of --reps runs (after one
warm-up run) of:

  cli-live    build/py-async-graph PID            (tree, written to /dev/null)
  cli-core    build/py-async-graph --core CORE --exe EXE
  gdb-live    py-async-graph inside `gdb -p PID`   (command time and session)
  gdb-core    py-async-graph inside `gdb EXE CORE`
  lldb-live   py-async-graph inside `lldb-16 -p PID` (plugin)
  lldb-core   py-async-graph inside `lldb-16 EXE -c CORE`
  cpython-gaab  _remote_debugging.RemoteUnwinder(PID).get_all_awaited_by()
  cpython-pstree  python3.X -m asyncio pstree PID

and reports the peak RSS of each measuring process, the bytes read and read
calls per task (our --stats counters), a physical reference (one
process_vm_readv copy of every writable mapping of the target), a linear fit
of the CLI's cost against the task count, and pass/fail for the targets of
issue 7.  Every tool's task count is checked against the fixture's own.

--smoke runs one small size and only checks that every tool runs and agrees
on the task count (CTest runs this; it never judges time).

Times: "cmd" is the command alone where it can be separated (inside gdb and
lldb, around the command; CPython's call without interpreter start-up), and
"wall" is the whole process from start to exit.  Targets compare wall times
for the standalone tools and command times inside debuggers (a user of gdb
already has the session open).
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
import pagtest  # noqa: E402

STATS_RE = re.compile(r"read_calls=(\d+) bytes_read=(\d+)")
TIME_RE = re.compile(r"@@T ([0-9.]+)")


def clean_env():
    env = dict(os.environ)
    for k in ("PYTHONHOME", "PYTHONPATH"):
        env.pop(k, None)
    return env


def measure(argv, env=None, timeout=1800, stdin=subprocess.DEVNULL):
    """Run argv; (rc, stdout, stderr, wall seconds, peak RSS KiB)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=stdin,
                             env=env if env is not None else clean_env())
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.005)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (p.returncode, out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"), wall, ru.ru_maxrss)


class Tools:
    def __init__(self, build, version, pid, core, exe, reps):
        self.build, self.version, self.pid, self.core, self.exe = build, version, pid, core, exe
        self.reps = reps
        self.cli = os.path.join(build, "py-async-graph")
        self.gdb_script = os.path.join(build, "gdb", "py-async-graph.py")
        self.lldb_plugin = os.path.join(build, "lldb", "libpy-async-graph-lldb.so")
        self.py = str(pagtest.python_for(version))

    # -- one run of each tool: returns dict(cmd, wall, rss, tasks, calls, bytes, ok, note)
    def cli_run(self, live):
        tgt = [str(self.pid)] if live else ["--core", self.core, "--exe", self.exe]
        rc, out, err, wall, rss = measure([self.cli, "--stats", "-o", "/dev/null"] + tgt)
        m = STATS_RE.search(err)
        return dict(ok=rc == 0, wall=wall, cmd=wall, rss=rss, note=err.strip()[-300:] if rc else "",
                    calls=int(m.group(1)) if m else None, bytes=int(m.group(2)) if m else None)

    def cli_count(self, live):
        tgt = [str(self.pid)] if live else ["--core", self.core, "--exe", self.exe]
        rc, out, err, _, _ = measure([self.cli, "--format", "json"] + tgt)
        if rc != 0:
            return None
        doc = json.loads(out)
        return sum(1 for t in doc["tasks"] if t["kind"] == "task" and t["listed"])

    def gdb_run(self, live, count=False):
        if not shutil.which("gdb"):
            return dict(ok=False, note="gdb missing")
        tgt = ["-p", str(self.pid)] if live else [self.exe, self.core]
        cmd = "py-async-graph --format json" if count else "py-async-graph --stats -o /dev/null"
        argv = ["gdb", "-batch", "-nx", "-iex", "set pagination off", "-iex", "set width 0",
                "-iex", "set debuginfod enabled off"] + tgt + [
                    "-ex", "source " + self.gdb_script,
                    "-ex", "python import time; _t = time.monotonic()",
                    "-ex", "echo @@BEGIN\\n", "-ex", cmd, "-ex", "echo @@END\\n",
                    "-ex", 'python print("@@T %f" % (time.monotonic() - _t))']
        rc, out, err, wall, rss = measure(argv)
        return self._debugger_result(rc, out + err, wall, rss, count)

    def lldb_run(self, live, count=False):
        lldb = shutil.which("lldb-16") or shutil.which("lldb")
        if not lldb:
            return dict(ok=False, note="lldb-16 missing")
        if not os.path.exists(self.lldb_plugin):
            return dict(ok=False, note="n/a (plugin not built: %s)" % self.lldb_plugin)
        tgt = ["-p", str(self.pid)] if live else [self.exe, "-c", self.core]
        cmd = "py-async-graph --format json" if count else "py-async-graph --stats -o /dev/null"
        argv = [lldb, "-b", "--no-lldbinit"] + tgt + [
            "-o", "plugin load " + self.lldb_plugin,
            "-o", "script import time; _t = time.monotonic()",
            "-o", "script print('@@BEGIN')", "-o", cmd, "-o", "script print('@@END')",
            "-o", "script print('@@T %f' % (time.monotonic() - _t))"]
        if live:
            argv += ["-o", "process detach"]
        rc, out, err, wall, rss = measure(argv)
        return self._debugger_result(rc, out + err, wall, rss, count)

    def _debugger_result(self, rc, text, wall, rss, count):
        m = TIME_RE.search(text)
        s = STATS_RE.search(text)
        r = dict(ok=m is not None and "py-async-graph: " not in text.replace("py-async-graph: stats", "")
                 .replace("py-async-graph: warning", ""),
                 wall=wall, cmd=float(m.group(1)) if m else None, rss=rss,
                 calls=int(s.group(1)) if s else None, bytes=int(s.group(2)) if s else None,
                 note="" if m else text.strip()[-300:])
        if count:
            body = text.split("@@BEGIN", 1)[-1].split("@@END", 1)[0]
            try:
                doc = json.loads(body[body.index("{"):body.rindex("}") + 1])
                r["tasks"] = sum(1 for t in doc["tasks"] if t["kind"] == "task" and t["listed"])
            except ValueError:
                r["tasks"] = None
                r["note"] = body.strip()[-300:]
        return r

    def gaab_run(self):
        code = ("import _remote_debugging, time, sys\n"
                "t = time.monotonic()\n"
                "try:\n"
                "    r = _remote_debugging.RemoteUnwinder(%d).get_all_awaited_by()\n"
                "except Exception as e:\n"
                "    print('@@E %%s: %%s' %% (type(e).__name__, e)); sys.exit(3)\n"
                "d = time.monotonic() - t\n"
                "print('@@T %%f' %% d)\n"
                "print('@@N %%d' %% sum(len(x[1]) for x in r))\n" % self.pid)
        rc, out, err, wall, rss = measure([self.py, "-c", code], env=None)
        m = TIME_RE.search(out)
        n = re.search(r"@@N (\d+)", out)
        e = re.search(r"@@E (.*)", out)
        return dict(ok=rc == 0 and m is not None, wall=wall, cmd=float(m.group(1)) if m else None,
                    rss=rss, tasks=int(n.group(1)) if n else None,
                    note=e.group(1) if e else ("" if rc == 0 else (out + err).strip()[-300:]))

    def pstree_run(self):
        rc, out, err, wall, rss = measure([self.py, "-m", "asyncio", "pstree", str(self.pid)],
                                          env=None)
        tasks = len(set(l.split("(T) ", 1)[1] for l in out.splitlines() if "(T) " in l))
        return dict(ok=rc == 0, wall=wall, cmd=wall, rss=rss, tasks=tasks if rc == 0 else None,
                    note="" if rc == 0 else (out + err).strip()[-300:])

    def median_of(self, fn, *a):
        fn(*a)  # warm-up
        runs = [fn(*a) for _ in range(self.reps)]
        ok = [r for r in runs if r.get("ok")]
        if not ok:
            return runs[-1]
        res = dict(ok[0])
        for key in ("wall", "cmd", "rss"):
            vals = [r[key] for r in ok if r.get(key) is not None]
            res[key] = statistics.median(vals) if vals else None
        return res


def heap_copy_seconds(pid):
    """One process_vm_readv copy of every writable mapping (the physical
    floor for reading the whole heap once)."""
    libc = ctypes.CDLL(None, use_errno=True)

    class Iov(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    ranges = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            r, perms = line.split()[:2]
            if perms.startswith("rw"):
                a, b = (int(x, 16) for x in r.split("-"))
                ranges.append((a, b - a))
    chunk = 1 << 20
    buf = ctypes.create_string_buffer(chunk)
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
    return time.monotonic() - t0, total


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


TOOLS = ["cli-live", "cli-core", "gdb-live", "gdb-core", "lldb-live", "lldb-core",
         "cpython-gaab", "cpython-pstree"]


def run_size(args, version, n):
    ready = max(120, n // 2000)
    fx = pagtest.Fixture("many", version, args=("--tasks", str(n)), ready_timeout=ready)
    with fx:
        want = fx.oracle["task_count"]
        exe = os.readlink("/proc/%d/exe" % fx.pid)
        t0 = time.monotonic()
        core = fx.gcore()
        gcore_s = time.monotonic() - t0
        tools = Tools(args.build, version, fx.pid, core, exe, args.reps)
        row = {"version": version, "tasks": want, "pid": fx.pid, "gcore_seconds": gcore_s,
               "core_bytes": os.path.getsize(core), "results": {}}
        heap_s, heap_b = heap_copy_seconds(fx.pid)
        row["heap_copy"] = {"seconds": heap_s, "bytes": heap_b}
        res = row["results"]
        if args.smoke:
            counts = {
                "cli-live": tools.cli_count(True), "cli-core": tools.cli_count(False),
                "gdb-live": tools.gdb_run(True, count=True).get("tasks"),
                "gdb-core": tools.gdb_run(False, count=True).get("tasks"),
                "cpython-gaab": tools.gaab_run().get("tasks"),
                "cpython-pstree": tools.pstree_run().get("tasks"),
            }
            if not args.no_lldb:
                counts["lldb-live"] = tools.lldb_run(True, count=True).get("tasks")
                counts["lldb-core"] = tools.lldb_run(False, count=True).get("tasks")
            for k, v in counts.items():
                res[k] = {"ok": v == want, "tasks": v}
            return row
        res["cli-live"] = tools.median_of(tools.cli_run, True)
        res["cli-core"] = tools.median_of(tools.cli_run, False)
        res["gdb-live"] = tools.median_of(tools.gdb_run, True)
        res["gdb-core"] = tools.median_of(tools.gdb_run, False)
        if args.no_lldb:
            res["lldb-live"] = res["lldb-core"] = {"ok": False, "note": "n/a (--no-lldb)"}
        else:
            res["lldb-live"] = tools.median_of(tools.lldb_run, True)
            res["lldb-core"] = tools.median_of(tools.lldb_run, False)
        if n <= args.cpython_max:
            res["cpython-gaab"] = tools.median_of(tools.gaab_run)
            res["cpython-pstree"] = tools.median_of(tools.pstree_run)
        else:
            res["cpython-gaab"] = res["cpython-pstree"] = {
                "ok": False, "note": "not run above --cpython-max %d" % args.cpython_max}
        for k in ("cli-live", "cli-core"):
            r = res[k]
            if r.get("calls") is not None:
                r["calls_per_task"] = r["calls"] / want
                r["bytes_per_task"] = r["bytes"] / want
        return row


def fmt_s(v):
    return "-" if v is None else ("%.3f" % v if v < 10 else "%.1f" % v)


def report(rows, smoke):
    lines = []
    if smoke:
        lines.append("%-5s %8s  %s" % ("py", "tasks", "  ".join("%s=%s" % (t, "?") for t in [])))
        for row in rows:
            lines.append("%s %d tasks: %s" % (row["version"], row["tasks"], ", ".join(
                "%s %s%s" % (k, v.get("tasks"), "" if v["ok"] else " MISMATCH")
                for k, v in row["results"].items())))
        return "\n".join(lines[1:])
    hdr = "%-5s %9s  %-15s %9s %9s %9s %12s %12s  %s" % (
        "py", "tasks", "tool", "cmd s", "wall s", "RSS MiB", "calls/task", "bytes/task", "note")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for row in rows:
        for k in TOOLS:
            r = row["results"].get(k, {})
            lines.append("%-5s %9d  %-15s %9s %9s %9s %12s %12s  %s" % (
                row["version"], row["tasks"], k, fmt_s(r.get("cmd")) if r.get("ok") else "-",
                fmt_s(r.get("wall")) if r.get("ok") else "-",
                "%.0f" % (r["rss"] / 1024) if r.get("ok") and r.get("rss") else "-",
                "%.4f" % r["calls_per_task"] if r.get("calls_per_task") is not None else "-",
                "%.0f" % r["bytes_per_task"] if r.get("bytes_per_task") is not None else "-",
                "" if r.get("ok") else r.get("note", "failed")))
        hc = row["heap_copy"]
        lines.append("%-5s %9d  %-15s %9s %9s  (%.0f MiB writable, one process_vm_readv pass)" % (
            row["version"], row["tasks"], "heap-copy", fmt_s(hc["seconds"]), "", hc["bytes"] / 2**20))
    return "\n".join(lines)


def targets(rows):
    out = []

    def get(ver, n, tool):
        for row in rows:
            if row["version"] == ver and row["tasks"] == n:
                return row["results"].get(tool, {})
        return None

    for ver in sorted({r["version"] for r in rows}):
        sizes = sorted(r["tasks"] for r in rows if r["version"] == ver)
        n10k = min(sizes, key=lambda s: abs(s - 10000))
        n1m = max(sizes)
        cli, gaab = get(ver, n10k, "cli-live"), get(ver, n10k, "cpython-gaab")
        if cli and gaab and cli.get("ok") and gaab.get("ok"):
            ratio = gaab["cmd"] / cli["wall"]
            out.append(("%s: CLI live at %d tasks >= 10x faster than get_all_awaited_by" % (ver, n10k),
                        ratio >= 10, "%.1fx (%.3f s vs %.3f s)" % (ratio, cli["wall"], gaab["cmd"])))
        if n1m >= 1000000:
            r = get(ver, n1m, "cli-live")
            if r and r.get("ok"):
                out.append(("%s: CLI live at %d tasks < 3 s wall" % (ver, n1m), r["wall"] < 3,
                            "%.2f s" % r["wall"]))
                out.append(("%s: CLI live at %d tasks < 1 GiB peak RSS" % (ver, n1m),
                            r["rss"] < 1 << 20, "%.0f MiB" % (r["rss"] / 1024)))
            r = get(ver, n1m, "cli-core")
            if r and r.get("ok"):
                out.append(("%s: CLI core at %d tasks < 3 s" % (ver, n1m), r["wall"] < 3,
                            "%.2f s" % r["wall"]))
            live = get(ver, n1m, "cli-live")
            if r and r.get("ok") and live and live.get("ok"):
                out.append(("%s: CLI core within 2x of live at %d tasks" % (ver, n1m),
                            r["wall"] <= 2 * live["wall"], "%.2f s vs %.2f s" % (r["wall"], live["wall"])))
        ps = get(ver, n10k, "cpython-pstree")
        for tool in ("gdb-live", "gdb-core", "lldb-live", "lldb-core"):
            r = get(ver, n10k, tool)
            if r and r.get("ok") and ps and ps.get("ok"):
                out.append(("%s: %s at %d tasks no slower than pstree" % (ver, tool, n10k),
                            r["cmd"] <= ps["wall"], "%.3f s (command; session %.2f s) vs %.3f s" % (
                                r["cmd"], r["wall"], ps["wall"])))
            elif r is not None:
                out.append(("%s: %s at %d tasks no slower than pstree" % (ver, tool, n10k), False,
                            "not measured: %s" % (r.get("note") or "failed")))
        pts = [(row["tasks"], row["results"]["cli-live"]["wall"]) for row in rows
               if row["version"] == ver and row["results"].get("cli-live", {}).get("ok")]
        f = fit(pts)
        if f:
            a, b, r2 = f
            out.append(("%s: CLI live cost linear in tasks" % ver, r2 >= 0.98,
                        "%.2f us/task + %.3f s, R^2 = %.4f" % (b * 1e6, a, r2)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--versions", default="3.14,3.15")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--json", default=None, help="write the results here")
    ap.add_argument("--cpython-max", type=int, default=200000,
                    help="largest task count to run CPython's tools on (default 200000)")
    ap.add_argument("--no-lldb", action="store_true", help="leave the LLDB rows out")
    ap.add_argument("--smoke", action="store_true",
                    help="one small size; check that every tool runs and agrees on the task count")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    if args.smoke and args.sizes == ap.get_default("sizes"):
        args.sizes = "1000"
    rows = []
    for ver in args.versions.split(","):
        for n in (int(x) for x in args.sizes.split(",")):
            print("bench: %s, %d tasks ..." % (ver, n), file=sys.stderr, flush=True)
            rows.append(run_size(args, ver, n))
    print(report(rows, args.smoke))
    ok = True
    if args.smoke:
        for row in rows:
            for k, v in row["results"].items():
                if not v["ok"]:
                    ok = False
                    print("FAIL %s %d: %s counted %s tasks, the fixture has %d" % (
                        row["version"], row["tasks"], k, v.get("tasks"), row["tasks"]))
    else:
        print()
        for what, good, detail in targets(rows):
            print("%s  %s: %s" % ("PASS" if good else "FAIL", what, detail))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"argv": sys.argv, "rows": rows,
                       "targets": [] if args.smoke else
                       [{"what": w, "pass": g, "detail": d} for w, g, d in targets(rows)]},
                      f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
