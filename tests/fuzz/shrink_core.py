"""Shrink a real core file into a fuzzing seed for fuzz_core.c.

Why: a gcore core of a fixture is ~20 MB, far over what libFuzzer mutates
well, but its structure is what the core reader must survive: the ELF
header, the program headers, the notes (NT_PRSTATUS, NT_PRPSINFO, NT_AUXV,
NT_FILE) and the first page of each mapped ELF file (its build-id).  This
keeps exactly those: every PT_NOTE whole, the first page of each PT_LOAD
that starts with an ELF header, and nothing of the rest (p_filesz 0, as a
core that left the memory out says).

usage: shrink_core.py CORE OUT

fuzz_core.c picks its file options by the input's size modulo 4; the
committed seed-gcore-3.14-{exe-wrong,paths,exe-missing} are seed-gcore-3.14
with 1, 2 and 3 zero bytes appended.
"""
import struct
import sys

PT_LOAD, PT_NOTE = 1, 4
PAGE = 4096


def main():
    src, out = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        data = f.read()
    ehdr = bytearray(data[:64])
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    phdrs, blobs = [], []
    at = 64 + phnum * phentsize
    for i in range(phnum):
        fields = list(struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize))
        p_type, _flags, p_off, _va, _pa, p_filesz = fields[:6]
        keep = b""
        if p_type == PT_NOTE:
            keep = data[p_off:p_off + p_filesz]
        elif p_type == PT_LOAD and data[p_off:p_off + 4] == b"\x7fELF":
            keep = data[p_off:p_off + min(p_filesz, PAGE)]
        fields[2] = at if keep else 0
        fields[5] = len(keep)
        phdrs.append(struct.pack("<IIQQQQQQ", *fields))
        blobs.append(keep)
        at += len(keep)
    struct.pack_into("<Q", ehdr, 0x20, 64)  # program headers right after the ELF header
    struct.pack_into("<Q", ehdr, 0x28, 0)  # e_shoff: no section headers
    struct.pack_into("<HHH", ehdr, 0x3A, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    with open(out, "wb") as f:
        f.write(bytes(ehdr) + b"".join(phdrs) + b"".join(blobs))


if __name__ == "__main__":
    main()
