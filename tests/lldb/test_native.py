#!/usr/bin/env python3
# --native inside lldb (issue 14): the native frames come from lldb's own
# unwinder (lldb/native.cpp), so the oracle is lldb's own `thread backtrace`.
#
# The checks of tests/gdb/test_native.py, with lldb for gdb: on the blocked
# fixture, live, on a gcore core and on a kernel core,
# `py-async-graph --native --format json` gives for the blocked and the
# main thread a merged stack whose native frames are lldb's backtrace frame
# for frame (same pc; the same name, where lldb's synthetic
# ___lldb_unnamed_symbolN names nothing; the same offset where lldb prints
# "name + N"); a name only inside its symbol's size; the
# fixture's own Python stack; a note exactly when lldb's stack is cut short;
# the selected thread and frame unchanged.  Damaged copies of the core (the
# main thread's stack or the blocked thread's registers zeroed) still print
# the graph, with the note, and lldb keeps answering.
#
# usage: test_native.py --version 3.14 --mode live|core|kernel|damaged-stack|damaged-regs [--dbg]

import argparse
import importlib.util
import json
import os
import re

import lldbtest
from lldbtest import direct, pagtest

_spec = importlib.util.spec_from_file_location(
    "gdb_native", os.path.join(os.path.dirname(lldbtest.HERE), "gdb", "test_native.py"))
gn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gn)

# "  * frame #2: 0x00007f.. libc.so.6`clock_nanosleep + 42", "frame #5: 0x00007f..",
# "frame #0: 0x.. python3.14d`f(x=1) at f.c:3:5"
_BT_RE = re.compile(r"^\s*\*?\s*frame #(\d+): (0x[0-9a-f]+)(?: (\S+?)`(.*))?$")


def lldb_bt(text):
    """[(pc, name or None, offset or None)] of a `thread backtrace`."""
    out = []
    for line in text.splitlines():
        m = _BT_RE.match(line)
        if not m or int(m.group(1)) != len(out):
            continue
        rest = m.group(4) or ""
        name = re.split(r" \+ \d+|\(| at ", rest, maxsplit=1)[0] or None
        off = re.search(r" \+ (\d+)", rest)
        if name and name.startswith("___lldb_unnamed_symbol"):
            name = off = None
        out.append((int(m.group(2), 16), name, int(off.group(1)) if off else None))
    return out


def bt_command(tid):
    return ("script lldb.debugger.HandleCommand('thread backtrace %%d' %% "
            "lldb.process.GetThreadByID(%d).GetIndexID())" % tid)


def run_damaged(chk, a, fx, tid):
    victim = fx.pid if a.mode == "damaged-stack" else tid  # as tests/gdb/test_native.py
    exe, core = gn.gdbtest.exe_of(fx.pid), str(fx.gcore())
    sec, text = lldbtest.run_lldb([exe, "-c", core], [direct(
        "sp", "script print(hex(lldb.process.GetThreadByID(%d).GetFrameAtIndex(0).GetSP()))"
        % victim)])
    m = re.search(r"0x[0-9a-f]+", sec.get("sp", ""))
    if not m:
        lldbtest.fail("no sp for thread %d:\n%s" % (victim, text[-2000:]))
    bad = os.path.join(fx.dir, "damaged.core")
    gn.damage(core, bad, a.mode, victim, int(m.group(0), 16))
    sec, text = lldbtest.run_lldb([exe, "-c", bad], [
        direct("native", "py-async-graph --native --format json"),
        direct("alive", "script print('alive')")])
    chk.eq("lldb answers after --native on a damaged core", "alive\n", sec.get("alive"))
    doc, _ = gn.split_json(sec.get("native", ""))
    notes = [l for l in text.splitlines() if "warning:" in l]  # lldb writes it to stderr
    chk.true("the command still prints the graph (JSON)", doc is not None, text[-2000:])
    if doc is None:
        return
    stack = gn.thread_stack(doc, victim) or []
    native = [f for f in stack if f.get("kind") == "native"]
    chk.true("thread %d keeps its Python frames" % victim,
             any(f.get("kind") != "native" for f in stack), json.dumps(stack)[:2000])
    chk.true("its native stack is cut short (%d frames)" % len(native), len(native) <= 3,
             json.dumps(native)[:2000])
    gn.check_note(chk, "thread %d" % victim, doc, victim, notes)


def check_offsets(chk, what, bt, stack):
    """Where lldb prints "name + N", our frame of that pc has offset N."""
    by_pc = {f.get("pc"): f for f in stack if f.get("kind") == "native"}
    bad = ["%s: %s != %s" % (name, by_pc[pc].get("offset"), off) for pc, name, off in bt
           if off is not None and pc in by_pc and by_pc[pc].get("offset") != off]
    chk.true("%s: the offsets of lldb's names" % what, not bad, "\n".join(bad))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--mode", required=True,
                    choices=["live", "core", "kernel", "damaged-stack", "damaged-regs"])
    ap.add_argument("--dbg", action="store_true", help="the -dbg build (full DWARF)")
    a = ap.parse_args()
    chk = lldbtest.Checker("lldb --native blocked %s %s%s" % (a.mode, a.version,
                                                               "-dbg" if a.dbg else ""))
    with pagtest.Fixture("blocked", a.version, dbg=a.dbg) as fx:
        tid = gn.blocked_tid(fx)
        if a.mode.startswith("damaged"):
            run_damaged(chk, a, fx, tid)
            chk.finish()
        exe = fx.exe
        target = ([exe, "-c", gn.kernel_core(fx)] if a.mode == "kernel"
                  else lldbtest.targets(fx, a.mode, core_flag="-c")[1])
        tids = [tid, fx.pid]  # see tests/gdb/test_native.py on gcore and thread stacks
        sec, text = lldbtest.run_lldb(target, [
            direct("select", "thread select 1"), direct("select-frame", "frame select 2"),
            direct("thread-before", "thread info"), direct("frame-before", "frame info"),
            direct("native", "py-async-graph --native --format json"),
            direct("thread-after", "thread info"), direct("frame-after", "frame info")] +
            [direct("bt-%d" % t, bt_command(t)) for t in tids] +
            [direct("alive", "script print('alive')")])
        doc, _ = gn.split_json(sec.get("native", ""))
        if doc is None:
            lldbtest.fail("--native --format json printed no JSON document:\n%s" % text[-3000:])
        chk.eq("the JSON schema of --native", "py-async-graph/2", doc.get("schema"))
        for t in tids:
            stack, full = gn.thread_stack(doc, t), lldb_bt(sec.get("bt-%d" % t, ""))
            bt = [(pc, name) for pc, name, _ in full]
            chk.true("lldb's backtrace of thread %d has frames" % t, len(bt) > 0,
                     sec.get("bt-%d" % t))
            chk.true("thread %d has a merged stack" % t, bool(stack), json.dumps(doc)[:2000])
            if stack:
                # lldb's backtrace of a thread whose stack gcore lost is its
                # first frame alone; a whole one ends at the thread's start
                whole = bt[-1][0] != 0 and len(bt) > 1
                gn.check_stack(chk, "thread %d" % t, bt, stack, "lldb's backtrace", whole)
                check_offsets(chk, "thread %d" % t, full, stack)
                gn.check_symbols(chk, "thread %d" % t, stack, exe)
                note = gn.thread_stack(doc, t, "native_error")
                chk.true("thread %d: a note exactly when the stack is cut short" % t,
                         whole != bool(note), "native_error: %r, bt: %s" % (note, bt[-2:]))
        blocker = [t for t in fx.tasks() if t["name"] == fx.oracle["expect"]["blocked_task"]]
        gn.check_python(chk, "thread %d" % tid, gn.thread_stack(doc, tid) or [],
                        blocker[0]["stack"])
        for what in ("thread", "frame"):
            before, after = sec.get(what + "-before"), sec.get(what + "-after")
            chk.true("the selected %s is unchanged" % what,
                     bool(before and before.strip()) and before == after,
                     "before: %r, after: %r" % (before, after))
        chk.eq("lldb answers afterwards", "alive\n", sec.get("alive"))
    chk.finish()


if __name__ == "__main__":
    lldbtest.run_main(main)
