"""Helpers for the native unwinder's tests (issue 14): start a process
blocked in a known C function (native_target.py), read the CLI accessor's
records through test_native_accessor, and read the oracles: gdb's own backtrace of
the same thread (live or on the same core, through gdb's Python API so that
every frame's pc and name are exact), and the modules' own ELF symbol
tables and program headers (nm, readelf) for what a name and an offset
must be.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from clitest import pagtest

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.path.join(HERE, "native_target.py")

GDB_SCRIPT = r'''
import gdb
out = []
for th in sorted(gdb.selected_inferior().threads(), key=lambda t: t.ptid[1]):
    th.switch()
    try:
        f = gdb.newest_frame()
    except gdb.error as e:
        out.append("GDBERR %d %s" % (th.ptid[1], e))
        continue
    n = 0
    while f is not None and n < 1100:
        inline = {gdb.INLINE_FRAME: 1, gdb.TAILCALL_FRAME: 2}.get(f.type(), 0)
        sal = f.find_sal()
        where = "%s:%d" % (sal.symtab.filename, sal.line) if sal.symtab and sal.line else "-"
        out.append("GDBFRAME %d %d %d %s %s" % (th.ptid[1], f.pc(), inline, where,
                                                 f.name() or "-"))
        try:
            f = f.older()
        except gdb.error as e:
            out.append("GDBERR %d %s" % (th.ptid[1], e))
            break
        n += 1
print("\n".join(out))
'''


def test_native_path():
    return os.path.join(pagtest.BUILD_DIR, "tests", "test_native_accessor")


class Target:
    """native_target.py MODE under python3.X (flavour), killed on exit."""

    def __init__(self, version, mode, flavour=False, lib=None):
        self.version, self.mode, self.flavour, self.lib = version, mode, flavour, lib

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="pag-native-%s-%s-" % (self.mode, self.version))
        ready = os.path.join(self.dir, "ready.json")
        cmd = [pagtest.python_for(self.version, self.flavour), TARGET, self.mode, ready]
        if self.lib:
            cmd.append(self.lib)
        self.log = open(os.path.join(self.dir, "target.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 60
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("native_target %s did not get ready" % self.mode)
            time.sleep(0.05)
        with open(ready) as f:
            info = json.load(f)
        self.loop_tid = info["loop_tid"]
        self.tids = info["tids"]
        time.sleep(0.2)
        if self.mode != "re":
            self.wait_blocked()
        self.exe = os.readlink("/proc/%d/exe" % self.pid)
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        self.log.close()
        if not getattr(self, "keep", False):
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def wait_blocked(self, timeout=30):
        """Until the loop thread sits in the same system call twice, 0.1 s
        apart (on a loaded machine it may take a while to get there)."""
        path = "/proc/%d/task/%d/syscall" % (self.pid, self.loop_tid)
        last, deadline = None, time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(path) as f:
                nr = f.read().split()[0]
            if nr not in ("running", "-1") and nr == last:
                return
            last = nr
            time.sleep(0.1)
        raise RuntimeError("the loop thread of %s did not block" % self.mode)

    def stop(self):
        """SIGSTOP, and wait until every thread is stopped: gdb and the CLI
        then see the same registers even of a thread that computes."""
        os.kill(self.pid, signal.SIGSTOP)
        for _ in range(200):
            states = []
            for t in os.listdir("/proc/%d/task" % self.pid):
                with open("/proc/%d/task/%s/stat" % (self.pid, t)) as f:
                    states.append(f.read().rsplit(")", 1)[1].split()[0])
            if all(s in "tT" for s in states):
                return
            time.sleep(0.01)
        raise RuntimeError("process %d did not stop" % self.pid)

    def gcore(self):
        prefix = os.path.join(self.dir, "core")
        rc, out, err = pagtest.run(["gcore", "-o", prefix, str(self.pid)], timeout=300,
                                   env=pagtest.clean_env())
        core = "%s.%d" % (prefix, self.pid)
        if rc != 0 or not os.path.exists(core):
            raise RuntimeError("gcore failed (rc=%s): %s %s" % (rc, out[-1000:], err[-1000:]))
        return core


def ours(args, timeout=60, env=None, extra=None):
    """test_native_accessor ARGS: (exit code, {tid: (status, usecs, [frame dicts])}, stderr,
    seconds); extra, a dict, gets the other lines' facts (debuginfod-client)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([test_native_path()] + [str(a) for a in args], capture_output=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return -999, {}, "TIMEOUT after %ss" % timeout, time.monotonic() - t0
    dt = time.monotonic() - t0
    threads, cur = {}, None
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("thread "):
            m = re.match(r"thread (\d+) status=(\S+) n=(\d+) usec=(\d+)", line)
            tid = int(m.group(1))
            if tid in threads:  # --repeat: keep every time, the last records
                threads[tid][1].append(int(m.group(4)))
                threads[tid][2].clear()
                threads[tid] = (m.group(2), threads[tid][1], threads[tid][2])
            else:
                threads[tid] = (m.group(2), [int(m.group(4))], [])
            cur = threads[tid][2]
        elif line.startswith("debuginfod-client ") and extra is not None:
            extra["debuginfod-client"] = line.split()[1]
        elif line.startswith("frame "):
            fr = dict(kv.split("=", 1) for kv in line.split()[2:])
            for k in ("pc", "sp", "base", "off"):
                fr[k] = int(fr[k], 16)
            fr["line"] = int(fr["line"])
            for k in ("function", "module", "file"):
                if fr[k] == "-":
                    fr[k] = None
            cur.append(fr)
    return p.returncode, threads, p.stderr.decode("utf-8", "replace"), dt


def gdb_frames(pid=None, core=None, exe=None, timeout=300):
    """gdb's own unwinding: {tid: [(pc, name or None, file, line)]}, inline
    and tail-call frames left out (elfutils has none; the real frame keeps
    its function's name)."""
    script = os.path.join(tempfile.gettempdir(), "pag-native-gdb-%d.py" % os.getpid())
    with open(script, "w") as f:
        f.write(GDB_SCRIPT)
    # past-main: gdb stops at main where it knows main (a -dbg build)
    cmd = ["gdb", "-batch", "-nx", "-iex", "set debuginfod enabled off",
           "-iex", "set backtrace past-main on", "-iex", "set backtrace past-entry on"]
    cmd += ["-p", str(pid)] if pid else [exe, core]
    cmd += ["-x", script]
    rc, out, err = pagtest.run(cmd, timeout=timeout, env=pagtest.clean_env())
    os.unlink(script)
    frames, first = {}, {}
    for line in out.splitlines():
        if line.startswith("GDBFRAME "):
            _, tid, pc, inline, where, name = line.split(" ", 5)
            tid = int(tid)
            if inline == "2":
                # gdb makes up the frames of tail calls from DWARF call
                # sites: their return addresses follow a jmp, no stack holds
                # them, and an unwinder never sees them
                continue
            # the line of a pc is the innermost (inline) frame's there
            first.setdefault(tid, where)
            if inline == "0":
                where = first.pop(tid)
                file, _, ln = where.rpartition(":") if where != "-" else ("", "", "0")
                frames.setdefault(tid, []).append(
                    (int(pc), None if name == "-" else name, file or None, int(ln or 0)))
        elif line.startswith("GDBERR "):
            frames.setdefault(int(line.split()[1]), [])
    return frames, out + err


_SYMS = {}


def debug_file(path):
    """The separate debug file of path, found by build-id in /usr/lib/debug."""
    p = subprocess.run(["readelf", "-n", path], capture_output=True, text=True)
    m = re.search(r"Build ID: ([0-9a-f]+)", p.stdout)
    if not m:
        return None
    bid = m.group(1)
    f = "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
    return f if os.path.exists(f) else None


def symbols(path):
    """{name: [(start, size)]} from the file's .symtab and .dynsym and its
    debug file's .symtab (nm)."""
    if path not in _SYMS:
        table = {}
        dbg = debug_file(path)
        for extra in ([], ["-D"]) + (([dbg],) if dbg else ()):
            args = extra if dbg in extra else extra + [path]
            p = subprocess.run(["nm", "-S", "--defined-only"] + args,
                               capture_output=True, text=True)
            for line in p.stdout.splitlines():
                parts = line.split()
                if len(parts) == 4:
                    name = parts[3].split("@")[0]
                    table.setdefault(name, set()).add((int(parts[0], 16), int(parts[1], 16)))
        _SYMS[path] = table
    return _SYMS[path]


_LOADS = {}


def exec_loads(path):
    """[(vaddr, memsz)] of the file's executable PT_LOADs (readelf)."""
    if path not in _LOADS:
        p = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True)
        segs = []
        for line in p.stdout.splitlines():
            parts = line.split()
            if parts[:1] == ["LOAD"] and "E" in "".join(parts[7:-1]):
                segs.append((int(parts[2], 16), int(parts[5], 16)))
        _LOADS[path] = segs
    return _LOADS[path]


def check_frame(c, what, i, fr, innermost):
    """The record against the module file itself: pc - base is the ELF
    address of an executable segment; a named symbol covers the lookup
    address (pc, pc - 1 for a caller) and off = pc - its start."""
    mod = fr["module"]
    if not mod or not os.path.isfile(mod):
        return
    va = fr["pc"] - fr["base"]
    c.check(any(v <= va < v + sz for v, sz in exec_loads(mod)),
            "%s frame %d: pc - module_base = %#x lies in an executable segment of %s"
            % (what, i, va, mod))
    if fr["function"]:
        look = va if innermost else va - 1
        spans = symbols(mod).get(fr["function"], set())
        ok = any(s <= look < s + z and fr["off"] == va - s for s, z in spans)
        c.check(ok, "%s frame %d: %s+%#x covers %#x in %s's symbol table (%s)"
                % (what, i, fr["function"], fr["off"], look, mod, sorted(spans)[:3]))


def same_symbol(a, b, mod):
    """Two names of one address (aliases: clock_nanosleep, __clock_nanosleep)."""
    if a == b:
        return True
    # gdb names a GCC clone (foo.constprop.0, .isra.0, .part.0) by its
    # DWARF name, the symbol table by the clone's
    if a and b and a.startswith(b + ".") and re.match(r"(\.(constprop|isra|part|cold)(\.\d+)?)+$",
                                                      a[len(b):]):
        return True
    if not a or not b or not mod or not os.path.isfile(mod):
        return False
    t = symbols(mod)
    return bool({s for s, _ in t.get(a, ())} & {s for s, _ in t.get(b, ())})


_FDES = {}


def largest_fde(path):
    """(start, end) of the biggest function part in path's .eh_frame, from
    readelf.  CPython's evaluator loop is by far its largest function; on
    Debian's release builds no symbol covers that part (the PGO split), so
    this is the independent oracle for "this unnamed frame is the
    evaluator"."""
    if path not in _FDES:
        out = subprocess.run(["readelf", "-wf", path], capture_output=True, text=True).stdout
        best = (0, 0)
        for m in re.finditer(r"pc=([0-9a-f]+)\.\.([0-9a-f]+)", out):
            a, b = int(m.group(1), 16), int(m.group(2), 16)
            if b - a > best[1] - best[0]:
                best = (a, b)
        _FDES[path] = best
    return _FDES[path]


def is_evaluator(rec):
    """An accessor record that is a frame of _PyEval_EvalFrameDefault: by its
    name, or unnamed inside the interpreter module's largest function."""
    if rec.get("function") and rec["function"].startswith("_PyEval_EvalFrameDefault"):
        return True
    if rec.get("function") or not rec.get("module"):
        return False
    a, b = largest_fde(rec["module"])
    return a <= rec["pc"] - 1 - rec["base"] < b


def trim(theirs):
    """gdb shows one more frame, at pc 0, where a stack ends in zeros; the
    accessor stops there (PAG_ERR_TRUNCATED): the case named here."""
    theirs = list(theirs)
    while theirs and theirs[-1][0] == 0:
        theirs.pop()
    return theirs


def compare(c, what, mine, theirs, lines=False):
    """Our frames against gdb's, frame for frame: the same pcs, and the
    same function (or an alias of it, or none in both)."""
    theirs = trim(theirs)
    pcs = [f["pc"] for f in mine]
    gpcs = [g[0] for g in theirs]
    c.check(pcs == gpcs, "%s: the pcs equal gdb's backtrace, frame for frame" % what,
            "ours %s\ngdb  %s" % ([hex(p) for p in pcs], [hex(p) for p in gpcs]))
    for i, (fr, (pc, name, file, line)) in enumerate(zip(mine, theirs)):
        c.check(same_symbol(fr["function"], name, fr["module"]),
                "%s frame %d (%#x): function %s, gdb says %s" % (what, i, pc, fr["function"], name))
        if lines:
            ours = "%s:%d" % (os.path.basename(fr["file"]), fr["line"]) if fr["file"] else None
            gdbs = "%s:%d" % (os.path.basename(file), line) if file else None
            c.check(ours == gdbs, "%s frame %d (%#x): line %s, gdb says %s"
                    % (what, i, pc, ours, gdbs))
