"""The PT_LOAD segments of an ELF64 core, and where an address lies in the
file: what the damage tests need to patch a real core in place.  Only the
standard library (struct), so that it also loads inside gdb's and lldb's
own Python (tests/hardening/table_mutation.py runs there)."""
import struct


def load_segments(core):
    """(vaddr, file offset, filesz) of every PT_LOAD of an ELF64 core."""
    with open(core, "rb") as f:
        hdr = f.read(64)
        if hdr[:4] != b"\x7fELF" or hdr[4] != 2:
            raise RuntimeError("%s is not an ELF64 file" % core)
        phoff, = struct.unpack_from("<Q", hdr, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", hdr, 0x36)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    segs = []
    for i in range(phnum):
        p_type, _fl, off, vaddr, _pa, filesz, _memsz, _al = struct.unpack_from(
            "<IIQQQQQQ", ph, i * phentsize)
        if p_type == 1:
            segs.append((vaddr, off, filesz))
    return segs


def file_offset(segs, addr, length=1):
    """File offset of [addr, addr+length) if the core holds all of it, else None."""
    for vaddr, off, filesz in segs:
        if vaddr <= addr and addr + length <= vaddr + filesz:
            return off + (addr - vaddr)
    return None
