"""A core whose NT_FILE note lists ~160,000 mapped files is read in seconds,
with the same output as the intact core.

Why: the core target groups NT_FILE entries into modules by path.  That used
to be a linear search and a realloc per entry (quadratic: this core took
149-193 s before, 1.2-1.4 s after, on a busy 2-core machine); it is a hash
table grown geometrically now, and every per-module pass over the mappings
is linear.  Then one failed open() per listed file was half of what was
left: a directory found missing is remembered (0.6-0.85 CPU s before that,
about 0.25 after).  The limit is 1 s of CPU time, best of 3 runs.

The crafted core is a gcore core of the `basic` fixture with its NT_FILE note
replaced: the real entries plus ENTRIES entries for files that do not exist
(distinct paths at distinct addresses outside every PT_LOAD), placed before
the real ones so that every lookup has to pass them all.  The new note goes
into a new PT_NOTE segment at the end of the file (program headers moved
there too); the old note's type is changed so that nobody reads it.

usage: core_many_files.py VERSION [ENTRIES]
"""
import os
import resource
import struct
import sys
import tempfile
import time

from clitest import Checker, json_without_source, pagtest, run

NT_FILE = 0x46494C45
PT_NOTE = 4
LIMIT_S = 1.0  # CPU seconds (user + system) of the best of RUNS runs
WALL_S = 8.0  # and no run may take longer than this on the clock
RUNS = 3


def notes(buf):
    """(offset of the note header, type, desc offset, desc size) of each note."""
    off = 0
    while off + 12 <= len(buf):
        namesz, descsz, ntype = struct.unpack_from("<III", buf, off)
        doff = off + 12 + ((namesz + 3) & ~3)
        yield off, ntype, doff, descsz
        off = doff + ((descsz + 3) & ~3)


def craft(core, out, entries):
    with open(core, "rb") as f:
        data = bytearray(f.read())
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    phdrs = [bytes(data[phoff + i * phentsize:phoff + (i + 1) * phentsize]) for i in range(phnum)]
    old = None
    for ph in phdrs:
        p_type, _fl, p_off, _va, _pa, p_filesz = struct.unpack_from("<IIQQQQ", ph)
        if p_type != PT_NOTE:
            continue
        for hoff, ntype, doff, dsz in notes(bytes(data[p_off:p_off + p_filesz])):
            if ntype == NT_FILE and old is None:
                old = bytes(data[p_off + doff:p_off + doff + dsz])
                struct.pack_into("<I", data, p_off + hoff + 8, 0x50414721)  # no longer NT_FILE
    if old is None:
        raise RuntimeError("no NT_FILE note in %s" % core)
    count, pagesz = struct.unpack_from("<QQ", old)
    real = [struct.unpack_from("<QQQ", old, 16 + 24 * k) for k in range(count)]
    names = old[16 + 24 * count:].split(b"\0")[:count]
    top = max(e for _s, e, _o in real)
    base = (top + (1 << 32)) & ~0xFFFFFFF  # far above every real mapping
    fake = [(base + k * 0x2000, base + k * 0x2000 + 0x1000, 0) for k in range(entries)]
    fnames = [b"/nonexistent/pag-crafted/m%06d.so" % k for k in range(entries)]
    ents, paths = fake + real, fnames + names
    desc = struct.pack("<QQ", len(ents), pagesz) + b"".join(struct.pack("<QQQ", *e) for e in ents)
    desc += b"".join(p + b"\0" for p in paths)
    note = struct.pack("<III", 5, len(desc), NT_FILE) + b"CORE\0\0\0\0" + desc
    note += b"\0" * (-len(note) % 4)
    while len(data) % 8:
        data.append(0)
    note_off = len(data)
    data += note
    while len(data) % 8:
        data.append(0)
    new_phoff = len(data)
    newph = struct.pack("<IIQQQQQQ", PT_NOTE, 0, note_off, 0, 0, len(note), 0, 4)
    for ph in [newph] + phdrs:
        data += ph
    struct.pack_into("<Q", data, 0x20, new_phoff)
    struct.pack_into("<H", data, 0x38, phnum + 1)
    with open(out, "wb") as f:
        f.write(data)
    return len(note)


def timed(args):
    """rc, stdout, stderr, wall seconds, CPU seconds (user + system) of one run.

    CPU time, not the clock: on a loaded 2-core machine the clock also counts
    the time other processes had the CPU.  The child's own rusage is what it
    spent, and the best of RUNS runs drops a cold page cache."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    rc, out, err = run(args, timeout=300)
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return rc, out, err, wall, cpu


def main():
    version = sys.argv[1] if len(sys.argv) > 1 else "3.14"
    entries = int(sys.argv[2]) if len(sys.argv) > 2 else 160000
    c = Checker("core with %d NT_FILE entries" % entries)
    with tempfile.TemporaryDirectory() as d:
        with pagtest.Fixture("basic", version) as fx:
            core = fx.gcore(path=os.path.join(d, "core"))
        crafted = os.path.join(d, "crafted")
        size = craft(core, crafted, entries)
        c.note("NT_FILE note of %d entries, %.1f MB" % (entries + 1, size / 1e6))
        for fmt in ("tree", "json"):
            rc0, want, err0, t0, _c0 = timed(["--core", core, "--format", fmt])
            c.check(rc0 == 0, "intact core (%s): exit 0" % fmt, err0)
            runs = [timed(["--core", crafted, "--format", fmt]) for _ in range(RUNS)]
            rc, got, err, _t, _c = runs[0]
            walls, cpus = [r[3] for r in runs], [r[4] for r in runs]
            c.note("%s: intact core %.2f s; crafted core %s s CPU, %s s wall" % (
                fmt, t0, "/".join("%.2f" % x for x in cpus), "/".join("%.2f" % x for x in walls)))
            c.check(all(r[:3] == runs[0][:3] for r in runs),
                    "crafted core (%s): the same result on every run" % fmt)
            c.check(rc == 0 and err == "", "crafted core (%s): exit 0, nothing on stderr" % fmt,
                    "rc=%s\n%s" % (rc, err[:2000]))
            same = (json_without_source(got) == json_without_source(want) if fmt == "json" and rc == 0
                    else got == want)
            c.check(same, "crafted core (%s): the same output as the intact core" % fmt,
                    "--- intact\n%s\n--- crafted\n%s" % (want[:3000], got[:3000]))
            c.check(min(cpus) < LIMIT_S, "crafted core (%s): read in %.2f CPU s, best of %d (limit %.1f s)"
                    % (fmt, min(cpus), RUNS, LIMIT_S))
            c.check(max(walls) < WALL_S, "crafted core (%s): every run under %.0f s on the clock (%.2f s)"
                    % (fmt, WALL_S, max(walls)))
    c.finish()


if __name__ == "__main__":
    main()
