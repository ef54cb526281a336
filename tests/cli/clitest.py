"""Shared helpers for the CLI and core test drivers (Python 3.11).

Every check compares the real py-async-graph output with a real oracle: the
fixture's own asyncio.format_call_graph() text, `python3.X -m asyncio
pstree/ps PID`, or the live run of the same process (for cores).
"""
import json
import os
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import pagtest  # noqa: E402

SKIP = 77


def cli_path():
    return pagtest.cli_path()


def run(args, timeout=180, env=None):
    """Run the CLI; return (exit code, stdout text, stderr text)."""
    cmd = [cli_path()] + [str(a) for a in args]
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return -999, "", "TIMEOUT after %ss: %s" % (timeout, " ".join(cmd))
    return (p.returncode, p.stdout.decode("utf-8", "surrogateescape"),
            p.stderr.decode("utf-8", "surrogateescape"))


def json_without_source(text):
    d = json.loads(text)
    d.pop("source", None)
    d.pop("stats", None)
    return d


class Checker:
    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0
        self.notes = []

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failures.append(what)
            print("FAIL: %s" % what)
            if detail:
                print(detail if len(detail) < 6000 else detail[:6000] + "\n[...]")
        return cond

    def note(self, text):
        self.notes.append(text)
        print("NOTE: " + text)

    def one_error_line(self, rc, err, want_rc, what, contains=None):
        lines = err.splitlines()
        self.check(rc == want_rc, "%s: exit code %s, want %s" % (what, rc, want_rc), err)
        self.check(len(lines) == 1 and lines[0].startswith("py-async-graph: "),
                   "%s: exactly one 'py-async-graph: ' line on stderr" % what, err)
        if contains is not None:
            self.check(contains in err, "%s: stderr mentions %r" % (what, contains), err)

    def finish(self):
        print("%s: %d checks passed, %d failed" % (self.name, self.passed, len(self.failures)))
        sys.exit(1 if self.failures else 0)


def same_text(ours, oracle):
    """ours is the CLI's stdout for one block; oracle is format_call_graph text
    (print() adds the newline)."""
    return ours == oracle.rstrip("\n") + "\n"


lines_contained = pagtest.lines_contained




# -- reading and crafting ELF cores (tests that damage a copy of a real core) --

PT_LOAD, PT_NOTE = 1, 4
NT_FILE = 0x46494C45


def core_phdrs(data):
    """[(offset of the header, p_type, p_offset, p_vaddr, p_filesz, p_memsz)] of an ELF64 core."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    out = []
    for i in range(phnum):
        h = phoff + i * phentsize
        p_type, _fl, p_off, p_va, _pa, p_filesz, p_memsz = struct.unpack_from("<IIQQQQQ", data, h)
        out.append((h, p_type, p_off, p_va, p_filesz, p_memsz))
    return out


def core_notes(data):
    """(offset of the note header, type, offset of the desc, desc size) of every note."""
    for _h, p_type, p_off, _va, p_filesz, _ms in core_phdrs(data):
        if p_type != PT_NOTE:
            continue
        off = p_off
        while off + 12 <= p_off + p_filesz:
            namesz, descsz, ntype = struct.unpack_from("<III", data, off)
            doff = off + 12 + ((namesz + 3) & ~3)
            yield off, ntype, doff, descsz
            off = doff + ((descsz + 3) & ~3)


def core_files(data):
    """The first NT_FILE note: [(start, end, page offset in bytes, path, offset of the path)]."""
    for _h, ntype, doff, _dsz in core_notes(data):
        if ntype != NT_FILE:
            continue
        count, pagesz = struct.unpack_from("<QQ", data, doff)
        pos = doff + 16 + 24 * count
        out = []
        for k in range(count):
            st, en, off = struct.unpack_from("<QQQ", data, doff + 16 + 24 * k)
            end = data.index(b"\0", pos)
            out.append((st, en, off * pagesz, bytes(data[pos:end]).decode("utf-8", "surrogateescape"), pos))
            pos = end + 1
        return out
    raise RuntimeError("no NT_FILE note")
