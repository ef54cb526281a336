"""check_dylib: what a cross-built lldb plugin dylib must be, checked with
LLVM's own Mach-O tools (llvm-objdump, llvm-nm, llvm-cxxfilt) and zig's
copy of Apple's libSystem stub (a .tbd: every symbol libSystem exports).

    check(chk, path, arch)   arch "arm64" | "x86_64"; chk a gdbtest.Checker

  - a Mach-O MH_DYLIB of that CPU (the file's header, and llvm-objdump's);
  - lldb::PluginInitialize(lldb::SBDebugger) defined and exported;
  - every undefined symbol is the SB API (lldb::SB*) or exported by
    libSystem for that arch on macOS 11 (zig's deployment floor) -- with
    -undefined dynamic_lookup the linker would accept anything, so this is
    where a stray dependency shows;
  - the only dylib it needs is /usr/lib/libSystem.B.dylib (no liblldb, so
    Xcode's and Homebrew's lldb both bind it; no libstdc++/libc++ dylib);
  - no Linux-only call (process_vm_readv, ptrace, /proc/PID/mem's pread,
    glibc internals) and no "/proc/" path compiled in: direct reads are
    the Linux fast path only.
"""
import glob
import os
import re
import shutil
import subprocess

import machoimage

ENTRY = "__ZN4lldb16PluginInitializeENS_10SBDebuggerE"
LINUX_ONLY = {"_process_vm_readv", "_process_vm_writev", "_ptrace", "_pread64", "_open64",
              "___errno_location", "_dl_iterate_phdr", "___libc_start_main",
              "_gnu_get_libc_version", "_memfd_create", "_prctl", "_syscall"}


def tool(name):
    """An LLVM tool: the -16 or -14 build, else the unversioned one."""
    for n in (name + "-16", name + "-14", name):
        p = shutil.which(n)
        if p:
            return p
    raise FileNotFoundError("%s not found (Debian: apt-get install llvm)" % name)


def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), p.returncode, p.stderr[-2000:]))
    return p.stdout


def libsystem_symbols(arch, macos="11"):
    """Symbols libSystem (and the libraries it re-exports) exports for
    arch-macos, from zig's libSystem.<macos>.tbd."""
    zdir = os.path.dirname(machoimage.zig())
    tbds = glob.glob(os.path.join(zdir, "lib", "libc", "darwin", "libSystem.%s.tbd" % macos))
    if not tbds:
        raise FileNotFoundError("no libSystem.%s.tbd beside %s" % (macos, machoimage.zig()))
    text = open(tbds[0], encoding="utf-8").read()
    out = set()
    block = re.compile(r"- targets:\s*\[([^\]]*)\](.*?)(?=\n\s*- targets:|\n---|\n\.\.\.|\Z)",
                       re.S)
    for m in block.finditer(text):
        if "%s-macos" % arch not in [t.strip() for t in m.group(1).split(",")]:
            continue
        for lst in re.finditer(r"(?:weak-symbols|thread-local-symbols|symbols):\s*\[([^\]]*)\]",
                               m.group(2)):
            out.update(s.strip().strip("'\"") for s in lst.group(1).split(",") if s.strip())
    return out


def check(chk, path, arch):
    what = "%s (%s)" % (os.path.basename(path), arch)
    with open(path, "rb") as f:
        cpu, filetype, _ = machoimage._header(f.read(32))
    chk.eq("%s: Mach-O CPU type" % what, arch, machoimage.CPU.get(cpu, hex(cpu)))
    chk.eq("%s: Mach-O file type MH_DYLIB (6)" % what, 6, filetype)
    hdr = run([tool("llvm-objdump"), "--macho", "--private-header", path])
    want = {"arm64": "ARM64", "x86_64": "X86_64"}[arch]
    chk.true("%s: llvm-objdump reads an MH_MAGIC_64 %s DYLIB" % (what, want),
             re.search(r"MH_MAGIC_64\s+%s\s+\S+\s+\S+\s+DYLIB" % want, hdr) is not None, hdr)

    defined = run([tool("llvm-nm"), "-gU", "-j", path]).split()
    chk.true("%s: exports %s" % (what, ENTRY), ENTRY in defined)
    demangled = run([tool("llvm-cxxfilt"), "-n", ENTRY[1:]]).strip()
    chk.eq("%s: the entry point demangles to lldb's" % what,
           "lldb::PluginInitialize(lldb::SBDebugger)", demangled)

    undef = run([tool("llvm-nm"), "-u", "-j", path]).split()
    sb = [s for s in undef if s.startswith(("__ZN4lldb", "__ZNK4lldb"))]
    names = run([tool("llvm-cxxfilt"), "-n"] + [s[1:] for s in sb]).splitlines() if sb else []
    chk.true("%s: imports the SB API (%d symbols, all lldb::SB*)" % (what, len(sb)),
             len(sb) > 20 and all(n.startswith("lldb::SB") for n in names),
             [n for n in names if not n.startswith("lldb::SB")][:10])
    system = libsystem_symbols(arch)
    other = [s for s in undef if s not in sb]
    stray = sorted(s for s in other if s not in system)
    chk.true("%s: the other %d undefined symbols are all libSystem's (macOS 11 %s)"
             % (what, len(other), arch), len(system) > 1000 and not stray, stray[:20])
    linux = sorted((set(undef) | set(defined)) & LINUX_ONLY)
    chk.true("%s: no Linux-only symbol" % what, not linux, linux)
    with open(path, "rb") as f:
        blob = f.read()
    chk.true("%s: no /proc path compiled in" % what, b"/proc/" not in blob)

    ident = run([tool("llvm-objdump"), "--macho", "--dylib-id", path]).splitlines()[1:]
    ident = [l.strip() for l in ident if l.strip()]
    chk.eq("%s: its id names no build directory" % what,
           ["@rpath/libpy-async-graph-lldb.dylib"], ident)
    used = run([tool("llvm-objdump"), "--macho", "--dylibs-used", path]).splitlines()[1:]
    libs = sorted(l.strip().split(" (")[0] for l in used if l.strip())
    libs = [l for l in libs if l not in ident]
    chk.eq("%s: links only libSystem" % what, ["/usr/lib/libSystem.B.dylib"], libs)
