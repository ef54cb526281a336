#!/usr/bin/env python3
"""elf2macho: an x86-64 Linux ELF core (gdb's gcore) rewritten as a Mach-O
MH_CORE file, for lldb's Mach-O core plugin (ProcessMachCore).

Why: lldb on macOS reads Mach-O cores (`process save-core`), and this is the
only way to run that plugin on a real CPython process's memory on Linux.
Layout written (all little-endian, <mach-o/loader.h>):
  mach_header_64   MH_MAGIC_64, CPU_TYPE_X86_64, MH_CORE
  LC_THREAD        one per NT_PRSTATUS: x86_THREAD_STATE64 (the 21 GPRs)
  LC_NOTE          "main bin spec" (v2: type 3 "standalone", the stand-in's
                   UUID and slide): lldb then loads the stand-in given on its
                   command line at that slide (DynamicLoaderStatic); further
                   images are placed with `target modules load --slide`
  LC_SEGMENT_64    one per PT_LOAD with bytes, plus one per file-backed range
                   of the NT_FILE note that the core left out (read-only
                   text and data: gcore skips them), filled from that file,
                   so the Mach-O core holds what the CLI reads from --exe
Nothing else of the ELF core is kept.

usage: elf2macho.py ELFCORE OUT [--main-bin MACHO@SLIDE]
  --main-bin: the x86-64 Mach-O stand-in and the slide (hex) that puts it
  at the ELF process's addresses.
"""
import argparse
import os
import struct
import sys

PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_FILE = 1, 0x46494C45
MH_MAGIC_64, MH_CORE = 0xFEEDFACF, 4
CPU_TYPE_X86_64, CPU_SUBTYPE_X86_64_ALL = 0x01000007, 3
LC_SEGMENT_64, LC_THREAD, LC_UUID, LC_NOTE = 0x19, 0x4, 0x1B, 0x31
X86_THREAD_STATE64, X86_THREAD_STATE64_COUNT = 4, 42
# user_regs_struct (NT_PRSTATUS pr_reg) order, and x86_thread_state64_t's
ELF_REGS = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs "
            "eflags rsp ss fs_base gs_base ds es fs gs").split()
MACH_REGS = ("rax rbx rcx rdx rdi rsi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rip eflags cs "
             "fs gs").split()
PAGE = 4096


def die(why):
    sys.exit("elf2macho: " + why)


def read_elf_core(path):
    """(loads [(vaddr, bytes-offset, filesz, memsz, flags)], threads [regs dict],
    files [(start, end, file offset, path)])."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        die("%s: not a 64-bit little-endian ELF file" % path)
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    if e_type != 4 or e_machine != 62:
        die("%s: not an x86-64 ELF core (type %d, machine %d)" % (path, e_type, e_machine))
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    loads, threads, files = [], [], []
    for i in range(phnum):
        p_type, p_flags, off, vaddr, _, filesz, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == PT_LOAD:
            loads.append((vaddr, off, filesz, memsz, p_flags))
        elif p_type == PT_NOTE:
            pos, end = off, off + filesz
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
                desc = pos + 12 + ((namesz + 3) & ~3)
                body = data[desc:desc + descsz]
                pos = desc + ((descsz + 3) & ~3)
                if ntype == NT_PRSTATUS and len(body) >= 112 + 27 * 8:
                    regs = dict(zip(ELF_REGS, struct.unpack_from("<27Q", body, 112)))
                    regs["tid"], = struct.unpack_from("<i", body, 32)
                    threads.append(regs)
                elif ntype == NT_FILE:
                    count, pagesz = struct.unpack_from("<QQ", body, 0)
                    names = body[16 + count * 24:].split(b"\0")
                    for k in range(count):
                        s, e, pg = struct.unpack_from("<QQQ", body, 16 + k * 24)
                        files.append((s, e, pg * pagesz, os.fsdecode(names[k])))
    return data, loads, threads, files


def macho_uuid(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, cputype, _, _, ncmds, _ = struct.unpack_from("<IiiIII", data, 0)
    if magic != MH_MAGIC_64:
        die("%s: not a 64-bit Mach-O file" % path)
    if cputype != CPU_TYPE_X86_64:
        die("%s: an x86-64 core needs an x86-64 stand-in (cputype 0x%x)" % (path, cputype))
    pos = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd == LC_UUID:
            return data[pos + 8:pos + 24]
        pos += size
    die("%s: no LC_UUID" % path)


def uncovered(start, end, loads):
    """Parts of [start, end) that no PT_LOAD with bytes covers."""
    parts = [(start, end)]
    for vaddr, _, filesz, _, _ in loads:
        if not filesz:
            continue
        lo, hi = vaddr, vaddr + filesz
        nxt = []
        for a, b in parts:
            if hi <= a or lo >= b:
                nxt.append((a, b))
                continue
            if a < lo:
                nxt.append((a, lo))
            if hi < b:
                nxt.append((hi, b))
        parts = nxt
    return parts


def convert(core, out, main_bin=None):
    data, loads, threads, files = read_elf_core(core)
    if not threads:
        die("%s: no NT_PRSTATUS note (no thread)" % core)
    segs = []  # (vaddr, bytes, prot)
    for vaddr, off, filesz, memsz, flags in loads:
        if filesz:
            prot = (1 if flags & 4 else 0) | (2 if flags & 2 else 0) | (4 if flags & 1 else 0)
            segs.append((vaddr, data[off:off + filesz], prot))
    for s, e, foff, path in files:
        for a, b in uncovered(s, e, loads):
            try:
                with open(path, "rb") as f:
                    f.seek(foff + (a - s))
                    chunk = f.read(b - a)
            except OSError as err:
                die("%s (mapped at 0x%x): %s" % (path, s, err))
            chunk += b"\0" * (b - a - len(chunk))  # past the file's end: zero pages
            segs.append((a, chunk, 1 | 4))
    segs.sort(key=lambda x: x[0])

    cmds, notes = [], []  # notes: (owner, payload)
    for t in threads:
        state = struct.pack("<21Q", *[t[r] if r not in ("fs", "gs") else 0 for r in MACH_REGS])
        cmds.append(struct.pack("<IIII", LC_THREAD, 16 + len(state), X86_THREAD_STATE64,
                                X86_THREAD_STATE64_COUNT) + state)
    if main_bin:
        path, slide = main_bin
        # version 2, type 3 (standalone), no address (UINT64_MAX), the slide,
        # the UUID, 4 KiB pages, platform unspecified
        notes.append((b"main bin spec", struct.pack("<IIQQ16sII", 2, 3, 0xFFFFFFFFFFFFFFFF,
                                                    slide, macho_uuid(path), 12, 0)))
    ncmds = len(cmds) + len(notes) + len(segs)
    sizeofcmds = sum(len(c) for c in cmds) + 40 * len(notes) + 72 * len(segs)
    pos = (32 + sizeofcmds + PAGE - 1) & ~(PAGE - 1)
    body = []
    for owner, payload in notes:
        cmds.append(struct.pack("<II16sQQ", LC_NOTE, 40, owner, pos, len(payload)))
        body.append((pos, payload))
        pos += len(payload)
    pos = (pos + PAGE - 1) & ~(PAGE - 1)
    for vaddr, chunk, prot in segs:
        cmds.append(struct.pack("<II16sQQQQiiII", LC_SEGMENT_64, 72, b"", vaddr, len(chunk), pos,
                                len(chunk), prot, prot, 0, 0))
        body.append((pos, chunk))
        pos = (pos + len(chunk) + PAGE - 1) & ~(PAGE - 1)
    with open(out, "wb") as f:
        f.write(struct.pack("<IiiIIIII", MH_MAGIC_64, CPU_TYPE_X86_64, CPU_SUBTYPE_X86_64_ALL,
                            MH_CORE, ncmds, sizeofcmds, 0, 0))
        for c in cmds:
            f.write(c)
        for off, chunk in body:
            f.seek(off)
            f.write(chunk)
    return {"threads": [t["tid"] for t in threads], "segments": len(segs),
            "from_files": sum(1 for s in segs if s[2] == 5)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("core")
    ap.add_argument("out")
    ap.add_argument("--main-bin", help="MACHO@SLIDE (hex)")
    a = ap.parse_args()
    main_bin = None
    if a.main_bin:
        path, _, slide = a.main_bin.rpartition("@")
        main_bin = (path, int(slide, 16))
    print(convert(a.core, a.out, main_bin))


if __name__ == "__main__":
    main()
