#!/usr/bin/env python3
"""Byte-identical output of two builds (issue 13's acceptance: the refactored
tree prints exactly what the tree before it printed).

usage: compare_builds.py --old DIR --new DIR [--version 3.14 ...]
       compare_builds.py --baseline [COMMIT] --new DIR [--version 3.14 ...]

--old/--new are build directories (each with py-async-graph,
gdb/py-async-graph.py and lldb/libpy-async-graph-lldb.so).  --baseline builds
the pinned pre-refactor commit instead (tests/compat/baseline.py; cached
under ~/.cache/py-async-graph/baseline-<commit>/).

For every fixture the other tests start (tests/cli/live_fixture.py and
core_fixture.py: the same names, flavours and arguments, default sizes) and
every version, ONE fixture process is started and ONE gcore core is made of
it; then the old and the new CLI run against that same live process (default
stop mode) and that same core, one after the other, for every output format
both builds list under "--format FMT" in --help (a format only the new build
has is noted; one the new build lost is a failure) and these option sets:

    none, --running, --task NAME (a name from the fixture's oracle),
    --thread TID (a thread of the oracle), --limit 1, --depth 1, --stats

stdout must be identical byte for byte, stderr line for line, and the exit
codes equal.  With --stats the read counters (read_calls=, bytes_read=,
cache_hits= and the debuggers' own counter lines) are masked on stderr --
they describe how the target was read, not what it holds; so are the
numbers of the JSON "stats" object on stdout (its keys and place are
compared): since issue 14 a loop thread with no running task is read a
little further, to see whether it is stuck in a callback.

The same is done through gdb (gdb -batch, each build's gdb/py-async-graph.py)
and lldb-16 (lldb -b, each build's plugin) for --debugger-fixtures (default
basic, basic-shared -- libpython3.X.so --, blocked -- a running task -- and
deadlock -- a cycle), live and on the core: every format and option set,
plus py-async-tasks and py-async-bt, one debugger session per build and
target.

The one intended difference allowed, and only it: the gdb frontend's JSON
"source" member.  The pre-refactor gdb script wrote it with Python's
json.dumps (", " / ": " separators); the refactor has the core write it from
plain fields (common/include/pag/command.h, pag_source_t), so its whitespace
may change.  It is compared parsed (same keys and values), and every other
byte of the JSON document exactly.

A live process could in principle change between the old and the new run.
Any difference is therefore re-checked with a second pair of runs; it is
only forgiven when the OLD build's two runs differ from each other (the
target moved) and the second old and new runs agree.  Every difference is
printed with a unified-diff excerpt.  Exit status 0 only when at least one
comparison ran and none differed; anything that prevents comparing (no
baseline, no interpreter, no gdb, a fixture that does not start) is a
failure with its reason, never a skip.

Not compared: fixtures/churn.py (tests/hardening/nostop_churn.py: its tasks
change all the time by design, so two runs never see the same graph) and
fixtures/demo_service.py (the docs demo: its loopback clients and health job
keep running).
"""

import argparse
import collections
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "lib"))
sys.path.insert(0, HERE)
import pagtest  # noqa: E402
import baseline  # noqa: E402

LLDB_PROBE = os.path.join(TESTS, "lldb", "lldbprobe.py")

# (label, fixture, flavour as pagtest's dbg argument, fixture args): what
# tests/cli.cmake and tests/core.cmake run live_fixture.py / core_fixture.py
# on, at the fixtures' own default sizes (fanin 5,002 tasks, many 1,000).
FIXTURES = [
    ("basic", "basic", False, ()),
    ("basic-dbg", "basic", True, ()),
    ("basic-shared", "basic", "shared", ()),
    ("unicode", "unicode", False, ()),
    ("threads", "threads", False, ()),
    ("blocked", "blocked", False, ()),
    ("deadlock", "deadlock", False, ()),
    ("subinterp", "subinterp", False, ()),
    ("fanin", "fanin", False, ()),
    ("many", "many", False, ()),
]
DEBUGGER_FIXTURES = "basic,basic-shared,blocked,deadlock"

STATS_COUNTERS = re.compile(r"\b(read_calls|bytes_read|cache_hits)=\d+")
FRONTEND_STATS = re.compile(r"^(gdb: \d+ read_memory calls|lldb: \d+ ReadMemory calls)")


class Report:
    def __init__(self):
        self.compared = 0
        self.differences = []  # (what, text)
        self.errors = []       # could not compare
        self.notes = []
        self.allowed = []  # the one allowed difference (gdb's JSON source whitespace)

    def same(self, what):
        self.compared += 1

    def differ(self, what, text):
        self.compared += 1
        self.differences.append(what)
        print("DIFF %s\n%s" % (what, text.rstrip("\n")), flush=True)

    def error(self, what):
        self.errors.append(what)
        print("FAIL %s" % what, flush=True)

    def note(self, what):
        if what not in self.notes:
            self.notes.append(what)
            print("NOTE " + what, flush=True)


# ---- running things -------------------------------------------------------

def run_bytes(argv, timeout=300, env=None):
    """(rc, stdout bytes, stderr bytes); its own process group, killed on timeout."""
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = p.communicate()
        return -999, out, err + b"\nTIMEOUT after %ds" % timeout
    except BaseException:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
        p.wait()
        raise
    return p.returncode, out, err


def help_formats(cli):
    """The format names listed under "--format FMT" in `cli --help`: the
    first word at the column where the first format name starts, on that
    line and the lines after it up to the next option."""
    rc, out, err = run_bytes([cli, "--help"], timeout=60)
    text = out.decode("utf-8", "replace")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.search(r"--format FMT(\s+|$)", line)
        if not m:
            continue
        col, first = m.end(), i
        if m.end() == len(line) and i + 1 < len(lines):
            # the list starts on the next line (one help line per format row)
            first = i + 1
            col = len(lines[first]) - len(lines[first].lstrip())
        names = []
        for j, l in enumerate(lines[first:]):
            if j and (not l.strip() or l.lstrip().startswith("-")):
                break
            body = l[col:] if len(l) > col else ""
            if j and l[:col].strip():
                break
            if body[:1].isspace():  # a wrapped description, deeper indented
                continue
            w = body.split(None, 1)
            if w and re.fullmatch(r"[a-z][a-z0-9_-]*", w[0]):
                names.append(w[0])
        if names:
            return names
    raise RuntimeError("no \"--format FMT\" list in `%s --help` (exit %s):\n%s%s" % (
        cli, rc, text[-2000:], err.decode("utf-8", "replace")[-1000:]))


# ---- comparing -------------------------------------------------------------

def _show(b):
    return b.decode("utf-8", "surrogateescape").encode("utf-8", "backslashreplace").decode()


def diff_excerpt(a, b, la, lb, limit=60):
    """A unified diff of two byte strings, at most `limit` lines; when the
    lines are equal but the bytes are not (line endings, a missing final
    newline), the first differing offset with the bytes around it."""
    al = [_show(x) for x in a.splitlines(True)]
    bl = [_show(x) for x in b.splitlines(True)]
    d = list(difflib.unified_diff(al, bl, la, lb, n=2))
    if not d or all(l.startswith(("---", "+++", "@@")) for l in d) or al == bl:
        i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
        return "  first difference at byte %d: %s: %r / %s: %r\n" % (
            i, la, a[max(0, i - 20):i + 20], lb, b[max(0, i - 20):i + 20])
    out = []
    for l in d[:limit]:
        out.append("  " + (l if l.endswith("\n") else l + "\n  \\ No newline at end of file\n"))
    if len(d) > limit:
        out.append("  [... %d more diff lines]\n" % (len(d) - limit))
    return "".join(out)


JSON_STATS = re.compile(rb'"(read_calls|bytes_read|cache_hits)": \d+')


def mask_stats(text):
    """Read counters masked, for the --stats option set (see the docstring)."""
    lines = []
    for l in text.splitlines():
        l = STATS_COUNTERS.sub(r"\1=N", l)
        if FRONTEND_STATS.match(l):
            l = re.sub(r"\d+", "N", l)
        lines.append(l)
    return lines


def json_members(text):
    """[(key, start, end)] of the top-level members' VALUES of a JSON object
    text, or None if it is not one."""
    dec = json.JSONDecoder()
    ws = re.compile(r"[ \t\n\r]*")
    i = ws.match(text, 0).end()
    if text[i:i + 1] != "{":
        return None
    i += 1
    out = []
    try:
        while True:
            i = ws.match(text, i).end()
            if text[i:i + 1] == "}":
                return out
            key, i = dec.raw_decode(text, i)
            i = ws.match(text, i).end()
            if text[i:i + 1] != ":":
                return None
            i = ws.match(text, i + 1).end()
            start = i
            _, i = dec.raw_decode(text, i)
            out.append((key, start, i))
            i = ws.match(text, i).end()
            if text[i:i + 1] == ",":
                i += 1
    except ValueError:
        return None


def split_source(b):
    """(JSON bytes with the top-level "source" value cut out, the source
    value parsed) or None when b is not a JSON object with a source."""
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    m = json_members(text)
    if not m:
        return None
    for key, s, e in m:
        if key == "source":
            return (text[:s] + "@SOURCE@" + text[e:]).encode("utf-8"), json.loads(text[s:e])
    return None


# Issue 16 added one note for an ungrouped tree above 1,000 tasks (which
# the baseline cannot print): it is not a difference.
_NOTE = rb"py-async-graph: note: \d+ tasks: --group folds the tree, --format summary counts them"
GROUP_NOTE = [re.compile(rb"(?m)^" + _NOTE + rb"\r?\n"), re.compile(rb"; " + _NOTE),
              re.compile(_NOTE + rb"; "), re.compile(rb"(?m)^" + _NOTE + rb"$")]


def compare_result(old, new, stats=False, gdb_json=False):
    """Differences between two results {rc, out (bytes), err (bytes)}: a list
    of text blocks, empty when they agree."""
    d = []
    old, new = dict(old), dict(new)
    for r in (old, new):
        for k in ("out", "err"):
            for rx in GROUP_NOTE if isinstance(r.get(k), bytes) else ():
                r[k] = rx.sub(b"", r[k])
    if old["rc"] != new["rc"]:
        d.append("  exit/status: old %s, new %s\n" % (old["rc"], new["rc"]))
    o_out, n_out = old["out"], new["out"]
    if stats and old.get("out_is_note"):  # lldb: the note lines are in the output
        o_out = "\n".join(mask_stats(o_out.decode("utf-8", "surrogateescape"))).encode("utf-8", "surrogateescape")
        n_out = "\n".join(mask_stats(n_out.decode("utf-8", "surrogateescape"))).encode("utf-8", "surrogateescape")
    if stats:
        o_out, n_out = (JSON_STATS.sub(rb'"\1": 0', x) if isinstance(x, bytes) else x
                        for x in (o_out, n_out))
    if o_out != n_out:
        so, sn = (split_source(o_out), split_source(n_out)) if gdb_json else (None, None)
        if so and sn and so[0] == sn[0]:
            if so[1] != sn[1]:
                d.append("  json \"source\" differs parsed: old %s, new %s\n" % (
                    json.dumps(so[1]), json.dumps(sn[1])))
            # else: the allowed difference (whitespace of gdb's source object)
        else:
            d.append("  stdout differs:\n" + diff_excerpt(o_out, n_out, "old", "new"))
    eo = old["err"].decode("utf-8", "surrogateescape")
    en = new["err"].decode("utf-8", "surrogateescape")
    lo, ln = (mask_stats(eo), mask_stats(en)) if stats else (eo.splitlines(), en.splitlines())
    if lo != ln:
        d.append("  stderr lines differ%s:\n" % (" (read counters masked)" if stats else "") +
                 diff_excerpt("\n".join(lo).encode() + b"\n", "\n".join(ln).encode() + b"\n",
                              "old", "new"))
    return d


def allowed_source_diff(old, new):
    so, sn = split_source(old["out"]), split_source(new["out"])
    return bool(so and sn and so[0] == sn[0] and so[1] == sn[1] and old["out"] != new["out"])


def judge(rep, what, pair, rerun, stats=False, gdb_json=False, must_print=False):
    """Compare one (old, new) pair; on a difference ask rerun() for a second
    pair and forgive only a target that moved (see the docstring).  With
    must_print (no options), the old build must have succeeded and printed
    something: two empty outputs would agree without showing anything."""
    old, new = pair
    if must_print and not old["out"].strip():
        rep.error("%s: the old build printed nothing (exit/status %s): %s" % (
            what, old["rc"], _show(old["err"][-500:]).strip()))
        return
    d = compare_result(old, new, stats, gdb_json)
    if gdb_json and not d and allowed_source_diff(old, new):
        rep.allowed.append(what)
    if not d:
        rep.same(what)
        return
    old2, new2 = rerun()
    if compare_result(old, old2, stats) and not compare_result(old2, new2, stats, gdb_json):
        rep.note("%s: the target changed between runs (two old runs differ); "
                 "the second old/new pair agrees" % what)
        rep.same(what)
        return
    rep.differ(what, "".join(d))


# ---- choosing options from the oracle ---------------------------------------

def pick_task_name(fx):
    """A task name from the oracle: one that names exactly one task (the one
    with the largest format_call_graph text), plain enough to quote in gdb
    and lldb."""
    tasks = [t for t in fx.oracle.get("tasks", []) if t.get("name")]
    count = collections.Counter(t["name"] for t in tasks)
    safe = [t for t in tasks if count[t["name"]] == 1 and
            re.fullmatch(r"[^'\"\\\s]+", t["name"])]
    pool = safe or tasks
    if not pool:
        return None
    return max(pool, key=lambda t: (len(t.get("graph") or ""), t["name"]))["name"]


def pick_task_id(fx):
    tasks = [t for t in fx.oracle.get("tasks", []) if t.get("id")]
    return tasks[-1]["id"] if tasks else None


def pick_thread(fx):
    """A thread of the oracle's tasks, another than the main one if there is."""
    tids = sorted({t.get("thread") for t in fx.oracle.get("tasks", [])
                   if isinstance(t.get("thread"), int) and t.get("thread")})
    other = [t for t in tids if t != fx.pid]
    return (other or tids or [fx.pid])[0]


def option_sets(fx):
    sets = [("none", []), ("running", ["--running"])]
    name = pick_task_name(fx)
    if name:
        sets.append(("task", ["--task", name]))
    sets += [("thread", ["--thread", str(pick_thread(fx))]), ("limit1", ["--limit", "1"]),
             ("depth1", ["--depth", "1"]), ("stats", ["--stats"])]
    return sets


def quote(a):
    return a if re.fullmatch(r"[A-Za-z0-9_.,:/=+-]+", a) else "'%s'" % a


# ---- the CLI ----------------------------------------------------------------

def compare_cli(rep, tag, builds, target, formats, sets):
    for fmt in formats:
        for sname, opts in sets:
            argv = ["--format", fmt] + opts + target

            def pair():
                r = []
                for b in ("old", "new"):
                    rc, out, err = run_bytes([os.path.join(builds[b], "py-async-graph")] + argv)
                    r.append({"rc": rc, "out": out, "err": err})
                return r
            judge(rep, "%s cli --format %s %s" % (tag, fmt, " ".join(opts) or "(no options)"),
                  pair(), pair, stats=sname == "stats", must_print=sname == "none")


# ---- gdb ----------------------------------------------------------------------

def gdb_session(build, target_args, commands, timeout=600):
    """gdb -batch with build's script; {label: {rc, out, err}} per command:
    stdout and stderr cut at markers written to each stream.  rc is 1 when
    the command raised an error (gdb printed an error line), else 0."""
    argv = ["gdb", "-batch", "-nx", "-iex", "set pagination off", "-iex", "set width 0",
            "-iex", "set height 0", "-iex", "set confirm off",
            "-iex", "set debuginfod enabled off"] + target_args
    argv += ["-ex", "source " + os.path.join(build, "gdb", "py-async-graph.py")]
    for label, cmd in commands:
        mark = "@@%s %s" % ("%s", label)
        argv += ["-ex", "echo %s\\n" % (mark % "BEGIN"),
                 "-ex", "python gdb.write(%r, gdb.STDERR)" % ((mark % "BEGIN") + "\n"),
                 "-ex", cmd,
                 "-ex", "echo %s\\n" % (mark % "END"),
                 "-ex", "python gdb.write(%r, gdb.STDERR)" % ((mark % "END") + "\n")]
    rc, out, err = run_bytes(argv, timeout=timeout, env=_debugger_env())
    res = {}
    for label, _ in commands:
        o = _cut(out, label)
        e = _cut(err, label)
        if o is None or e is None:
            continue
        # gdb.GdbError: gdb prints the message on stderr; the Python
        # command's own notes (--stats, warnings) are written there too.
        failed = any(not l.startswith((b"py-async-graph: stats", b"py-async-graph: warning",
                                       b"gdb: ")) for l in e.splitlines() if l.strip())
        res[label] = {"rc": 1 if failed else 0, "out": o, "err": e}
    return res, out + b"\n--- stderr ---\n" + err


def _cut(data, label):
    b = ("@@BEGIN %s\n" % label).encode()
    i = data.find(b)
    if i < 0:
        return None
    i += len(b)
    j = data.find(("@@END %s\n" % label).encode(), i)
    return None if j < 0 else data[i:j]


def _debugger_env():
    env = pagtest.clean_env()
    env.pop("PAG_CORE_LIB", None)
    env.pop("PAG_LLDB_NO_DIRECT", None)
    return env


# ---- lldb ---------------------------------------------------------------------

def lldb_session(build, target_args, commands, live, timeout=600):
    """lldb-16 -b with build's plugin; every command through tests/lldb's
    lldbprobe (so a failing command does not end the batch): {label: {rc
    (lldb's return status), out, err}}."""
    argv = ["lldb-16", "-b", "--no-lldbinit"] + target_args + [
        "-o", "plugin load " + os.path.join(build, "lldb", "libpy-async-graph-lldb.so"),
        "-o", "command script import " + LLDB_PROBE]
    for label, cmd in commands:
        argv += ["-o", "script lldbprobe.run(%r, %r)" % (label, cmd)]
    if live:
        argv += ["-o", "process detach"]
    rc, out, err = run_bytes(argv, timeout=timeout, env=_debugger_env())
    text = out.decode("utf-8", "surrogateescape")
    res = {}
    for label, _ in commands:
        b = "@@BEGIN %s\n" % label
        i = text.find(b)
        if i < 0:
            continue
        j = text.find("\n@@END %s\n" % label, i)
        if j < 0:
            continue
        try:
            doc = json.loads(text[i + len(b):j])
        except ValueError:
            continue
        res[label] = {"rc": doc.get("status"), "out_is_note": True,
                      "out": doc.get("out", "").encode("utf-8", "surrogateescape"),
                      "err": doc.get("err", "").encode("utf-8", "surrogateescape")}
    return res, out + b"\n--- stderr ---\n" + err


def debugger_commands(fx, formats, sets):
    cmds = []
    for fmt in formats:
        for sname, opts in sets:
            cmds.append(("%s.%s" % (fmt, sname), sname,
                         "py-async-graph --format %s%s" % (fmt, "".join(" " + quote(o) for o in opts))))
    cmds.append(("tasks-cmd", "none", "py-async-tasks"))
    tid = pick_task_id(fx)
    if tid:
        cmds.append(("bt", "none", "py-async-bt %s" % tid))
    return cmds


def compare_debugger(rep, tag, dbg, builds, fx, core, formats, sets):
    cmds = debugger_commands(fx, formats, sets)
    plain = [(label, cmd) for label, _, cmd in cmds]
    for mode in ("live", "core"):
        if dbg == "gdb":
            targ = ["-p", str(fx.pid)] if mode == "live" else [fx.exe, core]

            def session(b, targ=targ):
                return gdb_session(builds[b], targ, plain)
        else:
            targ = ["-p", str(fx.pid)] if mode == "live" else [fx.exe, "-c", core]

            def session(b, targ=targ, mode=mode):
                return lldb_session(builds[b], targ, plain, mode == "live")
        t0 = time.monotonic()
        res = {b: session(b) for b in ("old", "new")}
        print("  %s %s %s: 2 sessions of %d commands in %.1f s" % (
            tag, dbg, mode, len(plain), time.monotonic() - t0), flush=True)
        missing = [b for b in ("old", "new") if not res[b][0]]
        if missing:
            rep.error("%s %s %s: no command output from the %s build's session:\n%s" % (
                tag, dbg, mode, "/".join(missing),
                res[missing[0]][1][-3000:].decode("utf-8", "replace")))
            continue
        second = {}

        def rerun_of(label):
            def rerun():
                if not second:
                    second.update({b: session(b)[0] for b in ("old", "new")})
                return second["old"].get(label), second["new"].get(label)
            return rerun
        for label, sname, cmd in cmds:
            what = "%s %s %s: %s" % (tag, dbg, mode, cmd)
            o, n = res["old"][0].get(label), res["new"][0].get(label)
            if o is None or n is None:
                rep.error("%s: no output marker from the %s build" % (what, "old" if o is None else "new"))
                continue
            r = rerun_of(label)

            def safe_rerun(r=r):
                a, b = r()
                empty = {"rc": None, "out": b"", "err": b""}
                return a or empty, b or empty
            judge(rep, what, (o, n), safe_rerun, stats=sname == "stats",
                  gdb_json=dbg == "gdb" and label.startswith("json."),
                  must_print=sname == "none")


# ---- driving ------------------------------------------------------------------

def check_build(d, lldb):
    need = ["py-async-graph", os.path.join("gdb", "py-async-graph.py")]
    if lldb:
        need.append(os.path.join("lldb", "libpy-async-graph-lldb.so"))
    miss = [n for n in need if not os.path.exists(os.path.join(d, n))]
    if miss:
        raise RuntimeError("build %s lacks %s" % (d, ", ".join(miss)))


def build_type_of(d):
    try:
        with open(os.path.join(d, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    return line.split("=", 1)[1].strip() or "RelWithDebInfo"
    except OSError:
        pass
    return "RelWithDebInfo"


def versions_from(a):
    vs = []
    for v in (a.version or []):
        vs += [x for x in re.split(r"[;,\s]+", v) if x]
    if not vs:
        env = os.environ.get("PAG_COMPAT_VERSIONS", "")
        vs = [x for x in re.split(r"[;,\s]+", env) if x] or list(pagtest.VERSIONS)
    return vs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Example: python3 tests/compat/compare_builds.py "
                                        "--old ~/.cache/py-async-graph/baseline-<hash>/build-RelWithDebInfo "
                                        "--new build --version 3.14")
    ap.add_argument("--old", help="the baseline build directory")
    ap.add_argument("--baseline", nargs="?", const=baseline.BASELINE_COMMIT, default=None,
                    metavar="COMMIT", help="build (or reuse) this commit as --old "
                    "(default commit %s)" % baseline.BASELINE_COMMIT)
    ap.add_argument("--new", default=os.environ.get("PAG_BUILD_DIR"),
                    help="the build under test (default $PAG_BUILD_DIR)")
    ap.add_argument("--version", action="append",
                    help="CPython version(s) (repeat, or a ;/, list; default "
                         "$PAG_COMPAT_VERSIONS, else %s)" % ",".join(pagtest.VERSIONS))
    ap.add_argument("--fixtures", default=",".join(f[0] for f in FIXTURES),
                    help="fixture labels (default all: %(default)s)")
    ap.add_argument("--debugger-fixtures", default=DEBUGGER_FIXTURES,
                    help="fixtures also compared through gdb and lldb (default %(default)s)")
    ap.add_argument("--no-gdb", action="store_true", help="leave gdb out (said in the output)")
    ap.add_argument("--no-lldb", action="store_true", help="leave lldb out (said in the output)")
    a = ap.parse_args()
    t_start = time.monotonic()
    rep = Report()

    def finish():
        print("compat: %d comparisons, %d differ, %d could not be made; %.0f s" % (
            rep.compared, len(rep.differences), len(rep.errors), time.monotonic() - t_start))
        if rep.allowed:
            rep.notes.append("%d gdb JSON output(s) equal except for the whitespace of the "
                             "\"source\" object (the allowed difference), e.g. %s"
                             % (len(rep.allowed), rep.allowed[0]))
        for n in rep.notes:
            print("  note: " + n)
        if rep.differences:
            print("compat: FAIL: outputs differ:")
            for w in rep.differences:
                print("  " + w)
        if rep.errors:
            print("compat: FAIL: could not compare:")
            for w in rep.errors:
                print("  " + w.splitlines()[0])
        if not rep.differences and not rep.errors and rep.compared == 0:
            print("compat: FAIL: nothing was compared")
            return 1
        return 1 if rep.differences or rep.errors else 0

    if not a.new:
        ap.error("--new DIR (or $PAG_BUILD_DIR) is required")
    a.new = os.path.abspath(a.new)
    lldb = not a.no_lldb
    try:
        if a.old is None:
            if a.baseline is None:
                ap.error("give --old DIR or --baseline [COMMIT]")
            a.old = baseline.ensure(a.baseline, build_type_of(a.new), lldb)
        a.old = os.path.abspath(a.old)
        builds = {"old": a.old, "new": a.new}
        for d in builds.values():
            check_build(d, lldb)
    except (baseline.BaselineError, RuntimeError) as e:
        rep.error(str(e))
        return finish()
    print("compat: old %s\ncompat: new %s" % (a.old, a.new), flush=True)
    if a.no_gdb:
        rep.note("gdb left out (--no-gdb)")
    elif not shutil.which("gdb"):
        rep.error("gdb is not installed (apt-get install gdb); --no-gdb leaves it out")
        return finish()
    if a.no_lldb:
        rep.note("lldb left out (--no-lldb)")
    elif not shutil.which("lldb-16"):
        rep.error("lldb-16 is not installed (apt-get install lldb-16); --no-lldb leaves it out")
        return finish()
    try:
        fo, fn = help_formats(os.path.join(a.old, "py-async-graph")), \
            help_formats(os.path.join(a.new, "py-async-graph"))
    except RuntimeError as e:
        rep.error(str(e))
        return finish()
    formats = [f for f in fn if f in fo]
    if set(fn) - set(fo):
        rep.note("formats only in the new build (not compared): %s" % ", ".join(
            f for f in fn if f not in fo))
    for f in fo:
        if f not in fn:
            rep.error("format %r of the old build is gone from the new build's --help" % f)
    print("compat: formats %s" % ", ".join(formats), flush=True)

    want = [x for x in a.fixtures.split(",") if x]
    known = {f[0]: f for f in FIXTURES}
    bad = [x for x in want + [x for x in a.debugger_fixtures.split(",") if x] if x not in known]
    if bad:
        ap.error("unknown fixture(s) %s; known: %s" % (",".join(bad), ",".join(known)))
    dbgs = [d for d, off in (("gdb", a.no_gdb), ("lldb", a.no_lldb)) if not off]
    dbg_fx = {x for x in a.debugger_fixtures.split(",") if x}
    for ver in versions_from(a):
        for label in want:
            _, name, flavour, fargs = known[label]
            tag = "%s/%s" % (label, ver)
            t0 = time.monotonic()
            try:
                with pagtest.Fixture(name, ver, dbg=flavour, args=fargs) as fx:
                    t_ready = time.monotonic() - t0
                    core = fx.gcore()
                    sets = option_sets(fx)
                    n0, d0 = rep.compared, len(rep.differences)
                    compare_cli(rep, tag + " live", builds, [str(fx.pid)], formats, sets)
                    compare_cli(rep, tag + " core", builds, ["--core", core], formats, sets)
                    if label in dbg_fx:
                        for dbg in dbgs:
                            compare_debugger(rep, tag, dbg, builds, fx, core, formats, sets)
                    print("compat: %s: %d comparisons, %d differ (fixture ready in %.1f s, "
                          "%.1f s in all; --task %s, --thread %s)" % (
                              tag, rep.compared - n0, len(rep.differences) - d0, t_ready,
                              time.monotonic() - t0, pick_task_name(fx), pick_thread(fx)),
                          flush=True)
            except (FileNotFoundError, RuntimeError, TimeoutError, KeyError) as e:
                rep.error("%s: cannot compare: %s" % (tag, e))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
