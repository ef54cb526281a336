"""Write the hand-made regression inputs of fuzz_core.c from a seed core.

Why: the fuzzer finds what it finds; these are the cases the core reader
must survive that a mutator is unlikely to hit, each replayed by CTest on
every run (run_fuzz.sh core):
  nt-file-count-wraps    NT_FILE count 2^61 + 1: 24 * count wraps to 24
  nt-file-devices        NT_FILE paths /dev/watchdog, /dev/zero, a FIFO-ish
                         /proc path, "": no device may be opened
  nt-file-missing-dirs   5,000 files in 5,000 missing directories: more
                         than the missing-directory set holds
  nt-file-no-names       entries but no path strings at all
  nt-file-pagesize-huge  page size 2^63: offsets overflow
  phdr-offset-wraps      a PT_LOAD whose p_offset + p_filesz wraps
  nt-file-path-newline   the executable's NT_FILE path holds a newline, a
                         tab and ESC: the error line must stay one line
(found-exe-path-with-newlines, beside them, is what fuzz_core found: an
executable path of 2 KiB spliced from another note, newlines included.)

usage: make_core_regressions.py SEED OUTDIR
"""
import os
import struct
import sys

NT_FILE, PT_NOTE, PT_LOAD = 0x46494C45, 4, 1


def phdrs(data):
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    return [(phoff + i * phentsize, struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize))
            for i in range(phnum)]


def notes(buf):
    off = 0
    while off + 12 <= len(buf):
        namesz, descsz, ntype = struct.unpack_from("<III", buf, off)
        doff = off + 12 + ((namesz + 3) & ~3)
        yield off, ntype, doff, descsz
        off = doff + ((descsz + 3) & ~3)


def nt_file(data):
    """(entries, page size) of the NT_FILE note, entries as (start, end, pgoff, path)."""
    for _at, ph in phdrs(data):
        if ph[0] != PT_NOTE:
            continue
        blob = data[ph[2]:ph[2] + ph[5]]
        for _h, ntype, doff, dsz in notes(blob):
            if ntype == NT_FILE:
                desc = blob[doff:doff + dsz]
                count, pagesz = struct.unpack_from("<QQ", desc)
                names = desc[16 + 24 * count:].split(b"\0")
                return [struct.unpack_from("<QQQ", desc, 16 + 24 * k) + (names[k],)
                        for k in range(count)], pagesz
    raise RuntimeError("no NT_FILE note")


def with_desc(data, desc):
    """The core with its NT_FILE note retyped and a new one (desc) appended
    in a new PT_NOTE segment; the program headers move to the end."""
    data = bytearray(data)
    for _at, ph in phdrs(data):
        if ph[0] != PT_NOTE:
            continue
        for h, ntype, _d, _s in notes(bytes(data[ph[2]:ph[2] + ph[5]])):
            if ntype == NT_FILE:
                struct.pack_into("<I", data, ph[2] + h + 8, 0x50414721)
    old = [bytes(data[a:a + 56]) for a, _ph in phdrs(data)]
    note = struct.pack("<III", 5, len(desc), NT_FILE) + b"CORE\0\0\0\0" + desc
    note += b"\0" * (-len(note) % 4)
    data += b"\0" * (-len(data) % 8)
    note_off = len(data)
    data += note + b"\0" * (-len(note) % 8)
    new_phoff = len(data)
    data += struct.pack("<IIQQQQQQ", PT_NOTE, 0, note_off, 0, 0, len(note), 0, 4) + b"".join(old)
    struct.pack_into("<Q", data, 0x20, new_phoff)
    struct.pack_into("<H", data, 0x38, len(old) + 1)
    return bytes(data)


def desc_of(entries, pagesz, count=None):
    d = struct.pack("<QQ", len(entries) if count is None else count, pagesz)
    d += b"".join(struct.pack("<QQQ", s, e, o) for s, e, o, _p in entries)
    return d + b"".join(p + b"\0" for _s, _e, _o, p in entries)


def main():
    seed, out = sys.argv[1], sys.argv[2]
    with open(seed, "rb") as f:
        data = f.read()
    ents, pagesz = nt_file(data)
    top = max(e for _s, e, _o, _p in ents)
    base = (top + (1 << 32)) & ~0xFFFFFFF
    cases = {}
    cases["nt-file-count-wraps"] = with_desc(data, desc_of(ents[:1], pagesz, (1 << 61) + 1))
    dev = [(base + k * 0x2000, base + k * 0x2000 + 0x1000, 0, p) for k, p in enumerate(
        [b"/dev/watchdog", b"/dev/zero", b"/proc/self/fd/0", b"", b"/dev/tty"])]
    cases["nt-file-devices"] = with_desc(data, desc_of(dev + ents, pagesz))
    miss = [(base + k * 0x2000, base + k * 0x2000 + 0x1000, 0,
             b"/nonexistent/pag-%05d/lib.so" % k) for k in range(5000)]
    cases["nt-file-missing-dirs"] = with_desc(data, desc_of(miss + ents, pagesz))
    cases["nt-file-no-names"] = with_desc(data, desc_of(ents, pagesz)[:16 + 24 * len(ents)])
    cases["nt-file-pagesize-huge"] = with_desc(data, desc_of(ents, 1 << 63))
    wrap = bytearray(data)
    for at, ph in phdrs(data):
        if ph[0] == PT_LOAD and ph[5]:
            struct.pack_into("<Q", wrap, at + 8, (1 << 64) - 16)  # p_offset
            break
    cases["phdr-offset-wraps"] = bytes(wrap)
    exe = ents[0][3]  # the first entry is the executable (mapped lowest)
    odd = [(st, en, off, b"/usr/bin/py\nthon\t3\x1b[2J" if p == exe else p)
           for st, en, off, p in ents]
    cases["nt-file-path-newline"] = with_desc(data, desc_of(odd, pagesz))
    os.makedirs(out, exist_ok=True)
    for name, blob in cases.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
