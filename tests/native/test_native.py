#!/usr/bin/env python3
"""--native and --all-threads (issue 14) against real oracles, on one
fixtures/native_block.py process per mode and version.

Why one driver: every check needs the same blocked process read the same
three ways (live, a gcore core, a kernel core) by the same three frontends
(CLI, gdb, lldb), and the kernel core kills the process, so the kinds run
in that order on one process.

The oracles:
  * the fixture's in-process records: every Python thread's stack, the
    running task's format_call_graph(), the threads' native ids, which
    function must be on top (fixtures/native_block.py);
  * gdb's own `thread apply all bt` of the blocked thread, taken in the same
    gdb session as the gdb frontend's output (live: the same stop; cores:
    the same file), with each evaluator frame replaced by the Python frames
    it runs.  Which gdb frames are the evaluator's comes from the
    interpreter file alone (pagtest.evaluator_ranges: Debian's PGO build
    leaves the dispatch loop in an unnamed part that gdb prints as "??").

Checks, per target kind:
  oracle  gdb's bt: the blocking function on top (or, for the regex, frames
          in the interpreter binary with no name), at least one evaluator
          frame, never more than the Python frames recorded; the running
          task's `--format graph --running` equals its format_call_graph();
          for call_later, what --running says today (recorded in the log);
  native  `--native --all-threads --format json` from each frontend: each
          recorded thread's merged stack equals gdb's bt frame for frame
          (natives by name, ours null where gdb says "??"; each evaluator
          frame one run of Python frames) and its Python frames equal the
          fixture's stack; the top rule on ours; `--native` in tree, graph,
          tasks, json prints the same bytes in the CLI, gdb and lldb; the
          GIL holder (gil mode); --running on the callback (call_later);
          `--all-threads` without --native lists every recorded thread's
          Python stack.

usage: test_native.py --mode MODE --version 3.14 [--part oracle|all]
  --part oracle: only what needs no --native (gdb bt, in-process records,
  today's graph); all (the default) also the --native checks.
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gdb"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lldb"))

import elfcore  # noqa: E402
import pagtest  # noqa: E402
import gdbtest  # noqa: E402
import lldbtest  # noqa: E402

# Where gdb's unwinder and ours may name a libc frame differently: (gdb's
# name, ours) -> why.  Each entry is one real case met on this machine;
# nothing else is forgiven.
ALLOWED_NAME_DIFFS = {}


def plt_unnamed(bts, kind):
    """The one name gdb has that no ELF symbol table holds: gdb makes a
    minimal symbol "X@plt" for each PLT stub, which .symtab/.dynsym do not
    have, so by the accessor's contract our frame has no name (elfutils and
    lldb agree: seen on re 3.15's kernel core, a stop in memcpy@plt).  Such
    gdb frames are compared as unnamed; said once per thread."""
    for tid, frames in bts.items():
        for f in frames:
            if f["function"] and f["function"].endswith("@plt"):
                print("note %s: thread %d: gdb's %s is compared as unnamed (plt_unnamed)"
                      % (kind, tid, f["function"]), flush=True)
                f["function"] = None
    return bts

NATIVE_FORMATS = ["tree", "graph", "tasks", "json"]
# The modes whose blocked thread keeps running: two stops of it (the CLI's
# and a debugger's) see different pcs, so live outputs of different
# sessions are compared from the first evaluator frame down, and bytes
# across frontends on the cores (one instant each), not live.
RUNNING_MODES = ("re", "sqlite", "gil")


# ---- sequences -----------------------------------------------------------

def gdb_items(frames, evals):
    """gdb's frames -> [("eval", frame) | ("native", frame)]."""
    out = []
    for f in frames:
        in_eval = f["function"] == "_PyEval_EvalFrameDefault" or (
            f["module"] is None and f["pc"] is not None
            and any(a <= f["pc"] < b for a, b in evals))
        out.append(("eval" if in_eval else "native", f))
    return out


def our_items(stack):
    """Our merged stack -> [("py", [frames]) | ("native", frame)]: each run
    of Python frames stands for one evaluator frame."""
    out = []
    for f in stack:
        if f.get("kind") == "native":
            out.append(("native", f))
        elif out and out[-1][0] == "py":
            out[-1][1].append(f)
        else:
            out.append(("py", [f]))
    return out


def py_frames(stack):
    return [{k: f.get(k) for k in ("function", "file", "line", "kind")}
            for f in stack if f.get("kind") != "native"]


def top_natives(items):
    """The native frames above the innermost evaluator/Python frame."""
    top = []
    for kind, f in items:
        if kind != "native":
            break
        top.append(f)
    return top


def top_ok(top, rule, interp, ours):
    """The expected-top rule of the fixture on a list of native frames."""
    if not top:
        return False, "no native frame above the Python frames"
    if rule.get("module") == "interpreter":
        # The regex: _sre's static functions, no symbol in the release build.
        # _sre saves and restores its marks with libc's memcpy, so a stop
        # may land in libc first (an unexported variant: no name either).
        rest = [f for f in top if os.path.basename(f.get("module") or "") != "libc.so.6"]
        if not rest:
            return False, "only libc frames above the Python frames: %r" % top
        first = rest[0]
        mod = first.get("module")
        inside = (os.path.basename(mod or "") == interp) if ours else (mod is None)
        return inside and first.get("function") is None, (
            "top frame %r must lie in %s with no name" % (first, interp))
    names = [f.get("function") or "" for f in top]
    ok = any(re.search(p, n) for n in names for p in rule["functions"])
    if ok and rule.get("module_prefix") and ours:
        # sqlite's own frames on top, past any libc helper it called (memcpy)
        rest = [f for f in top if os.path.basename(f.get("module") or "") != "libc.so.6"]
        ok = bool(rest) and os.path.basename(rest[0].get("module") or "").startswith(
            rule["module_prefix"])
    return ok, "top natives %r match none of %r" % (names, rule["functions"])


def compare_merged(chk, what, ours_stack, gdb_frames, evals, recorded, from_eval=False):
    """Our merged stack of one thread against gdb's bt (see the header)."""
    g = gdb_items(gdb_frames, evals)
    o = our_items(ours_stack)
    if from_eval:
        # Another instant: compare from the first evaluator frame down.
        while g and g[0][0] != "eval":
            g.pop(0)
        while o and o[0][0] != "py":
            o.pop(0)
    # A native frame is its name and its pc: two unnamed libc frames
    # swapped must not pass.  The pc is the return address in both (the
    # accessor's contract), and the same process has the same addresses.
    gs = [("PY" if k == "eval" else "%s@%#x" % (f["function"] or "??", f["pc"] or 0))
          for k, f in g]
    os_ = [("PY" if k == "py" else "%s@%#x" % (f.get("function") or "??", f.get("pc") or 0))
           for k, f in o]

    def allowed(a, b):
        na, pa = a.rsplit("@", 1) if a != "PY" else (a, "")
        nb, pb = b.rsplit("@", 1) if b != "PY" else (b, "")
        return pa == pb and ALLOWED_NAME_DIFFS.get((na, nb)) is not None

    diffs = [i for i, (a, b) in enumerate(zip(gs, os_)) if a != b and not allowed(a, b)]
    chk.true("%s: merged stack == gdb bt frame for frame (%d frames)" % (what, len(gs)),
             len(gs) == len(os_) and not diffs,
             "\n gdb:  %s\n ours: %s\n first difference at %s" % (
                 gs, os_, diffs[:1] or "length %d vs %d" % (len(gs), len(os_))))
    chk.eq("%s: Python frames == the fixture's stack" % what,
           json.dumps(recorded, indent=1), json.dumps(py_frames(ours_stack), indent=1))


# ---- the text route: graph's thread blocks against gdb's bt ---------------

_ENTRY_PY = re.compile(r"^File (.+), line (\d+), in (async generator |async |generator )?(.+)\(\)$")
_NAT_FN = re.compile(r"^(\S+)\+0x[0-9a-f]+ \((.+)\)(?: at \S+:\d+)?$")
_NAT_MOD = re.compile(r"^(\S+)\+(0x[0-9a-f]+)(?: at \S+:\d+)?$")
_KIND = {None: "sync", "async ": "async", "async generator ": "async_gen", "generator ": "gen"}


def graph_thread_stacks(text):
    """`--native --all-threads --format graph` -> {thread id: [entry]}: each
    "* Thread N (...)" block's call stack, innermost first; an entry is
    ("py", {function, file, line, kind}) or ("native", "FUNC (MODULE)" |
    "MODULE+0xOFF" | "0xPC")."""
    out, cur = {}, None
    for line in (text or "").splitlines():
        m = re.match(r"^\* Thread (\d+)\b", line)
        if m:
            cur = out.setdefault(int(m.group(1)), [])
            continue
        if cur is None:
            continue
        if not line.startswith("  |   "):
            if line.strip() and not line.startswith("  + Call stack:"):
                cur = None
            continue
        e = line[6:]
        if e.startswith("[native] "):
            t = e[len("[native] "):]
            m = _NAT_FN.match(t)
            if m:
                cur.append(("native", "%s (%s)" % (m.group(1), m.group(2))))
                continue
            m = _NAT_MOD.match(t)
            cur.append(("native", "%s+%s" % (m.group(1), m.group(2)) if m else t))
            continue
        m = _ENTRY_PY.match(e)
        if m:
            f = m.group(1)
            f = f[1:-1] if f[:1] in "'\"" else f
            cur.append(("py", {"function": m.group(4), "file": f, "line": int(m.group(2)),
                               "kind": _KIND[m.group(3)]}))
        else:
            cur.append(("native", "?" + e))
    return out


def first_load_vaddr(path):
    import struct
    with open(path, "rb") as f:
        h = f.read(64)
        phoff, = struct.unpack_from("<Q", h, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", h, 0x36)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    for i in range(phnum):
        p_type, _fl, _off, vaddr = struct.unpack_from("<IIQQ", ph, i * phentsize)
        if p_type == 1:
            return vaddr & ~0xfff
    return 0


def module_bases(maps_text):
    """gdb's `info proc mappings` -> {path: load bias}: the start of the
    mapping at file offset 0 less the file's first PT_LOAD address, so that
    pc - bias is the ELF address the core prints as MODULE+0xOFF."""
    out = {}
    for line in (maps_text or "").splitlines():
        f = line.split()
        # live: start end size offset perms path; on a core gdb 13 has no perms
        if len(f) >= 5 and f[0].startswith("0x") and f[-1].startswith("/"):
            start, off, path = int(f[0], 16), int(f[3], 16), f[-1]
            path = os.path.realpath(path)
            if off == 0 and path not in out and os.path.exists(path):
                try:
                    out[path] = start - first_load_vaddr(path)
                except (OSError, ValueError):
                    pass
    return out


def gdb_text_items(frames, evals, bases, exe):
    out = []
    for k, f in gdb_items(frames, evals):
        if k == "eval":
            out.append("PY")
            continue
        path = f["module"] or exe
        mod = os.path.basename(path)
        if f["function"]:
            out.append("%s (%s)" % (f["function"], mod))
        elif os.path.realpath(path) in bases and f["pc"] is not None:
            # gdb names a library by its soname link, the mappings by the file
            out.append("%s+%#x" % (mod, f["pc"] - bases[os.path.realpath(path)]))
        else:
            out.append("%#x" % (f["pc"] or 0))
    return out


def compare_text(chk, what, entries, gdb_frames, evals, bases, exe, recorded, from_eval=False):
    g = gdb_text_items(gdb_frames, evals, bases, exe)
    o = []
    for k, e in entries:
        if k == "py":
            if not o or o[-1] != "PY":
                o.append("PY")
        else:
            o.append(e)
    if from_eval:
        g = g[g.index("PY"):] if "PY" in g else g
        o = o[o.index("PY"):] if "PY" in o else o
    chk.eq("%s: graph's merged stack == gdb bt frame for frame" % what,
           "\n".join(g) + "\n", "\n".join(o) + "\n")
    chk.eq("%s: graph's Python frames == the fixture's stack" % what,
           json.dumps(recorded, indent=1), json.dumps([e for k, e in entries if k == "py"], indent=1))


# ---- the frontends ---------------------------------------------------------

def native_commands(mode):
    """(label, command arguments) run on every target by every frontend."""
    cmds = [("json", ["--native", "--all-threads", "--format", "json"]),
            ("alljson", ["--all-threads", "--format", "json"])]
    cmds += [("n-" + f, ["--native", "--format", f]) for f in NATIVE_FORMATS]
    cmds += [("running", ["--native", "--running", "--format", "graph"]),
             ("allgraph", ["--native", "--all-threads", "--format", "graph"]),
             ("alltree", ["--native", "--all-threads", "--format", "tree"])]
    return cmds


def gdb_session(target, cmds, part):
    """One gdb session: its own bt first, then the frontend's commands (the
    target stays stopped in between: one instant)."""
    c = [("bt", "thread apply all bt"), ("sp", "thread apply all p/x $sp"),
         ("maps", "info proc mappings")]
    if part == "all":
        c += [(l, "py-async-graph " + " ".join(a)) for l, a in cmds]
    sec, text = gdbtest.run_gdb(list(target) + ["-iex", "set auto-load safe-path /nonexistent"],
                                c, source=(part == "all"))
    return pagtest.parse_gdb_bt(sec.get("bt", "")), sec, text


def stack_pointers(text):
    """`thread apply all p/x $sp` -> {LWP: sp}."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^Thread \d+ \((?:Thread 0x[0-9a-f]+ \()?(?:LWP|process) (\d+)", line)
        if m:
            cur = int(m.group(1))
            continue
        m = re.match(r"^\$\d+ = (0x[0-9a-f]+)", line)
        if m and cur is not None:
            out[cur] = int(m.group(1), 16)
    return out


def zeroed_stack(core, sp):
    """Does the core hold only zeros at a thread's stack pointer?  gdb 13's
    gcore writes a thread stack that glibc guards with MADV_GUARD_INSTALL
    (VmFlags "gu": no PROT_NONE mapping any more) as zeros: its chunked
    read of the mapping fails on the guard page.  The kernel's core does
    not lose it."""
    off = elfcore.file_offset(elfcore.load_segments(core), sp, 256)
    if off is None:
        return False
    with open(core, "rb") as f:
        f.seek(off)
        return f.read(256) == bytes(256)


def lldb_session(target, cmds):
    P = lldbtest.probe
    sec, text = lldbtest.run_lldb(list(target), [P(l, "py-async-graph " + " ".join(a))
                                                 for l, a in cmds])
    return {l: (p.get("out") if isinstance(p, dict) and p.get("ok") else None)
            for l, p in sec.items()}, sec, text


def lldb_stack_slot_frames(got, want, kind):
    """The one named lldb case: on a core, lldb-16's unwinder may take a
    stack slot for a return address right above an _sre frame of the
    interpreter (no module maps it: the text is a bare [native] 0xPC, an
    address in the thread's stack), where gdb and elfutils go on to the
    right caller (seen on 3.15's re and gil cores, gcore's and the
    kernel's).  Such extra lines, which the CLI's output does not have, are
    dropped, and said; any other difference stays a failure."""
    bare = re.compile(r"^\s*\|?\s*\[native\] 0x[0-9a-f]+$")
    kept = [l for l in got.split("\n") if not (bare.match(l) and l not in want)]
    out = "\n".join(kept)
    if out != got:
        print("note %s: lldb: dropped %d bare stack-address frame(s) (lldb_stack_slot_frames)"
              % (kind, got.count("\n") - out.count("\n")), flush=True)
    return out


def cli_outputs(target, cmds):
    out = {}
    for label, args in cmds:
        rc, o, e = pagtest.run([pagtest.cli_path()] + list(args) + list(target), timeout=300)
        out[label] = (rc, o, e)
    return out


def without_notes(text, notes):
    """A debugger's section less the CLI's stderr lines (the one note or
    warning line, which a debugger prints with its output)."""
    if text is None:
        return None
    drop = {l for l in (notes or "").splitlines() if l.strip()}
    return "".join(l for l in text.splitlines(True) if l.rstrip("\n") not in drop)


def load(text):
    text = "".join(l for l in (text or "").splitlines(True) if not l.startswith("py-async-graph: "))
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def threads_by_id(doc):
    return {t.get("native_id"): t for t in (doc or {}).get("threads", [])}


# ---- the checks of one target kind -----------------------------------------

def check_kind(chk, kind, fx, part, target_cli, target_gdb, target_lldb, evals):
    o = fx.oracle
    ex = o["expect"]
    mode = ex["mode"]
    blocked = ex["blocked_thread"]
    interp = ex["interpreter"]
    cmds = native_commands(mode)
    t0 = time.monotonic()
    bts, gsec, gtext = gdb_session(target_gdb, cmds, part)
    bts = plt_unnamed(bts, kind)
    print("note %s: gdb session %.1fs" % (kind, time.monotonic() - t0), flush=True)

    # -- the oracle half: gdb's bt and the in-process records --
    sps = stack_pointers(gsec.get("sp", ""))
    lost = set()
    for tid, stack in sorted(o["stacks"].items()):
        tid = int(tid)
        frames = bts.get(tid)
        if not chk.true("%s: gdb bt has thread %d" % (kind, tid), frames,
                        "\n" + gtext[-3000:]):
            continue
        if kind == "gcore" and tid in sps and zeroed_stack(target_gdb[-1], sps[tid]):
            # The named gcore case (zeroed_stack): nothing to unwind; gdb
            # stops at once, with a zero return address.
            lost.add(tid)
            print("note gcore: thread %d's stack is zeros in gdb's core (glibc guard "
                  "pages, see zeroed_stack)" % tid, flush=True)
            chk.true("gcore: thread %d: gdb's bt stops at the zeroed stack" % tid,
                     len(frames) <= 2 and frames[-1]["pc"] in (0, None) or len(frames) == 1,
                     str(frames))
            continue
        g = gdb_items(frames, evals)
        n_eval = sum(1 for k, _ in g if k == "eval")
        chk.true("%s: thread %d: gdb bt has 1..%d evaluator frames (%d)" % (
            kind, tid, len(stack), n_eval), 1 <= n_eval <= len(stack),
            "\n" + "\n".join(str(f) for f in frames))
        if tid == blocked or tid == ex.get("gil_holder"):
            rule = ex["top"] if tid == blocked else {"module": "interpreter"}
            ok, why = top_ok(top_natives(g), rule, interp, ours=False)
            chk.true("%s: thread %d: gdb's top frames name the blocker" % (kind, tid), ok, why)
    if kind == "live" or part == "oracle":
        rc, out, err = pagtest.run([pagtest.cli_path(), "--format", "graph", "--running"]
                                   + list(target_cli), timeout=300)
        if ex["running_graph"] is not None:
            chk.eq("%s: --format graph --running == the task's format_call_graph()" % kind,
                   ex["running_graph"].rstrip("\n") + "\n", out)
        else:
            print("note %s: today's --running on a callback: rc %d, %r" % (
                kind, rc, (out + err).strip()[:200]), flush=True)
    if part == "oracle":
        return

    # -- the --native half --
    cli = cli_outputs(target_cli, cmds)
    lsec, lraw, ltext = lldb_session(target_lldb, cmds)
    for label, args in cmds:
        rc, out, err = cli[label]
        said = any(("the native stack of thread %d is incomplete" % t) in err or
                   ("the Python stack of thread %d stops at" % t) in err or
                   "thread stack(s) stop at an unreadable or zeroed frame" in err for t in lost)
        if lost and rc == 10 and said:
            # The named gcore case: partial output, said in one line.
            chk.true("%s: CLI %s: exit 10, the zeroed stack said" % (kind, " ".join(args)), True)
            continue
        chk.true("%s: CLI %s exits 0" % (kind, " ".join(args)), rc == 0, err.strip()[-500:])
    bases = module_bases(gsec.get("maps"))
    graphs = {"cli": cli["allgraph"][1],
              "gdb": without_notes(gsec.get("allgraph"), cli["allgraph"][2]),
              "lldb": without_notes(lsec.get("allgraph"), cli["allgraph"][2])}
    for fe, text in graphs.items():
        if fe == "lldb" and kind != "live" and text is not None:
            text = lldb_stack_slot_frames(text, graphs["cli"], kind)
        blocks = graph_thread_stacks(text)
        for tid, stack in sorted(o["stacks"].items()):
            tid = int(tid)
            entries = blocks.get(tid)
            if not chk.true("%s: %s: graph --all-threads has a block for thread %d" % (kind, fe, tid),
                            entries, (text or "")[-1500:]):
                continue
            volatile = (kind == "live" and fe != "gdb" and mode in RUNNING_MODES
                        and (tid == blocked or tid == ex.get("gil_holder")))
            if tid in lost:
                continue
            if bts.get(tid):
                compare_text(chk, "%s: %s: thread %d" % (kind, fe, tid), entries, bts[tid], evals,
                             bases, fx.exe, stack, from_eval=volatile)
    docs = {"cli": load(cli["json"][1]), "gdb": load(gsec.get("json")), "lldb": load(lsec.get("json"))}
    for fe, doc in docs.items():
        if not chk.true("%s: %s --native --all-threads json parses, schema 2" % (kind, fe),
                        doc is not None and doc.get("schema") == "py-async-graph/2",
                        (cli["json"][1] + cli["json"][2])[:800] if fe == "cli" else
                        str(gsec.get("json") if fe == "gdb" else lraw.get("json"))[:800]):
            continue
        th = threads_by_id(doc)
        # The same instant as gdb's bt: the gdb frontend always, the others
        # on cores; live, a running thread is compared from the evaluator down.
        for tid, stack in sorted(o["stacks"].items()):
            tid = int(tid)
            mine = th.get(tid, {}).get("stack")
            if not chk.true("%s: %s: thread %d has a merged stack" % (kind, fe, tid), mine):
                continue
            volatile = (kind == "live" and fe != "gdb" and mode in RUNNING_MODES
                        and (tid == blocked or tid == ex.get("gil_holder")))
            if tid in lost:
                # Only the frame the registers give: the same in ours.
                top = [f for f in mine if f.get("kind") == "native"][:1]
                chk.eq("%s: %s: thread %d (zeroed stack): the one frame gdb has" % (kind, fe, tid),
                       bts[tid][0]["pc"], top[0].get("pc") if top else None)
            elif bts.get(tid):
                compare_merged(chk, "%s: %s: thread %d" % (kind, fe, tid), mine, bts[tid], evals,
                               stack, from_eval=volatile)
            if (tid == blocked or tid == ex.get("gil_holder")) and tid not in lost:
                rule = ex["top"] if tid == blocked else {"module": "interpreter"}
                ok, why = top_ok(top_natives(our_items(mine)), rule, interp, ours=True)
                chk.true("%s: %s: thread %d: top frames name the blocker" % (kind, fe, tid), ok, why)
        if mode == "gil":
            gil = doc.get("gil") or {}
            chk.eq("%s: %s: the document's gil names the holder" % (kind, fe),
                   {"locked": True, "holder": ex["gil_holder"]},
                   {"locked": gil.get("locked"), "holder": gil.get("holder")})
        adoc = load(cli["alljson"][1] if fe == "cli" else gsec.get("alljson") if fe == "gdb"
                    else lsec.get("alljson"))
        ath = threads_by_id(adoc)
        for tid, stack in sorted(o["stacks"].items()):
            got = ath.get(int(tid), {}).get("stack")
            if int(tid) in lost and got != stack:
                # 3.14's entry frames live on the C stack: with it zeroed the
                # walk of `previous` ends early.  A shorter stack must be
                # the recorded one's prefix, and must be said.
                raw = {"cli": cli["alljson"][1] + cli["alljson"][2], "gdb": gsec.get("alljson"),
                       "lldb": json.dumps(lraw.get("alljson"))}[fe]
                notes = raw or ""
                chk.true("%s: %s: --all-threads: thread %s (zeroed stack): a prefix, said" % (
                    kind, fe, tid), got and stack[:len(got)] == got and ("incomplete" in notes or "stops at" in notes
                                                   or "stop at" in notes),
                    "%d of %d frames; notes: %s" % (len(got or []), len(stack), notes[-300:]))
                continue
            chk.eq("%s: %s: --all-threads: thread %s's Python stack" % (kind, fe, tid),
                   json.dumps(stack, indent=1), json.dumps(got, indent=1))
    # Same bytes in the three frontends (json: without source/stats).
    if kind == "live" and mode in RUNNING_MODES:
        print("note live: %s mode: the blocked thread runs, each frontend stops it at "
              "another pc; the bytes are compared on the cores" % mode, flush=True)
    else:
        for label, args in cmds:
            c = cli[label][1]
            for fe, got in (("gdb", without_notes(gsec.get(label), cli[label][2])),
                            ("lldb", without_notes(lsec.get(label), cli[label][2]))):
                if label in ("json", "alljson", "n-json"):
                    try:
                        same = got is not None and gdbtest.strip_json(got) == gdbtest.strip_json(c)
                    except ValueError:
                        same = False
                    chk.true("%s: %s %s == CLI (without source/stats)" % (kind, fe, " ".join(args)),
                             same, "\n" + str(got)[:1500])
                else:
                    if fe == "lldb" and kind != "live" and got is not None and got != c:
                        got = lldb_stack_slot_frames(got, c, kind)
                    chk.eq("%s: %s %s == CLI" % (kind, fe, " ".join(args)), c, got)
    tree = cli["n-tree"][1] + cli["n-tree"][2]
    if mode == "gil":
        holder = ex["gil_holder"]
        chk.true("%s: --native tree/note names the GIL holder thread %d" % (kind, holder),
                 ("thread %d" % holder) in tree and "GIL" in tree, tree[-1500:])
        # ... and its blocking function: the line naming the holder carries
        # the holder's innermost native frame as the same output prints it.
        at = cli["alltree"][1]
        m = re.search(r"^Thread %d\b.*\n\s*\[native\] (.+)$" % holder, at, re.M)
        lines = [l for l in (at + cli["alltree"][2]).splitlines()
                 if "GIL held by thread %d" % holder in l]
        chk.true("%s: the GIL line names the holder's blocking function" % kind,
                 m and lines and any(m.group(1) in l for l in lines),
                 "holder's top: %s; GIL lines: %s" % (m and m.group(1), lines))
    run_out = cli["running"][1] + cli["running"][2]
    if mode == "call_later":
        cb = o["stacks"][str(blocked)][0]
        chk.true("%s: --running shows the callback's Python frame" % kind,
                 "no task matches" not in run_out and
                 ("line %d, in %s" % (cb["line"], cb["function"])) in run_out, run_out[-1500:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--part", choices=["oracle", "all"], default="all")
    ap.add_argument("--kinds", default="live,gcore,kernel")
    a = ap.parse_args()
    chk = gdbtest.Checker("native %s %s (%s)" % (a.mode, a.version, a.part))
    t_start = time.monotonic()
    kd = tempfile.mkdtemp(prefix="pag-native-kcore-")
    try:
        with pagtest.Fixture("native_block", a.version, args=("--mode", a.mode)) as fx:
            ex = fx.oracle["expect"]
            if not pagtest.wait_thread(fx.pid, ex["blocked_thread"], ex["state"]):
                gdbtest.fail("thread %d never reached state %s" % (ex["blocked_thread"], ex["state"]))
            if ex.get("gil_holder") and not pagtest.wait_thread(fx.pid, ex["gil_holder"], "R"):
                gdbtest.fail("the GIL holder %d does not run" % ex["gil_holder"])
            exe = fx.exe
            if pagtest.elf_is_pie(exe):
                gdbtest.fail("%s is PIE: evaluator_ranges gives file addresses only" % exe)
            evals = pagtest.evaluator_ranges(exe)
            chk.true("the evaluator's code is found in %s" % exe, evals)
            kinds = a.kinds.split(",")
            if "live" in kinds:
                check_kind(chk, "live", fx, a.part, [str(fx.pid)], ["-p", str(fx.pid)],
                           ["-p", str(fx.pid)], evals)
            if "gcore" in kinds:
                core = fx.gcore()
                check_kind(chk, "gcore", fx, a.part, ["--core", core, "--exe", exe],
                           [exe, core], [exe, "-c", core], evals)
            if "kernel" in kinds:
                core = pagtest.kernel_core(fx.pid, kd)
                check_kind(chk, "kernel", fx, a.part, ["--core", core, "--exe", exe],
                           [exe, core], [exe, "-c", core], evals)
    finally:
        for n in os.listdir(kd):
            os.unlink(os.path.join(kd, n))
        os.rmdir(kd)
    print("note: %.1fs in all" % (time.monotonic() - t_start), flush=True)
    chk.finish()


if __name__ == "__main__":
    gdbtest.run_main(main)
