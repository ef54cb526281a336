#!/usr/bin/env python3
"""The same damaged core gives the same error line everywhere (issue 18,
defect 7).

Why: the user guide documents one line and one exit code per condition;
a user who opens a damaged core in gdb or lldb rather than with the CLI
must read the same diagnosis.  Each case below damages a real gcore core
of the `basic` fixture at test time and runs it through the CLI
(`--core C --exe E`), gdb (`gdb -batch E C`, the `py-async-graph`
command) and lldb (`lldb-16 -b E -c C`, through lldbprobe).  The oracle
is the CLI's line (what the guide documents); gdb's and lldb's must be
identical once the CLI's naming of its target ("core file PATH: ",
"core file PATH ") is taken out, since a debugger has one target and
never names it.  The status must agree too: failed (the CLI's exit code
other than 0/10: gdb and lldb fail the command), partial (exit 10: lldb
gives a warning) or success; gdb has no status but failed or printed.

usage: frontend_lines.py VERSION [--list]
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "gdb"))
sys.path.insert(0, os.path.join(HERE, "..", "lldb"))
import pagtest  # noqa: E402
import gdbtest  # noqa: E402
import lldbtest  # noqa: E402

NT_PRSTATUS, NT_FILE = 1, 0x46494C45


# ---- the core file, as plain bytes (readelf's view, not our code's) --------
def phdrs(data):
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    out = []
    for i in range(phnum):
        out.append((phoff + i * phentsize,) + struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize))
    return out  # (where, type, flags, offset, vaddr, paddr, filesz, memsz, align)


def notes(data):
    """(file offset of the note header, type, desc offset, desc size)."""
    out = []
    for _, p_type, _, off, _, _, filesz, _, _ in phdrs(data):
        if p_type != 4:
            continue
        pos, end = off, off + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            desc = pos + 12 + ((namesz + 3) & ~3)
            out.append((pos, ntype, desc, descsz))
            pos = desc + ((descsz + 3) & ~3)
    return out


def nt_file(data):
    """[(start, end, file offset in bytes, path)] of the NT_FILE note."""
    for _, ntype, desc, size in notes(data):
        if ntype != NT_FILE:
            continue
        count, page = struct.unpack_from("<QQ", data, desc)
        names = data[desc + 16 + count * 24:desc + size].split(b"\0")
        return [struct.unpack_from("<QQQ", data, desc + 16 + i * 24)[:2] +
                (struct.unpack_from("<Q", data, desc + 16 + i * 24 + 16)[0] * page,
                 names[i].decode("utf-8", "surrogateescape")) for i in range(count)]
    return []


def file_offset(data, addr):
    for _, p_type, _, off, vaddr, _, filesz, _, _ in phdrs(data):
        if p_type == 1 and vaddr <= addr < vaddr + filesz:
            return off + addr - vaddr
    return None


def symbol_value(path, name):
    out = subprocess.run(["readelf", "-sW", path], capture_output=True, text=True).stdout
    m = re.search(r"^\s*\d+:\s+([0-9a-f]+)\s+\d+\s+OBJECT\s+\w+\s+\w+\s+\d+\s+%s(@|\s|$)"
                  % re.escape(name), out, re.M)
    return int(m.group(1), 16) if m else None


def section_addr(path, name):
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
    m = re.search(r"\]\s+%s\s+\S+\s+([0-9a-f]+)" % re.escape(name), out)
    return int(m.group(1), 16) if m else None


def load_base(maps, path):
    return min(s for s, _, off, p in maps if p == path and off == 0)


# ---- the damage -------------------------------------------------------------
def cut(data, frac):
    return data[:len(data) * frac // 100]


def patched(data, at, new):
    b = bytearray(data)
    b[at:at + len(new)] = new
    return bytes(b)


def zero_link_map(data):
    """r_debug.r_map = 0 in ld.so's data: the dynamic linker's list of
    loaded modules is gone (what a debugger's solib list is read from)."""
    ld = [p for _, _, _, p in nt_file(data) if "/ld-linux" in p][0]
    addr = load_base(nt_file(data), ld) + symbol_value(ld, "_r_debug") + 8
    return patched(data, file_offset(data, addr), b"\0" * 8)


def nt_file_note(data, how):
    for _, ntype, desc, size in notes(data):
        if ntype == NT_FILE:
            fill = b"\0" * size if how == "zero" else bytes((i * 131 + 7) & 0xFF for i in range(size))
            return patched(data, desc, fill)
    raise AssertionError("no NT_FILE note")


def no_threads(data):
    """Every NT_PRSTATUS note retyped: a core that records no thread."""
    for pos, ntype, _, _ in notes(data):
        if ntype == NT_PRSTATUS:
            data = patched(data, pos + 8, struct.pack("<I", 0x7FFF0001))
    return data


def hole_over(data, addr):
    """The PT_LOAD holding addr keeps its memory size but loses its bytes
    (p_filesz 0), as when gcore or the kernel's filter leaves a mapping out."""
    for where, p_type, _, off, vaddr, _, filesz, memsz, _ in phdrs(data):
        if p_type == 1 and vaddr <= addr < vaddr + memsz:
            return patched(data, where + 32, struct.pack("<Q", 0))
    raise AssertionError("no PT_LOAD at %#x" % addr)


# ---- the three frontends ----------------------------------------------------
def norm_cli(line, core):
    """The CLI's line without its naming of the target."""
    line = line.replace("core file %s: " % core, "")
    return line.replace("core file %s " % core, "core file ")


def status_of_cli(rc):
    return "ok" if rc == 0 else "partial" if rc == 10 else "failed"


def run_cli(core, exe):
    rc, _, err = gdbtest.run_cli(["--core", core, "--exe", exe])
    lines = [l for l in err.splitlines() if l.strip()]
    return status_of_cli(rc), norm_cli(lines[-1], core) if lines else "", rc


def run_gdb(core, exe):
    """gdb's status and line: the command runs through gdb.execute, so that
    an error (gdb.error) tells failure from a note printed with the output."""
    probe = ("python exec(\"try:\\n gdb.execute('py-async-graph')\\n print('@@STATUS ok')\\n"
             "except gdb.error as e:\\n print('@@STATUS failed', e)\")")
    sec, text = gdbtest.run_gdb([exe, core], [("g", probe)])
    s = sec.get("g")
    m = re.search(r"^@@STATUS (ok|failed) ?(.*)$", s or "", re.M)
    if not m:
        return "no-output", text[-500:]
    if m.group(1) == "failed":
        return "failed", m.group(2)
    ours = [l for l in s[:m.start()].splitlines() if l.startswith("py-async-graph: ")]
    return "printed", ours[-1] if ours else ""


def run_lldb(core, exe):
    sec, text = lldbtest.run_lldb([exe, "-c", core], [lldbtest.probe("g", "py-async-graph")])
    p = sec.get("g")
    if not isinstance(p, dict):
        return "no-output", text[-500:]
    errs = [l for l in p["err"].splitlines() if l.strip()]
    line = errs[-1] if errs else ""
    for pre in ("error: ", "warning: "):
        if line.startswith(pre):
            line = line[len(pre):]
    if p["failed"]:
        return "failed", line
    return ("partial" if any(e.startswith("warning: ") for e in errs) else "ok"), line


def main():
    version = sys.argv[1]
    only = sys.argv[2:]
    failures = []
    with pagtest.Fixture("basic", version) as fx, tempfile.TemporaryDirectory() as d:
        exe = fx.exe
        core = fx.gcore(os.path.join(d, "core"))
        with open(core, "rb") as f:
            data = f.read()
        maps = nt_file(data)
        rt = load_base(maps, exe) if False else None
        rt_addr = section_addr(exe, ".PyRuntime")
        other = pagtest.python_tree([v for v in pagtest.VERSIONS if v != version][0])[0]
        cases = [
            ("intact", lambda: data, exe),
            ("truncated at 10%", lambda: cut(data, 10), exe),
            ("truncated at 50%", lambda: cut(data, 50), exe),
            ("truncated at 99%", lambda: cut(data, 99), exe),
            ("truncated in the ELF header", lambda: data[:40], exe),
            ("link map zeroed", lambda: zero_link_map(data), exe),
            ("NT_FILE zeroed", lambda: nt_file_note(data, "zero"), exe),
            ("NT_FILE garbled", lambda: nt_file_note(data, "garble"), exe),
            ("no threads", lambda: no_threads(data), exe),
            ("PT_LOAD hole over .PyRuntime", lambda: hole_over(data, rt_addr), exe),
            ("wrong executable (other CPython)", lambda: data, other),
        ]
        for name, make, e in cases:
            if only and not any(o in name for o in only):
                continue
            path = os.path.join(d, re.sub(r"\W+", "_", name))
            with open(path, "wb") as f:
                f.write(make())
            cli = run_cli(path, e)
            gdb = run_gdb(path, e)
            lldb = run_lldb(path, e)
            # gdb has no exit status: only failed / printed (with its note)
            want_gdb = (cli[0] if cli[0] == "failed" else "printed", cli[1])
            same = cli[:2] == lldb and want_gdb == gdb
            print("%s %s\n  cli  %s (exit %d)\n  gdb  %s\n  lldb %s" % (
                "ok  " if same else "FAIL", name, cli[:2], cli[2], gdb, lldb), flush=True)
            if not same:
                failures.append(name)
            os.unlink(path)
    if failures:
        print("%d case(s) differ: %s" % (len(failures), ", ".join(failures)))
        sys.exit(1)
    print("frontend lines: all cases agree")


if __name__ == "__main__":
    gdbtest.run_main(main)
