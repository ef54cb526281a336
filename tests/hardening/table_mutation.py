"""The table mutation test (issue 18): every field of _Py_DebugOffsets and of
the AsyncioDebug table, in a real core, set to each of 0, 1, its struct
size - 1, the size, size + 1, 2^31, 2^63 and an unaligned value; the CLI, the
ASan+UBSan CLI, valgrind, gdb and lldb read each mutated core.

usage: table_mutation.py --version 3.X --cli CLI --asan ASAN_CLI --fields HELPER
                         [--lane default|slow] [--jobs N]

Why: a crafted offsets table once crashed all three frontends (defect 1: a
str field checked against the wrong size), and the byte-level fuzzer did not
find it.  This test walks the whole table field by field, so a field whose
checks are missing or wrong shows up as a signal, a sanitizer report, a
nondeterministic output or an undocumented exit code.

Pass, for every case:
  - no signal, no hang, no sanitizer or valgrind report;
  - exit 0, 8 (the table fails its checks) or 10 (partial output) -- for the
    header's version field, 6 or 7 (too old / unsupported) or 0 (another 3.X patch level);
  - exactly one stderr line when the exit is not 0, at most one when it is;
  - the same stdout, stderr and exit on two runs of the CLI, and the same
    from the ASan+UBSan build;
  - gdb and lldb survive every case, each failure is one line, and two runs
    of the command give the same text.
The default lane runs every case in the CLI (twice) and the ASan CLI, a
sample in valgrind, gdb and lldb; the slow lane (CTest label `slow`) runs
every case in gdb and lldb, with one CLI run per case to compare them with.

The field list (names, order, which size each field is measured against)
comes from the decoder's own lists in common/src/versions.c, dumped by the
pag-table-fields helper (tests/hardening/table_fields.c); the tables are
found with the CLI's --info, and located in the core file through its ELF
program headers.  A field whose struct has no size in the table (llist_node,
debugger_support, err_stackitem, the header) is measured against the
smallest struct holding it: its own value + 8.

This file is also the driver that runs inside gdb (gdb -x, when `gdb` can be
imported) and inside lldb (command script import; lldb_run).
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from elfcore import file_offset, load_segments  # noqa: E402

MASK = (1 << 64) - 1
FORMATS = ["json", "tree", "table", "graph", "dot", "tasks"]
ALLOWED = {0, 8, 10}
ALLOWED_VERSION = {0, 6, 7}  # near the real version it is still 3.X
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")


def values_for(size):
    """The values a field is set to, for a struct of `size` bytes (deduplicated, in order)."""
    out = []
    for v in (0, 1, size - 1, size, size + 1, 1 << 31, 1 << 63, (size // 2) | 1):
        v &= MASK
        if v not in out:
            out.append(v)
    return out


# ---- the core file ----

def patch(path, off, value):
    with open(path, "r+b") as f:
        f.seek(off)
        f.write(struct.pack("<Q", value))


def make_cases(fields, core, rt_off, as_off):
    """Every (field, value) case: dicts with name, table, file offset, value, allowed exits."""
    cases = []
    with open(core, "rb") as f:
        for table, base, flist in (("runtime", rt_off, fields["header"] + fields["offsets"]),
                                   ("asyncio", as_off, fields["asyncio"])):
            own = fields["offsets"] if table == "runtime" else fields["asyncio"]
            for fl in flist:
                f.seek(base + fl["offset"])
                orig, = struct.unpack("<Q", f.read(8))
                if fl["size_field"] >= 0:
                    f.seek(base + own[fl["size_field"]]["offset"])
                    size, = struct.unpack("<Q", f.read(8))
                else:
                    size = orig + 8
                allowed = ALLOWED_VERSION if fl["name"] == "version" and table == "runtime" else ALLOWED
                for v in values_for(size):
                    cases.append({"name": "%s:%s" % (table, fl["name"]), "off": base + fl["offset"],
                                  "orig": orig, "value": v, "size": size,
                                  "allowed": sorted(allowed),
                                  "format": FORMATS[len(cases) % len(FORMATS)]})
    return cases


# ---- running the CLI ----

def clean_env(leaks=True):
    env = dict(os.environ)
    for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PAG_CORE_LIB"):
        env.pop(k, None)
    env["LC_ALL"] = "C.UTF-8"
    env["ASAN_OPTIONS"] = "detect_leaks=%d:abort_on_error=0" % leaks
    env["UBSAN_OPTIONS"] = "print_stacktrace=1"
    return env


def run(argv, timeout=120, leaks=True):
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout, env=clean_env(leaks),
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, b"", b"TIMEOUT"
    return p.returncode, p.stdout, p.stderr


def stderr_lines(err):
    return [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]


def judge(case, rc, out, err, what):
    """The reasons a run of a case fails (empty: it passes)."""
    bad = []
    if rc is None:
        return ["%s: hangs" % what]
    if rc < 0:
        bad.append("%s: killed by signal %d" % (what, -rc))
    elif rc not in case["allowed"]:
        bad.append("%s: exit %d (allowed: %s): %s" % (what, rc, case["allowed"],
                                                      err.decode("utf-8", "replace").strip()[:300]))
    n = len(stderr_lines(err))
    if (rc != 0 and n != 1) or (rc == 0 and n > 1):
        bad.append("%s: %d stderr lines (exit %s): %r" % (what, n, rc, err[:400]))
    return bad


class Runner:
    def __init__(self, a, core, exe, d):
        self.a, self.core, self.exe, self.d = a, core, exe, d
        self.failures, self.results = [], {}
        self.lock = threading.Lock()

    def fail(self, msgs):
        with self.lock:
            for m in msgs:
                self.failures.append(m)
                print("FAIL:", m, flush=True)

    def one(self, path, i, case, valgrind):
        args = ["--core", path, "--exe", self.exe, "--format", case["format"]]
        what = "%s=%#x (%s)" % (case["name"], case["value"], case["format"])
        r1 = run([self.a.cli] + args)
        bad = judge(case, *r1, what=what)
        if self.a.lane == "slow":  # the CLI checks are the default lane's; here, what gdb
            self.done(i, r1, bad)  # and lldb are compared with
            return
        r2 = run([self.a.cli] + args)
        if r1 != r2:
            bad.append("%s: two runs differ: exit %s/%s, stderr %r / %r" %
                       (what, r1[0], r2[0], r1[2][:200], r2[2][:200]))
        # LeakSanitizer stops the world at exit, a third of the ASan run's
        # cost: every 4th case (and valgrind's sample) looks for leaks.
        ra = run([self.a.asan] + args, timeout=300, leaks=i % 4 == 0)
        if ra[0] is None or SANITIZER.search(ra[2].decode("utf-8", "replace")):
            bad.append("%s: ASan/UBSan: %s" % (what, ra[2].decode("utf-8", "replace")[:1500]))
        elif ra != r1:
            bad.append("%s: the ASan build says otherwise: exit %s/%s, stderr %r / %r" %
                       (what, r1[0], ra[0], r1[2][:200], ra[2][:200]))
        if valgrind:
            rv = run(["valgrind", "-q", "--error-exitcode=99", "--track-origins=yes",
                      "--leak-check=full", "--errors-for-leak-kinds=definite",
                      self.a.cli] + args, timeout=600)
            if rv[0] == 99 or rv[0] is None or re.search(rb"^==\d+==", rv[2], re.M):
                bad.append("%s: valgrind: %s" % (what, rv[2].decode("utf-8", "replace")[:1500]))
            elif (rv[0], rv[1]) != (r1[0], r1[1]):
                bad.append("%s: under valgrind exit %s, not %s" % (what, rv[0], r1[0]))
        self.done(i, r1, bad)

    def done(self, i, r1, bad):
        with self.lock:
            self.results[i] = (r1[0], r1[2].decode("utf-8", "replace").strip())
            if len(self.results) % 100 == 0:
                print("... %d cases" % len(self.results), flush=True)
        if bad:
            self.fail(bad)

    def worker(self, k, items, every):
        path = os.path.join(self.d, "mut%d" % k)
        shutil.copyfile(self.core, path)
        for i, case in items:
            patch(path, case["off"], case["value"])
            try:
                self.one(path, i, case, every and i % every == 0)
            finally:
                patch(path, case["off"], case["orig"])
        os.unlink(path)

    def run_all(self, cases, jobs, valgrind_every):
        items = list(enumerate(cases))
        ts = [threading.Thread(target=self.worker, args=(k, items[k::jobs], valgrind_every))
              for k in range(jobs)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


# ---- the debuggers: this file is their driver too ----

def write_case(base, path, case):
    shutil.copyfile(base, path)
    patch(path, case["off"], case["value"])


def gdb_driver(spec_path):
    """Inside gdb: read each case's core twice with py-async-graph."""
    import gdb  # noqa: F401  (only inside gdb)
    spec = json.load(open(spec_path))
    results = []
    path = os.path.join(spec["dir"], "gdbcase")
    for case in spec["cases"]:
        write_case(spec["core"], path, case)
        runs = []
        try:
            gdb.execute("core-file " + path, to_string=True)
        except gdb.error as e:
            runs.append(["gdb refused the core", str(e)])
        for _ in range(2):
            try:
                out = gdb.execute("py-async-graph --format " + case["format"], to_string=True)
                runs.append(["ok", out])
            except gdb.error as e:
                runs.append(["error", str(e)])
        results.append(runs)
        os.unlink(path)
    with open(spec["out"], "w") as f:
        json.dump(results, f)


def lldb_run(spec_path):
    """Inside lldb: load each case's core in a new target, run the command twice."""
    import lldb  # noqa: F401  (only inside lldb)
    dbg = lldb.debugger
    spec = json.load(open(spec_path))
    results = []
    path = os.path.join(spec["dir"], "lldbcase")
    ci = dbg.GetCommandInterpreter()
    for case in spec["cases"]:
        write_case(spec["core"], path, case)
        target = dbg.CreateTarget(spec["exe"])
        runs = []
        process = target.LoadCore(path) if target.IsValid() else None
        if not process or not process.IsValid():
            runs.append(["lldb refused the core", ""])
        else:
            dbg.SetSelectedTarget(target)
            for _ in range(2):
                res = lldb.SBCommandReturnObject()
                ci.HandleCommand("py-async-graph --format " + case["format"], res)
                runs.append(["ok" if res.Succeeded() else "error",
                             (res.GetOutput() or "") + "\x00" + (res.GetError() or "")])
        dbg.DeleteTarget(target)
        results.append(runs)
        os.unlink(path)
    with open(spec["out"], "w") as f:
        json.dump(results, f)


def judge_debugger(name, cases, results, cli_results):
    """The reasons the debugger runs fail."""
    bad = []
    if results is None or len(results) != len(cases):
        return ["%s: did not finish every case (%s of %d): it crashed or hung" %
                (name, "none" if results is None else len(results), len(cases))]
    for case, runs, (cli_rc, cli_err) in zip(cases, results, cli_results):
        what = "%s: %s=%#x" % (name, case["name"], case["value"])
        if runs and "refused" in runs[0][0]:
            # 8 bytes of data changed: the debugger must still load the core
            bad.append("%s: %s: %r" % (what, runs[0][0], runs[0][1][:300]))
            continue
        if len(runs) != 2 or runs[0] != runs[1]:
            bad.append("%s: two runs differ: %r" % (what, [r[1][:200] for r in runs]))
            continue
        kind, text = runs[0]
        if kind == "error":
            lines = [ln for ln in text.replace("\x00", "\n").splitlines() if ln.strip()]
            if len(lines) != 1:
                bad.append("%s: the error is %d lines: %r" % (what, len(lines), text[:300]))
            if cli_rc == 0:
                bad.append("%s: fails where the CLI succeeds: %r" % (what, text[:300]))
        for sign in ("internal to GDB", "PLEASE submit a bug report", "Traceback"):
            if sign in text:
                bad.append("%s: %r in the output" % (what, sign))
    return bad


def run_gdb(a, core, exe, d, cases):
    script = os.path.join(os.path.dirname(os.path.abspath(a.cli)), "gdb", "py-async-graph.py")
    spec = {"core": core, "exe": exe, "dir": d, "cases": cases, "out": os.path.join(d, "gdb.json")}
    sp = os.path.join(d, "gdb-spec.json")
    json.dump(spec, open(sp, "w"))
    env = clean_env()
    env["PAG_MUTATION_SPEC"] = sp
    argv = ["gdb", "-batch", "-nx", "-iex", "set pagination off", "-iex", "set confirm off",
            "-iex", "set debuginfod enabled off", exe, "-ex", "source " + script,
            "-x", os.path.abspath(__file__)]
    p = subprocess.run(argv, capture_output=True, env=env, timeout=7200, stdin=subprocess.DEVNULL)
    try:
        return json.load(open(spec["out"]))
    except (OSError, ValueError):
        print("gdb exit %s:\n%s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-3000:]))
        return None


def run_lldb(a, core, exe, d, cases):
    plugin = os.path.join(os.path.dirname(os.path.abspath(a.cli)), "lldb", "libpy-async-graph-lldb.so")
    spec = {"core": core, "exe": exe, "dir": d, "cases": cases, "out": os.path.join(d, "lldb.json")}
    sp = os.path.join(d, "lldb-spec.json")
    json.dump(spec, open(sp, "w"))
    here = os.path.dirname(os.path.abspath(__file__))
    argv = ["lldb-16", "-b", "--no-lldbinit", "-o", "plugin load " + plugin,
            "-o", "script import sys; sys.path.insert(0, %r); import table_mutation" % here,
            "-o", "script table_mutation.lldb_run(%r)" % sp]
    p = subprocess.run(argv, capture_output=True, env=clean_env(), timeout=7200,
                       stdin=subprocess.DEVNULL)
    try:
        return json.load(open(spec["out"]))
    except (OSError, ValueError):
        print("lldb exit %s:\n%s" % (p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")[-3000:]))
        return None


# ---- main ----

def locate(a, core, exe):
    """_PyRuntime and AsyncioDebug addresses, from the CLI's --info on the intact core."""
    rc, out, err = run([a.cli, "--core", core, "--exe", exe, "--info"])
    text = out.decode()
    rt = re.search(r"^_PyRuntime: (0x[0-9a-f]+)", text, re.M)
    ad = re.search(r"^AsyncioDebug: (0x[0-9a-f]+)", text, re.M)
    if rc != 0 or not rt or not ad:
        raise SystemExit("FAIL: --info on the intact core (exit %s): %s %s" % (rc, text, err))
    return int(rt.group(1), 16), int(ad.group(1), 16)


def sample(cases, n):
    """n cases spread over the list (every field group gets some)."""
    if n >= len(cases):
        return list(range(len(cases)))
    step = len(cases) / n
    return sorted({int(i * step) for i in range(n)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--asan", required=True)
    ap.add_argument("--fields", required=True, help="the pag-table-fields helper")
    ap.add_argument("--lane", choices=["default", "slow"], default="default")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--debugger-sample", type=int, default=24)
    ap.add_argument("--valgrind-every", type=int, default=0,
                    help="valgrind every Nth case (default: 12 cases per version)")
    ap.add_argument("--only", help="a regular expression: only the fields it matches (by hand)")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import pagtest
    t0 = time.monotonic()
    p = subprocess.run([a.fields, a.version], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("FAIL: %s %s: %s" % (a.fields, a.version, p.stderr))
    fields = json.loads(p.stdout)
    for x in (a.cli, a.asan):
        if not os.access(x, os.X_OK):
            raise SystemExit("FAIL: %s is not built" % x)
    with tempfile.TemporaryDirectory(prefix="pag-mutation-") as d:
        with pagtest.Fixture("basic", a.version) as fx:
            exe = os.readlink("/proc/%d/exe" % fx.pid)
            core = fx.gcore(os.path.join(d, "core"))
        rt, ad = locate(a, core, exe)
        segs = load_segments(core)
        n_rt = 24 + 8 * len(fields["offsets"])
        rt_off, as_off = file_offset(segs, rt, n_rt), file_offset(segs, ad, 8 * len(fields["asyncio"]))
        if rt_off is None or as_off is None:
            raise SystemExit("FAIL: the tables are not inside the core's PT_LOAD segments "
                             "(runtime %#x -> %s, AsyncioDebug %#x -> %s)" % (rt, rt_off, ad, as_off))
        base = run([a.cli, "--core", core, "--exe", exe])
        if base[0] != 0:
            raise SystemExit("FAIL: the intact core does not read: %r" % (base,))
        cases = make_cases(fields, core, rt_off, as_off)
        if a.only:
            cases = [c for c in cases if re.search(a.only, c["name"])]
        n_fields = len(fields["header"]) + len(fields["offsets"]) + len(fields["asyncio"])
        print("%s: %d fields, %d cases (lane %s)" % (a.version, n_fields, len(cases), a.lane),
              flush=True)
        r = Runner(a, core, exe, d)
        every = a.valgrind_every or max(1, len(cases) // 12)
        if a.lane == "slow":
            every = a.valgrind_every or 10
        r.run_all(cases, a.jobs, every)
        t_cli = time.monotonic() - t0
        cli_results = [r.results.get(i, (None, "")) for i in range(len(cases))]
        codes = {}
        for rc, _ in cli_results:
            codes[rc] = codes.get(rc, 0) + 1
        print("CLI: %d cases, exits %s, %.0f s" % (len(cases), dict(sorted(codes.items(), key=str)),
                                                    t_cli), flush=True)
        idx = sample(cases, a.debugger_sample) if a.lane == "default" else list(range(len(cases)))
        sub = [cases[i] for i in idx]
        sub_cli = [cli_results[i] for i in idx]
        for name, fn in (("gdb", run_gdb), ("lldb", run_lldb)):
            t1 = time.monotonic()
            res = fn(a, core, exe, d, sub)
            bad = judge_debugger(name, sub, res, sub_cli)
            r.fail(bad)
            print("%s: %d cases, %d failures, %.0f s" % (name, len(sub), len(bad),
                                                         time.monotonic() - t1), flush=True)
    print("total %.0f s" % (time.monotonic() - t0))
    if r.failures:
        print("%d failed" % len(r.failures))
        sys.exit(1)
    print("table mutation %s (%s lane): %d cases, 0 signals, 0 nondeterministic outputs, "
          "all checks passed" % (a.version, a.lane, len(cases)))


if __name__ == "__main__":
    try:
        import gdb  # noqa: F401
        gdb_driver(os.environ["PAG_MUTATION_SPEC"])
    except ImportError:
        main()
