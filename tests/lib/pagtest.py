"""pagtest: the shared test harness (host Python 3.11).

Why: every test area (fixtures, cli, core, gdb, lldb) needs the same things --
a real CPython 3.14/3.15 from ~/.cache/py-async-graph (fetched by
fixtures/fetch-pythons.sh), a fixture process that has published its oracle,
a core of it, CPython's own `python -m asyncio pstree/ps` as a second oracle --
and every one of them must never leak a process or wait without bound.

API:
    SOURCE_DIR, BUILD_DIR, CACHE_DIR, SKIP (=77)
    VERSIONS, TOO_OLD_VERSIONS: the CPython minors read / refused ("3.14", ...),
        from fixtures/python-versions
    python_for(version, dbg=False) -> path of a wrapper (sets PYTHONHOME itself);
        dbg is False, True ("-dbg", the pydebug build) or a flavour name
        ("shared": a PIE stub running libpython3.X.so)
    python_tree(version, dbg=False) -> (real binary, tree root)
    Fixture(name, version, dbg=False, args=(), ready_timeout=None) as fx:
        (dbg as for python_for)
        fx.pid, fx.oracle (dict), fx.oracle_path, fx.exe (real binary), fx.tree,
        fx.gcore(path=None) -> core path (in the fixture's temp dir, removed when
        the Fixture exits, unless `path` is given),
        fx.tasks_by_name() / fx.task(name), fx.alive()
    cpython_tool(version, "pstree"|"ps", pid, timeout=60) -> (rc, stdout, stderr)
    cpython_ps_rows(version, pid) -> (rc, [row dicts] | None, stderr)
    parse_cpython_pstree(text) -> (names, [(parent, child)])
    run(cmd, timeout=120, env=None, input=None) -> (rc, stdout, stderr)
    cli_path(), skip(why), fail(why), clean_env()
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77
SOURCE_DIR = os.path.abspath(os.environ.get(
    "PAG_SOURCE_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")))
BUILD_DIR = os.path.abspath(os.environ.get("PAG_BUILD_DIR",
                                           os.path.join(SOURCE_DIR, "build")))
CACHE_DIR = os.environ.get("PAG_CACHE",
                           os.path.join(os.path.expanduser("~"), ".cache", "py-async-graph"))
FIXTURES_DIR = os.path.join(SOURCE_DIR, "fixtures")


def _py_versions(key):
    """A list of fixtures/python-versions ("supported: 3.14 3.15"): the one
    list the build (PAG_PY_VERSIONS), fetch-pythons.sh and the rows of
    common/src/versions.c agree on.  Found from SOURCE_DIR, so a driver run by
    hand reads it too; no second copy here to go stale."""
    path = os.path.join(FIXTURES_DIR, "python-versions")
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(key + ":"):
                return tuple(line.split(":", 1)[1].split())
    raise RuntimeError("%s has no '%s:' line" % (path, key))


VERSIONS = _py_versions("supported")
TOO_OLD_VERSIONS = _py_versions("too-old")

# Every process this module started and has not reaped yet (pgid == pid).
_LIVE = set()


def skip(why):
    print("SKIP: " + why, flush=True)
    sys.exit(SKIP)


def fail(why):
    print("FAIL: " + why, flush=True)
    sys.exit(1)


def clean_env(extra=None):
    """Environment for debuggers/tools: no PYTHONHOME/PYTHONPATH leak from a target."""
    env = dict(os.environ)
    for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP"):
        env.pop(k, None)
    env.setdefault("LC_ALL", "C.UTF-8")
    if extra:
        env.update(extra)
    return env


def flavour_suffix(dbg):
    """"" for the release build, "-dbg" for True, "-NAME" for a flavour name."""
    if dbg is True:
        return "-dbg"
    return "-" + dbg if dbg else ""


def python_for(version, dbg=False):
    """Wrapper script for sid's CPython `version` ("3.14"); it execs the real
    interpreter with PYTHONHOME set, so the PID is the interpreter's."""
    name = "python%s%s" % (version, flavour_suffix(dbg))
    path = os.path.join(CACHE_DIR, "bin", name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(
            "%s missing: run fixtures/fetch-pythons.sh (or scripts/setup.sh)" % path)
    return path


def python_tree(version, dbg=False):
    """(real interpreter binary, tree root) behind a wrapper: the binary is what
    a core's --exe should be, the tree holds its libraries (usr/lib/...)."""
    w = python_for(version, dbg)
    home = exe = None
    with open(w, encoding="utf-8") as f:
        for line in f:
            if line.startswith("PYTHONHOME="):
                home = line.split("=", 1)[1].strip().strip("'")
            elif line.startswith("exec "):
                exe = line.split("'")[1]
    if not home or not exe:
        raise RuntimeError("cannot parse wrapper %s" % w)
    return exe, os.path.dirname(home)


def cli_path():
    return os.path.join(BUILD_DIR, "py-async-graph")


def _decode(b):
    return b.decode("utf-8", "surrogateescape") if b is not None else ""


def _kill_group(p):
    """SIGKILL the process group led by p (we start every child with
    start_new_session=True, so pgid == pid and the group is only ours)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        p.kill()
    except ProcessLookupError:
        pass
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        pass
    _LIVE.discard(p.pid)


def run(cmd, timeout=120, env=None, input=None, cwd=None):
    """Run cmd in its own process group; on timeout kill the whole group.
    Returns (rc, stdout, stderr) as text; rc is -999 on timeout."""
    cmd = [str(c) for c in cmd]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
                         start_new_session=True)
    _LIVE.add(p.pid)
    try:
        out, err = p.communicate(input.encode() if isinstance(input, str) else input,
                                 timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(p)
        try:
            out, err = p.communicate(timeout=5)
        except Exception:
            out, err = b"", b""
        return -999, _decode(out), _decode(err) + "\nTIMEOUT after %ss: %s" % (
            timeout, " ".join(cmd))
    except BaseException:
        _kill_group(p)
        raise
    _LIVE.discard(p.pid)
    return p.returncode, _decode(out), _decode(err)


def cpython_tool(version, tool, pid, timeout=60, extra=()):
    """`python3.X -m asyncio pstree|ps PID` (CPython's own remote reader)."""
    return run([python_for(version), "-m", "asyncio", tool, str(pid)] + list(extra),
               timeout=timeout)


_PS_ROWS_CODE = r"""
import json, sys
from asyncio import tools
pid = int(sys.argv[1])
rows = tools.build_task_table(tools._get_awaited_by_tasks(pid))
keys = ["tid", "task_id", "task_name", "coroutine_stack", "awaiter_chain",
        "awaiter_name", "awaiter_id"]
print(json.dumps([dict(zip(keys, r)) for r in rows], ensure_ascii=False))
"""


def cpython_ps_rows(version, pid, timeout=60):
    """The rows CPython's `-m asyncio ps` prints, as structured data (same
    functions `ps` uses, without the fixed-width text that long names shift).
    Returns (rc, rows or None, stderr).  Each row: tid (int), task_id ("0x.."),
    task_name, coroutine_stack ("a -> b", innermost first), awaiter_chain,
    awaiter_name, awaiter_id ("0x0" when not awaited)."""
    rc, out, err = run([python_for(version), "-c", _PS_ROWS_CODE, str(pid)],
                       timeout=timeout)
    if rc != 0:
        return rc, None, err
    return rc, json.loads(out), err


def default_ready_timeout(name, args):
    if name == "many":
        n = 1000
        a = list(args)
        if "--tasks" in a:
            n = int(a[a.index("--tasks") + 1])
        return 60 + n / 10000.0 * 2  # ~2 s per 10k tasks, generous on 2 cores
    return 60


class Fixture:
    """Start fixtures/<name>.py under sid's CPython, wait for its oracle, and
    always kill it (process group, SIGKILL) on exit -- also on exceptions."""

    def __init__(self, name, version, dbg=False, args=(), ready_timeout=None,
                 keep_dir=False):
        self.name = name
        self.version = version
        self.dbg = dbg
        self.args = [str(a) for a in args]
        self.ready_timeout = ready_timeout or default_ready_timeout(name, self.args)
        self.keep_dir = keep_dir
        self.proc = None
        self.pid = None
        self.oracle = None
        self.dir = None
        self.oracle_path = None
        self.cores = []

    # -- lifecycle --
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        script = os.path.join(FIXTURES_DIR, self.name + ".py")
        if not os.path.exists(script):
            raise FileNotFoundError(script)
        py = python_for(self.version, self.dbg)
        self.dir = tempfile.mkdtemp(prefix="pag-%s-%s-" % (self.name, self.version))
        self.oracle_path = os.path.join(self.dir, "oracle.json")
        self._log = open(os.path.join(self.dir, "fixture.log"), "wb")
        cmd = [py, script, "--ready", self.oracle_path] + self.args
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=self.dir,
                                     start_new_session=True)
        _LIVE.add(self.proc.pid)
        self.pid = self.proc.pid
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if os.path.exists(self.oracle_path):
                with open(self.oracle_path, encoding="utf-8") as f:
                    self.oracle = json.load(f)
                break
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError("fixture %s (%s) exited with %s before ready:\n%s" % (
                    self.name, self.version, rc, self.log()))
            if time.monotonic() > deadline:
                raise TimeoutError("fixture %s (%s) not ready after %.0fs:\n%s" % (
                    self.name, self.version, self.ready_timeout, self.log()))
            time.sleep(0.05)
        if self.oracle.get("pid") != self.pid:
            raise RuntimeError("fixture pid %s != oracle pid %s (wrapper did not exec?)" % (
                self.pid, self.oracle.get("pid")))
        # The real interpreter binary (for --exe with cores) and its sid tree.
        self.exe = os.readlink("/proc/%d/exe" % self.pid)
        self.tree = os.path.dirname(os.path.dirname(os.path.dirname(self.exe)))

    def log(self):
        try:
            with open(os.path.join(self.dir, "fixture.log"), "rb") as f:
                return _decode(f.read()[-4000:])
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None:
            _kill_group(self.proc)
            self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        if self.dir and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # -- helpers --
    def gcore(self, path=None, timeout=300):
        """Core of the live fixture via gdb's gcore; returns the core's path.
        The process keeps running (gcore detaches)."""
        if not shutil.which("gcore"):
            raise FileNotFoundError("gcore not found (apt-get install gdb)")
        prefix = os.path.join(self.dir, "core.%d" % len(self.cores))
        rc, out, err = run(["gcore", "-o", prefix, str(self.pid)], timeout=timeout,
                           env=clean_env())
        core = "%s.%d" % (prefix, self.pid)
        if rc == 0 and os.path.exists(core) and path:
            shutil.move(core, path)
            core = path
        if rc != 0 or not os.path.exists(core):
            raise RuntimeError("gcore failed (rc=%s):\n%s\n%s" % (rc, out[-2000:], err[-2000:]))
        self.cores.append(core)
        return core

    def tasks(self):
        return self.oracle["tasks"]

    def tasks_by_name(self):
        out = {}
        for t in self.oracle["tasks"]:
            out.setdefault(t["name"], []).append(t)
        return out

    def task(self, name):
        ts = self.tasks_by_name().get(name, [])
        if len(ts) != 1:
            raise KeyError("%d tasks named %r in the oracle" % (len(ts), name))
        return ts[0]


def _cleanup_all():
    for pid in list(_LIVE):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


import atexit  # noqa: E402
atexit.register(_cleanup_all)


def _on_signal(signum, frame):
    _cleanup_all()
    sys.exit(128 + signum)


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    try:
        if signal.getsignal(_s) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(_s, _on_signal)
    except (ValueError, OSError):  # not the main thread
        pass


# ---- parsing CPython's `-m asyncio pstree` / `ps` output ---------------------

def lines_contained(ours, oracle):
    """Every line of the oracle appears in ours, in order (ours may hold more:
    the documented cases where py-async-graph shows more than CPython)."""
    it = iter(ours.splitlines())
    return all(any(line == o for o in it) for line in oracle.rstrip("\n").splitlines())


def shows_more(ours, oracle):
    """The documented case where our graph shows more than format_call_graph:
    frames inside an async generator (graph.py stops at the
    async_generator_asend).  Every oracle line is still there, in order."""
    return ("in async generator " in ours and "in async generator " not in oracle
            and lines_contained(ours, oracle))


def awaiters_part(graph):
    """The '+ Awaited by:' part of a one-task graph ('' if none)."""
    return graph.partition("\n  + Awaited by:")[2]


def graph_block(graph, first_line):
    """The block of a multi-task graph output that starts with first_line
    (up to the next blank line), or ''."""
    for block in graph.split("\n\n"):
        if block.startswith(first_line):
            return block + "\n"
    return ""


def parse_cpython_ps(text):
    """Rows of `python -m asyncio ps PID` text as dicts.  Columns are fixed-width
    from the header, so this is only exact when no field overflows its column;
    prefer cpython_ps_rows() for structured data."""
    lines = text.splitlines()
    hdr_i = None
    for i, l in enumerate(lines):
        if l.startswith("tid") and "task id" in l:
            hdr_i = i
            break
    if hdr_i is None:
        return []
    hdr = lines[hdr_i]
    names = ["tid", "task id", "task name", "coroutine stack", "awaiter chain",
             "awaiter name", "awaiter id"]
    starts = [hdr.index(n) for n in names]
    rows = []
    for l in lines[hdr_i + 2:]:
        if not l.strip():
            continue
        cols = []
        for j, s in enumerate(starts):
            e = starts[j + 1] if j + 1 < len(starts) else len(l)
            cols.append(l[s:e].strip() if s < len(l) else "")
        rows.append(dict(zip(["tid", "task_id", "task_name", "coroutine_stack",
                              "awaiter_chain", "awaiter_name", "awaiter_id"], cols)))
    return rows


def parse_cpython_pstree(text):
    """(task names in order, edges) from `python -m asyncio pstree PID`.
    edges: (parent task name, child task name) for each '(T)' line nested under
    another '(T)' line."""
    names = []
    edges = []
    stack = []  # (indent, name)
    for l in text.splitlines():
        i = l.find("(T) ")
        if i < 0:
            continue
        name = l[i + 4:]
        while stack and stack[-1][0] >= i:
            stack.pop()
        if stack:
            edges.append((stack[-1][1], name))
        names.append(name)
        stack.append((i, name))
    return names, edges


# ---- issue 14 (--native): gdb's own backtraces, the evaluator's code, ------
# ---- kernel cores, a blocked thread's state --------------------------------

import re as _re  # noqa: E402

_BT_THREAD = _re.compile(r"^Thread \d+ \((?:Thread 0x[0-9a-f]+ \()?(?:LWP|process) (\d+)")
_BT_FRAME = _re.compile(r"^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(\S+) \(.*?\)(?: at (\S+):(\d+))?"
                        r"(?: from (\S+))?\s*$")


def parse_gdb_bt(text):
    """`thread apply all bt` text -> {LWP: [frame, ...]} innermost first;
    a frame is {"n", "pc" (int or None), "function" (None for gdb's "??"),
    "module" (the "from" library, None for the executable), "file", "line"}.
    A line that is neither a thread header nor a frame ends nothing: gdb
    prints "Backtrace stopped: ..." and warnings between them."""
    out = {}
    cur = None
    for line in text.splitlines():
        m = _BT_THREAD.match(line)
        if m:
            cur = out.setdefault(int(m.group(1)), [])
            continue
        m = _BT_FRAME.match(line)
        if m and cur is not None:
            fn = m.group(3)
            cur.append({"n": int(m.group(1)),
                        "pc": int(m.group(2), 16) if m.group(2) else None,
                        "function": None if fn == "??" else fn,
                        "module": m.group(6), "file": m.group(4),
                        "line": int(m.group(5)) if m.group(5) else None})
    return out


def gdb_backtraces(target_args, timeout=300, extra=()):
    """gdb -batch TARGET_ARGS -ex 'thread apply all bt': (per-LWP frames as
    parse_gdb_bt gives them, the whole text).  No libthread_db (it would
    run code in the target's libc), no debuginfod."""
    argv = ["gdb", "-batch", "-nx", "-iex", "set pagination off", "-iex", "set width 0",
            "-iex", "set debuginfod enabled off", "-iex", "set auto-load safe-path /nonexistent"]
    argv += list(target_args) + list(extra) + ["-ex", "thread apply all bt"]
    rc, out, err = run(argv, timeout=timeout, env=clean_env())
    return parse_gdb_bt(out), out + err


def _fde_ranges(path):
    """[(start, end)] of every FDE in path's .eh_frame, from binutils'
    readelf (file virtual addresses)."""
    rc, out, err = run(["readelf", "--debug-dump=frames", path], timeout=120)
    rng = []
    for m in _re.finditer(r"FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)", out):
        rng.append((int(m.group(1), 16), int(m.group(2), 16)))
    return rng


def evaluator_ranges(path, symbol="_PyEval_EvalFrameDefault"):
    """The address ranges (file virtual addresses) of CPython's evaluator
    in the ELF file path: the FDE of `symbol` and every unnamed FDE its code
    branches into.  Why more than the symbol: Debian's PGO build splits the
    function, and the dispatch loop sits in an unnamed partition (gcc's
    .cold part) that gdb prints as "??"; the exported symbol is only its
    entry (0x4a0 bytes in sid's 3.14).  Found from the file alone (readelf,
    objdump), so it is an oracle independent of every frontend."""
    rc, out, err = run(["nm", "-DS", "--defined-only", path], timeout=60)
    start = size = None
    named = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4:
            named.add(int(f[0], 16))
            if f[3] == symbol:
                start, size = int(f[0], 16), int(f[1], 16)
    if start is None:
        return []
    fdes = _fde_ranges(path)
    own = [r for r in fdes if r[0] <= start < r[1]] or [(start, start + size)]
    rc, dis, err = run(["objdump", "-d", "--no-show-raw-insn", "--start-address=%#x" % start,
                        "--stop-address=%#x" % (start + size), path], timeout=120)
    targets = {int(m.group(1), 16) for m in _re.finditer(r"\tj[a-z]+\s+([0-9a-f]+) <", dis)}
    parts = set(own)
    for t in targets:
        if own[0][0] <= t < own[0][1]:
            continue
        for r in fdes:
            if r[0] <= t < r[1] and r[0] not in named:
                parts.add(r)
    return sorted(parts)


def elf_is_pie(path):
    with open(path, "rb") as f:
        hdr = f.read(18)
    return hdr[16] == 3  # e_type ET_DYN (little-endian low byte)


def thread_state(pid, tid):
    """(state letter, utime + stime in clock ticks) of a thread, or (None, 0)."""
    try:
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            rest = f.read().rpartition(")")[2].split()
    except OSError:
        return None, 0
    return rest[0], int(rest[11]) + int(rest[12])


def wait_thread(pid, tid, state, timeout=30.0, run_ticks=30):
    """Wait until thread tid of pid sleeps in the kernel ("S"), or, for a
    thread that runs ("R"), until it has used run_ticks more CPU ticks (it
    is past its last Python line and spins in C).  True when it did."""
    deadline = time.monotonic() + timeout
    _, t0 = thread_state(pid, tid)
    while time.monotonic() < deadline:
        s, t = thread_state(pid, tid)
        if s is None:
            return False
        if state == "S" and s == "S":
            time.sleep(0.1)
            if thread_state(pid, tid)[0] == "S":
                return True
        if state == "R" and t - t0 >= run_ticks:
            return True
        time.sleep(0.05)
    return False


CORE_PATTERN = "/proc/sys/kernel/core_pattern"


def kernel_core(pid, directory, timeout=120):
    """Make the kernel write a core of pid (SIGABRT, RLIMIT_CORE raised in
    the target with prlimit) into directory, as tests/cli/core_kernel.py
    does; the process dies.  core_pattern is restored before returning.
    Returns the core's path; skips (77) when core_pattern is not writable."""
    import resource
    try:
        with open(CORE_PATTERN) as f:
            old = f.read()
        with open(CORE_PATTERN, "w") as f:
            f.write(old)
    except OSError as e:
        skip("%s is not writable here (%s); cannot make the kernel write a core"
             % (CORE_PATTERN, e))
    os.chmod(directory, 0o1777)
    path = os.path.join(directory, "core.%d" % pid)
    try:
        with open(CORE_PATTERN, "w") as f:
            f.write(os.path.join(directory, "core.%p"))
        inf = resource.RLIM_INFINITY
        resource.prlimit(pid, resource.RLIMIT_CORE, (inf, inf))
        os.kill(pid, signal.SIGABRT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                with open("/proc/%d/stat" % pid) as f:
                    zombie = f.read().rpartition(")")[2].split()[0] == "Z"
            except (OSError, ProcessLookupError):
                zombie = True
            if zombie and os.path.exists(path):
                break
            time.sleep(0.1)
        # The kernel has finished the file once the task is gone or reaped.
        time.sleep(0.5)
    finally:
        with open(CORE_PATTERN, "w") as f:
            f.write(old)
    if not os.path.exists(path):
        raise RuntimeError("the kernel wrote no core at %s" % path)
    return path
