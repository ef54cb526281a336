# Helpers for the gdb frontend tests: run real gdb (13, embedded Python 3.11)
# on a real fixture process or its gcore core, with build/gdb/py-async-graph.py
# sourced, and cut each command's output out of gdb's chatter with echo markers.
#
# gdb never gets PYTHONHOME/PYTHONPATH: it embeds its own Python, and a
# target's PYTHONHOME would break it.  Only pagtest's target wrappers set one.

import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

try:
    import pagtest  # noqa: E402  (tests/lib/pagtest.py)
except ImportError as _e:  # the fixture helper is missing: only target-free tests can run
    pagtest = None
    _pagtest_error = str(_e)

SKIP = 77
FORMATS = ["tree", "table", "graph", "json", "dot", "tasks"]


def build_dir():
    if os.environ.get("PAG_BUILD_DIR"):
        return os.environ["PAG_BUILD_DIR"]
    if pagtest is None:
        fail("set PAG_BUILD_DIR (tests/lib/pagtest.py not importable: %s)" % _pagtest_error)
    return str(pagtest.BUILD_DIR)


def script_path():
    return os.path.join(build_dir(), "gdb", "py-async-graph.py")


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def run_main(main):
    """Run a driver's main(); a missing interpreter is a skip, with the reason."""
    try:
        main()
    except FileNotFoundError as e:
        if "fetch-pythons" in str(e) or "python3." in str(e):
            skip("interpreter not available: %s" % e)
        raise


def fail(why):
    print("FAIL: " + why, flush=True)
    sys.exit(1)


def gdb_env():
    env = dict(os.environ)
    for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PAG_CORE_LIB"):
        env.pop(k, None)
    env.setdefault("LC_ALL", "C.UTF-8")
    return env


def gdb_exe():
    if os.environ.get("PAG_GDB_SANITIZED"):
        skip("PAG_SANITIZE build: the ASan-instrumented core library cannot be loaded into gdb")
    g = shutil.which("gdb")
    if not g:
        skip("gdb is not installed")
    return g


def run_gdb(target_args, commands, source=True, timeout=600, script=None):
    """Run gdb -batch -nx TARGET_ARGS with each (label, command) between
    '@@BEGIN label' / '@@END label' markers.  Returns (sections, full_text):
    sections maps label -> the text printed between its markers (stdout and
    stderr, in order)."""
    argv = [gdb_exe(), "-batch", "-nx",
            "-iex", "set pagination off", "-iex", "set width 0", "-iex", "set height 0",
            "-iex", "set confirm off", "-iex", "set debuginfod enabled off"]
    argv += list(target_args)
    if source:
        argv += ["-ex", "source " + (script or script_path())]
    for label, cmd in commands:
        argv += ["-ex", "echo @@BEGIN %s\\n" % label]
        argv += ["-ex", cmd]
        argv += ["-ex", "echo @@END %s\\n" % label]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=gdb_env(), timeout=timeout)
    # surrogateescape: bytes that are not UTF-8 (a task name's original
    # bytes) compare as they are, with run_cli's the same way.
    text = p.stdout.decode("utf-8", "surrogateescape")
    if "ptrace: Operation not permitted" in text:
        skip("gdb may not ptrace here (ptrace: Operation not permitted): " +
             "needs root or CAP_SYS_PTRACE and kernel.yama.ptrace_scope <= 1")
    sections = {}
    pos = 0
    for label, _ in commands:
        begin = "@@BEGIN %s\n" % label
        i = text.find(begin, pos)
        if i < 0:
            continue
        i += len(begin)
        # The end marker may follow output that lacks a final newline.
        j = text.find("@@END %s\n" % label, i)
        if j < 0:
            continue
        sections[label] = text[i:j]
        pos = j
    return sections, text


def run_cli(args, timeout=300):
    """The standalone CLI on the same target: (rc, stdout, stderr)."""
    cli = os.path.join(build_dir(), "py-async-graph")
    if not os.path.exists(cli):
        try:
            cli = str(pagtest.cli_path())
        except Exception:
            pass
    if not os.path.exists(cli):
        fail("the CLI is not built: " + cli)
    p = subprocess.run([cli] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return (p.returncode, p.stdout.decode("utf-8", "surrogateescape"),
            p.stderr.decode("utf-8", "surrogateescape"))


def strip_json(text):
    """A JSON document without the keys that legitimately differ between
    frontends ("source": how the target was reached; "stats": read counters)."""
    doc = json.loads(text)
    if isinstance(doc, dict):
        doc.pop("source", None)
        doc.pop("stats", None)
    return doc


def diff(a, b, la="expected", lb="got"):
    import difflib
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), la, lb, n=2))


class Checker:
    """Collects failures so one run reports every mismatch."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passes = 0

    def eq(self, what, expected, got):
        if expected == got:
            self.passes += 1
            print("ok   %s" % what, flush=True)
            return True
        if isinstance(expected, str) and isinstance(got, str):
            d = diff(expected, got)
        else:
            d = "expected: %r\n     got: %r\n" % (expected, got)
        self.failures.append(what)
        print("FAIL %s\n%s" % (what, d), flush=True)
        return False

    def true(self, what, cond, detail=""):
        if cond:
            self.passes += 1
            print("ok   %s" % what, flush=True)
        else:
            self.failures.append(what)
            print("FAIL %s %s" % (what, detail), flush=True)
        return cond

    def finish(self):
        if self.failures:
            print("%s: %d check(s) failed: %s" % (self.name, len(self.failures),
                                                   ", ".join(self.failures)), flush=True)
            sys.exit(1)
        if self.passes == 0:
            fail("%s: no check ran" % self.name)
        print("%s: all %d checks passed" % (self.name, self.passes), flush=True)
        sys.exit(0)


def is_stats_line(line):
    """A --stats note: the core's "stats: ..." (maybe with the program
    prefix) or the gdb frontend's own "gdb: N read_memory calls" line."""
    return re.match(r"^(py-async-graph: )?stats: |^gdb: \d+ read_memory calls", line) is not None


def exe_of(pid):
    return os.readlink("/proc/%d/exe" % pid)


def one_error_line(section):
    """The lines of a section that failed with one error: (lines, ok)."""
    lines = [l for l in section.splitlines() if l.strip()]
    return lines, len(lines) == 1


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t0


def version_and_mode(**extra):
    """The arguments --version 3.1X and --mode live|core, plus extra
    {option: help} string options (dashes in the attribute names as _)."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--mode", choices=["live", "core"], required=True)
    for opt, hlp in extra.items():
        ap.add_argument("--" + opt, help=hlp)
    return ap.parse_args()


def targets(fx, mode, core_flag=None):
    """(CLI arguments, debugger arguments) naming a fixture's process, or in
    "core" mode a new gcore core of it (the debugger's arguments: EXE
    [core_flag] CORE)."""
    if mode == "live":
        return [str(fx.pid)], ["-p", str(fx.pid)]
    exe, core = exe_of(fx.pid), str(fx.gcore())
    return ["--core", core, "--exe", exe], [exe] + ([core_flag] if core_flag else []) + [core]


def cli_outputs(expect, target_cli, run=None):
    """The CLI's stdout for each label of expect ({label: (debugger command,
    CLI arguments)}); a failing CLI ends the test."""
    out = {}
    for label, (_, args) in expect.items():
        rc, text, err = (run or run_cli)(list(args) + target_cli)
        if rc != 0:
            fail("CLI %s exited %d: %s" % (args, rc, err.strip()))
        out[label] = text
    return out


def same_as_cli(chk, expect, cli, sections, text):
    """Each debugger section prints the CLI's bytes (json: the same document
    without source/stats)."""
    for label, (cmd, args) in expect.items():
        got = sections.get(label)
        if label != "json":
            chk.eq("%s == CLI %s" % (cmd, " ".join(args)), cli[label], got)
            continue
        try:
            same = got is not None and strip_json(got) == strip_json(cli[label])
        except ValueError:
            same = False
        chk.true("%s == CLI (without source/stats)" % cmd, same, "\n" + (got or text[-3000:]))
