#!/usr/bin/env python3
# --native inside gdb (issue 14): the native frames come from gdb's own
# frame walk (gdb/pag_native.py), so the oracle is gdb's own `bt`.
#
# On the blocked fixture (a task blocked in time.sleep on a second thread),
# live, on a gcore core and on a core the kernel wrote (--mode kernel):
# `py-async-graph --native --format json` gives,
# for the blocked thread, a merged stack whose native frames are gdb's `bt`
# for that thread frame for frame (same pc, same name, unnamed where bt
# says ??), where the frames the core replaced by Python frames are the
# evaluator's, and whose Python frames start with the fixture's own stack of
# the blocked task.  A frame named without debug info lies inside that
# symbol's size; an unnamed one in the interpreter lies in its code and
# inside no sized symbol of its ELF tables (no neighbour's name).  The
# thread and frame the user selected are the same before and after.
#
# Damaged cores (--mode damaged-stack: the main thread's stack zeroed from
# its sp up; damaged-regs: the blocked thread's pc/sp/fp zeroed in
# NT_PRSTATUS): the command still prints the graph, that thread's native
# stack is cut short with a note, and gdb keeps answering.
#
# usage: test_native.py --version 3.14 --mode live|core|kernel|damaged-stack|damaged-regs [--dbg]

import argparse
import json
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time

import gdbtest
from gdbtest import pagtest

sys.path.insert(0, os.path.join(os.path.dirname(gdbtest.HERE), "lib"))
import elfcore  # noqa: E402  (tests/lib/elfcore.py)

# "#3  0x000000000077d8f2 in ?? ()", "#2  0x... in clock_nanosleep () from /lib/...",
# "#0  stuck (x=1) at f.c:3"
PATTERN = "/proc/sys/kernel/core_pattern"
_GDB_BT_RE = re.compile(r"^#(\d+)\s+(?:(0x[0-9a-f]+) in )?(\S+) \(")
EVAL = "_PyEval_EvalFrameDefault"


def gdb_bt(text):
    """[(pc or None, name or None)] of a `bt`, innermost first."""
    out = []
    for line in text.splitlines():
        m = _GDB_BT_RE.match(line)
        if m and int(m.group(1)) == len(out):
            pc = int(m.group(2), 16) if m.group(2) else None
            out.append((pc, None if m.group(3) == "??" else m.group(3)))
    return out


def split_json(text):
    """(the JSON document in a command's output or None, the other lines:
    the note the core writes after it)."""
    start = text.find("{")
    try:
        doc, end = json.JSONDecoder().raw_decode(text[start:]) if start >= 0 else (None, 0)
    except ValueError:
        return None, text.splitlines()
    rest = text[:start] + text[start + end:]
    return doc, [l for l in rest.splitlines() if l.strip()]


def thread_stack(doc, tid, key="stack"):
    """The merged stack (or another key) of the thread with native id tid in
    a JSON document."""
    for th in doc.get("threads", []):
        if th.get("native_id") == tid:
            return th.get(key)
    return None


def check_note(chk, what, doc, tid, notes):
    """The thread's own note in the JSON, and the summary line."""
    mine = thread_stack(doc, tid, "native_error")
    chk.true("%s: the JSON says why its native stack is cut short" % what, bool(mine),
             "native_error: %r" % mine)
    chk.true("%s: the summary line says a native stack is incomplete" % what,
             any(re.search(r"native stack of thread \d+ is incomplete", n) for n in notes),
             notes or "(no note)")


def check_stack(chk, what, bt, stack, oracle="gdb's bt", whole=False):
    """The native frames of stack are bt's, frame for frame; a bt frame
    missing from stack stands where the core put Python frames instead (an
    evaluator frame), and no frame bt names _PyEval_EvalFrameDefault stays."""
    def same(f, pc, name):
        return (f is not None and f.get("kind") == "native" and f.get("function") == name
                and (pc is None or f.get("pc") == pc) and name != EVAL)

    j, runs, bad = 0, 0, []
    for k, (pc, name) in enumerate(bt):
        if j < len(stack) and stack[j].get("kind") != "native":
            while j < len(stack) and stack[j].get("kind") != "native":
                j += 1
            runs += 1
            if not same(stack[j] if j < len(stack) else None, pc, name):
                continue  # bt's frame k is the one the Python frames replaced
        if not same(stack[j] if j < len(stack) else None, pc, name):
            bad.append("bt #%d %#x %s: stack[%d] = %s" % (k, pc or 0, name, j,
                                                          stack[j] if j < len(stack) else None))
            break
        j += 1
    # Python frames no evaluator frame claimed (none is named: Debian's
    # release builds keep the evaluator's code in an unnamed cold part)
    # follow the native stack.
    tail = [f for f in stack[j:] if f.get("kind") == "native"]
    chk.true("%s: native frames are %s, frame for frame" % (what, oracle), not bad and not tail,
             "\n".join(bad) or "the stack has native frames bt lacks: %s" % tail[:3])
    # The core knows the evaluator by name, or on a whole stack by where its
    # entry frames live (the frames' sp), named or not.
    if whole or any(name == EVAL for _, name in bt):
        chk.true("%s: Python frames stand where the evaluator frames were" % what, runs > 0,
                 "bt: %s\nstack: %s" % (bt, json.dumps(stack)[:3000]))


def check_python(chk, what, stack, oracle_stack):
    py = [(f.get("function"), f.get("line")) for f in stack if f.get("kind") != "native"]
    want = [(fn, line) for fn, _, line in oracle_stack]
    chk.eq("%s: the Python frames start with the fixture's own stack" % what, want,
           py[:len(want)])


def elf_symbols(path):
    """{name: [(value, size)]} of the sized FUNC symbols of .dynsym and .symtab."""
    syms = {}
    for flags in (["-D"], []):
        p = subprocess.run(["nm", "-S", "--defined-only"] + flags + [path],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[2] in "tTwWiI":
                syms.setdefault(parts[3].split("@")[0], []).append(
                    (int(parts[0], 16), int(parts[1], 16)))
    return syms


def exec_segments(path):
    """[(vaddr, memsz)] of the executable PT_LOADs of an ELF64 file."""
    with open(path, "rb") as f:
        hdr = f.read(64)
        phoff, = struct.unpack_from("<Q", hdr, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", hdr, 0x36)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    segs = []
    for i in range(phnum):
        p_type, flags, _o, vaddr, _p, _fs, memsz, _a = struct.unpack_from("<IIQQQQQQ", ph,
                                                                           i * phentsize)
        if p_type == 1 and flags & 1:
            segs.append((vaddr, memsz))
    return segs


def check_symbols(chk, what, stack, exe):
    """A named frame lies inside its symbol's size; an unnamed frame of the
    interpreter lies in its code and inside no sized symbol."""
    syms, segs, base = elf_symbols(exe), exec_segments(exe), os.path.basename(exe)
    spans = sorted(s for v in syms.values() for s in v if s[1])
    bad, unnamed = [], 0
    for f in (f for f in stack if f.get("kind") == "native"):
        name, off = f.get("function"), f.get("offset")
        if name and name in syms and not any(0 <= off < size for _, size in syms[name]):
            bad.append("%s+%#x is past the symbol's size" % (name, off))
        if not name and f.get("module") == base:
            unnamed += 1
            if not any(v <= off < v + m for v, m in segs):
                bad.append("%s+%#x is outside the code segments" % (base, off))
            cover = [s for s in spans if s[0] <= off < s[0] + s[1]]
            if cover:
                bad.append("%s+%#x lies inside a symbol at %#x" % (base, off, cover[0][0]))
    chk.true("%s: names only inside a symbol's size (%d unnamed interpreter frames)"
             % (what, unnamed), not bad, "\n".join(bad))


def blocked_tid(fx):
    tid = fx.oracle.get("expect", {}).get("blocked_thread")
    if not tid:
        gdbtest.fail("the fixture names no blocked thread")
    return tid


def select_lwp(tid, then):
    """A gdb command running `then % N` for the gdb thread number N of LWP tid."""
    return ("python gdb.execute(%r %% [t.num for t in gdb.selected_inferior().threads()"
            " if t.ptid[1] == %d][0])" % (then, tid))


def damage(core, out, mode, tid, sp):
    """A copy of core with the blocked thread's stack zeroed from sp to the
    end of its segment (damaged-stack), or with its pc, sp and fp zeroed in
    its NT_PRSTATUS note (damaged-regs, x86-64 layout)."""
    shutil.copyfile(core, out)
    with open(out, "r+b") as f:
        if mode == "damaged-stack":
            for vaddr, off, filesz in elfcore.load_segments(out):
                if vaddr <= sp < vaddr + filesz:
                    f.seek(off + (sp - vaddr))
                    f.write(b"\0" * (vaddr + filesz - sp))
                    return
            gdbtest.fail("the core holds no stack page at %#x" % sp)
        data = f.read()
        # NT_PRSTATUS (type 1, name "CORE"): pr_pid at 32, pr_reg at 112;
        # rbp, rip, rsp are registers 4, 16 and 19 of x86-64's user_regs_struct.
        note = b"\x05\x00\x00\x00\x50\x01\x00\x00\x01\x00\x00\x00CORE\x00\x00\x00\x00"
        for m in re.finditer(re.escape(note), data):
            desc = m.end()
            if struct.unpack_from("<I", data, desc + 32)[0] == tid:
                for reg in (4, 16, 19):
                    f.seek(desc + 112 + reg * 8)
                    f.write(b"\0" * 8)
                return
        gdbtest.fail("no NT_PRSTATUS note for thread %d" % tid)


def kernel_core(fx):
    """A core of the fixture written by the kernel (core_pattern, as
    tests/cli/core_kernel.py): unlike gcore's, it keeps every thread's
    stack.  The fixture dies; the pattern is restored at once."""
    try:
        with open(PATTERN) as f:
            old = f.read()
        with open(PATTERN, "w") as f:
            f.write(old)
    except OSError as e:
        gdbtest.skip("%s is not writable here (%s): the kernel cannot write a core" % (PATTERN, e))
    path = os.path.join(fx.dir, "kcore.%d" % fx.pid)
    try:
        with open(PATTERN, "w") as f:
            f.write(os.path.join(fx.dir, "kcore.%p"))
        resource.prlimit(fx.pid, resource.RLIMIT_CORE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        os.kill(fx.pid, signal.SIGABRT)  # no handler runs: the stacks stay as they were
        fx.proc.wait(120)
        for _ in range(100):  # the file is whole once the kernel closes it
            if os.path.exists(path) and os.path.getsize(path) > 0:
                break
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        with open(PATTERN, "w") as f:
            f.write(old)
    if not os.path.exists(path):
        gdbtest.fail("the kernel wrote no core at %s" % path)
    return path


def run_damaged(chk, a, fx, tid):
    # The main thread's stack, which gcore keeps (see main()); the blocked
    # thread's registers.
    victim = fx.pid if a.mode == "damaged-stack" else tid
    exe, core = gdbtest.exe_of(fx.pid), str(fx.gcore())
    sec, text = gdbtest.run_gdb([exe, core],
                                [("sp", select_lwp(victim, "thread apply %d p/x $sp"))])
    m = re.search(r"= (0x[0-9a-f]+)", sec.get("sp", ""))
    if not m:
        gdbtest.fail("no $sp for thread %d:\n%s" % (victim, text[-2000:]))
    bad = os.path.join(fx.dir, "damaged.core")
    damage(core, bad, a.mode, victim, int(m.group(1), 16))
    sec, text = gdbtest.run_gdb([exe, bad], [
        ("native", "py-async-graph --native --format json"), ("alive", "echo alive\\n")])
    chk.eq("gdb answers after --native on a damaged core", "alive\n", sec.get("alive"))
    got = sec.get("native", "")
    doc, notes = split_json(got)
    chk.true("the command still prints the graph (JSON)", doc is not None, got[-2000:])
    if doc is None:
        return
    stack = thread_stack(doc, victim) or []
    native = [f for f in stack if f.get("kind") == "native"]
    chk.true("thread %d keeps its Python frames" % victim,
             any(f.get("kind") != "native" for f in stack), json.dumps(stack)[:2000])
    chk.true("its native stack is cut short (%d frames)" % len(native), len(native) <= 3,
             json.dumps(native)[:2000])
    check_note(chk, "thread %d" % victim, doc, victim, notes)
    chk.true("and no Python traceback or internal error",
             "Traceback" not in text and "internal error" not in text, text[-2000:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--mode", required=True,
                    choices=["live", "core", "kernel", "damaged-stack", "damaged-regs"])
    ap.add_argument("--dbg", action="store_true", help="the -dbg build (full DWARF)")
    a = ap.parse_args()
    chk = gdbtest.Checker("gdb --native blocked %s %s%s" % (a.mode, a.version,
                                                             "-dbg" if a.dbg else ""))
    with pagtest.Fixture("blocked", a.version, dbg=a.dbg) as fx:
        tid = blocked_tid(fx)
        if a.mode.startswith("damaged"):
            run_damaged(chk, a, fx, tid)
            chk.finish()
        exe = fx.exe
        target = [exe, kernel_core(fx)] if a.mode == "kernel" else gdbtest.targets(fx, a.mode)[1]
        # The blocked thread and the main thread (whose loop idles in
        # epoll_wait).  gdb 13's gcore loses a thread's whole stack when the
        # first page of its mapping is a guard region (glibc >= 2.41 on
        # Linux >= 6.13: "Memory read failed for corefile section"): its
        # bt then ends at 0x0 and so must ours; the main stack is whole.
        tids = [tid, fx.pid]
        sec, text = gdbtest.run_gdb(target, [
            ("select", "thread 1"), ("select-frame", "frame 2"),
            ("thread-before", "thread"), ("frame-before", "frame"),
            ("native", "py-async-graph --native --format json"),
            ("thread-after", "thread"), ("frame-after", "frame")] +
            [("bt-%d" % t, select_lwp(t, "thread apply %d bt")) for t in tids] +
            [("alive", "echo alive\\n")])
        doc, notes = split_json(sec.get("native", ""))
        if doc is None:
            gdbtest.fail("--native --format json printed no JSON document:\n%s" % text[-3000:])
        chk.eq("the JSON schema of --native", "py-async-graph/2", doc.get("schema"))
        for t in tids:
            stack, bt = thread_stack(doc, t), gdb_bt(sec.get("bt-%d" % t, ""))
            chk.true("gdb's bt of thread %d has frames" % t, len(bt) > 1, sec.get("bt-%d" % t))
            chk.true("thread %d has a merged stack" % t, bool(stack), json.dumps(doc)[:2000])
            if stack:
                whole = bt[-1][0] != 0 and "Backtrace stopped" not in sec.get("bt-%d" % t, "")
                check_stack(chk, "thread %d" % t, bt, stack, whole=whole)
                check_symbols(chk, "thread %d" % t, stack, exe)
                note = thread_stack(doc, t, "native_error")
                chk.true("thread %d: a note exactly when the stack is cut short" % t,
                         whole != bool(note), "native_error: %r, bt: %s" % (note, bt[-2:]))
        blocker = [t for t in fx.tasks() if t["name"] == fx.oracle["expect"]["blocked_task"]]
        check_python(chk, "thread %d" % tid, thread_stack(doc, tid) or [], blocker[0]["stack"])
        for what in ("thread", "frame"):
            before, after = sec.get(what + "-before"), sec.get(what + "-after")
            chk.true("the selected %s is unchanged" % what,
                     bool(before and before.strip()) and before == after,
                     "before: %r, after: %r" % (before, after))
        chk.eq("gdb answers afterwards", "alive\n", sec.get("alive"))
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
