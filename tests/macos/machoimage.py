"""machoimage: Mach-O images that carry CPython's real debug tables, built
with the same zig that cross-builds the plugin (tests/macos).

Why: lldb finds _PyRuntime and the AsyncioDebug table in a Mach-O module as
the __DATA,PyRuntime and __DATA,AsyncioDebug sections (CPython's
GENERATE_DEBUG_SECTION on Apple).  No macOS CPython is at hand on Linux, so
the sections' bytes are copied from the Debian builds' ELF files (.PyRuntime
in the executable, .AsyncioDebug in the executable or in the _asyncio
extension): the tables in them -- cookie, version, every offset and struct
size -- are the real ones.  The images have no symbols for the tables, so a
lookup can only succeed through the sections.

API:
    zig() -> path of zig (PAG_ZIG, else the one scripts/setup.sh installs)
    elf_section(path, name) -> (sh_addr, bytes) or None
    build(arch, out, sections, dylib=False, workdir) -> out
        sections: [("PyRuntime", bytes), ("AsyncioDebug", bytes)]
    macho_sections(path) -> {"__DATA,PyRuntime": (addr, size), ...},
        read from the file's load commands (not through lldb)
    macho_arch(path) -> "arm64" | "x86_64" | hex cputype
"""
import os
import struct
import subprocess

CPU = {0x01000007: "x86_64", 0x0100000C: "arm64"}


def zig():
    z = os.environ.get("PAG_ZIG")
    if z:
        return z
    cache = os.environ.get("PAG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                        "py-async-graph")
    return os.path.join(cache, "zig-0.11.0", "zig")


def elf_section(path, name):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError("%s: not a 64-bit ELF file" % path)
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)

    def sh(i):
        return struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize)
    stroff = sh(shstrndx)[4]
    for i in range(shnum):
        nm, typ, _, addr, off, size = sh(i)[:6]
        end = data.index(b"\0", stroff + nm)
        if data[stroff + nm:end].decode() == name:
            return addr, (b"\0" * size if typ == 8 else data[off:off + size])  # 8: NOBITS
    return None


def build(arch, out, sections, dylib=False, workdir=None):
    """A Mach-O executable (or dylib) for arch ("aarch64"/"x86_64") whose
    __DATA segment holds each (name, bytes) as section __DATA,name."""
    workdir = workdir or os.path.dirname(os.path.abspath(out))
    base = os.path.join(workdir, os.path.basename(out))
    asm = []
    for name, blob in sections:
        binf = "%s.%s.bin" % (base, name)
        with open(binf, "wb") as f:
            f.write(blob)
        asm += ["\t.section __DATA,%s" % name, "\t.p2align 5", '\t.incbin "%s"' % binf]
    entry = "_pag_stand_in" if dylib else "_main"
    asm += ["\t.text", "\t.globl %s" % entry, "%s:" % entry, "\tret", ""]
    src = base + ".S"
    with open(src, "w") as f:
        f.write("\n".join(asm))
    cmd = [zig(), "cc", "-target", "%s-macos" % arch, "-o", out, src]
    if dylib:
        cmd[4:4] = ["-shared", "-Wl,-install_name,%s" % os.path.abspath(out)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise RuntimeError("zig failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stdout))
    return out


def _header(data):
    magic, cputype, _, filetype, ncmds, _ = struct.unpack_from("<IiiIII", data, 0)
    if magic != 0xFEEDFACF:
        raise ValueError("not a 64-bit little-endian Mach-O file")
    return cputype & 0xFFFFFFFF, filetype, ncmds


def macho_arch(path):
    with open(path, "rb") as f:
        cpu = _header(f.read(32))[0]
    return CPU.get(cpu, hex(cpu))


def macho_sections(path):
    with open(path, "rb") as f:
        data = f.read()
    _, _, ncmds = _header(data)
    out, pos = {}, 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd == 0x19:  # LC_SEGMENT_64
            nsects, = struct.unpack_from("<I", data, pos + 64)
            for k in range(nsects):
                s = pos + 72 + k * 80
                sect = data[s:s + 16].rstrip(b"\0").decode()
                seg = data[s + 16:s + 32].rstrip(b"\0").decode()
                addr, sz = struct.unpack_from("<QQ", data, s + 32)
                out["%s,%s" % (seg, sect)] = (addr, sz)
        pos += size
    return out


def elf_first_load(path):
    """The p_vaddr of an ELF file's first PT_LOAD (0 for a PIE or a shared
    library, the link address for a fixed executable)."""
    with open(path, "rb") as f:
        data = f.read(65536)
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _, _, vaddr = struct.unpack_from("<IIQQ", data, phoff + i * phentsize)
        if p_type == 1:
            return vaddr & ~0xFFF
    raise ValueError("%s: no PT_LOAD" % path)
