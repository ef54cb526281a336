# py-async-graph for gdb: facts about files that gdb does not give the
# command (issue 18, defect 7), read beside py-async-graph.py like
# pag_abi.py.  Only facts are gathered here -- which core file gdb was asked
# to load, which files the core maps, their bytes; what they mean (is the
# core whole, where is a section) is decided by the C core
# (common/src/corefile.c), so that gdb says what the CLI says:
#   - gdb refuses a truncated core and keeps no record of it, so the command
#     used to say "no process" where the CLI says "truncated";
#   - with the core's link map gone, gdb lists no shared library, so the
#     `.AsyncioDebug` table of the `_asyncio` extension was not found,
#     although the core's NT_FILE note (`info proc mappings`) maps it.
# Run with `lib` (the loaded core library), `ABI` and `_READ_FN` in scope.
# Never reads or writes the inferior.

import ctypes
import os
import re

import gdb

# gdb's options that take a value as the next argument (gdb --help, gdb 13).
_VALUE_OPTS = {"ex", "iex", "eval-command", "init-eval-command", "x", "ix", "command",
               "init-command", "p", "pid", "c", "core", "d", "directory", "cd", "s", "symbols",
               "e", "exec", "se", "tty", "i", "interpreter", "data-directory", "D", "b", "l"}
# "info proc mappings" on a core: start, end, size, offset, [perms,] path
_MAP_RE = re.compile(r"^\s*0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+"
                     r"(?:[rwxps-]{4}\s+)?(/.*?)\s*$")


def _reader(f):
    """The core's (read, ctx, size) arguments for an open file."""
    def read(ctx, off, n, dst):
        try:
            f.seek(off)
            data = f.read(n)
            ctypes.memmove(dst, data, len(data))
            return ABI.ERR["OK"] if len(data) == n else ABI.ERR["READ"]
        except Exception:  # never let a Python error pass as PAG_OK
            return ABI.ERR["READ"]
    return _READ_FN(read), None, ctypes.c_uint64(os.fstat(f.fileno()).st_size)


def file_fact(fn, path, *args):
    """Call the core's fn(read, ctx, size, *args) on a file read through a
    callback; None when the file cannot be opened."""
    try:
        with open(path, "rb") as f:
            return fn(*_reader(f), *args)
    except OSError:
        return None


def exe_check(src, msg, length):
    """A core, and an executable gdb was given that is not the core's: the
    error code and the CLI's line (into msg); else OK."""
    if not src.core or not src.executable:
        return ABI.ERR["OK"]
    try:
        with open(src.core, "rb") as c, open(src.executable, "rb") as e:
            return lib.pag_core_exe_check(*_reader(c), *_reader(e), src.executable,
                                          ctypes.c_void_p(msg), ctypes.c_size_t(length))
    except OSError:
        return ABI.ERR["OK"]


def command_line_core():
    """The core file named on gdb's own command line (gdb EXE CORE, -c CORE,
    --core=CORE), or None."""
    try:
        with open("/proc/self/cmdline", "rb") as f:
            argv = f.read().decode("utf-8", "surrogateescape").split("\0")[1:-1]
    except OSError:
        return None
    pos, core, i = [], None, 0
    while i < len(argv):
        arg, i = argv[i], i + 1
        if arg == "--args":
            break
        if not arg.startswith("-") or arg == "-":
            pos.append(arg)
            continue
        opt, eq, val = arg.lstrip("-").partition("=")
        if not eq and opt in _VALUE_OPTS:
            val, i = (argv[i] if i < len(argv) else ""), i + 1
        if opt in ("c", "core"):
            core = val
        elif opt in ("p", "pid"):
            return None
    if core is None and len(pos) > 1 and not pos[1].isdigit():
        core = pos[1]
    return core


def no_process(msg, length):
    """gdb has no process: the error code and line (into msg) -- the core's
    own when the core gdb was given is cut short, else "no process"."""
    core = command_line_core()
    buf = ctypes.create_string_buffer(1024)
    e = file_fact(lib.pag_core_file_check, core, None, buf, ctypes.c_size_t(len(buf))) \
        if core else None
    if e is None or e in (ABI.ERR["OK"], ABI.ERR["NOT_FOUND"]):
        e, buf.value = ABI.ERR["NO_PROCESS"], (b"no process: attach to a CPython process (gdb -p "
                                               b"PID) or load a core file (gdb EXE CORE)")
    line = buf.value[:max(length - 1, 0)] + b"\0"
    ctypes.memmove(msg, line, len(line))
    return e


def add_unlisted(target, name):
    """Once per section name: add to target.sections[name] its places in
    the files the core maps that gdb did not load."""
    if name in target.asked:
        return
    target.asked.add(name)
    lst = target.sections.setdefault(name, [])
    lst += [r for r in unlisted_sections(name) if r not in lst]


def unlisted_sections(name):
    """[(address, size)] of section `name` in files the core maps (NT_FILE)
    that gdb has no objfile for."""
    try:
        text = gdb.execute("info proc mappings", to_string=True)
    except gdb.error:
        return []
    maps = {}
    for m in filter(None, map(_MAP_RE.match, text.splitlines())):
        maps.setdefault(m.group(4), []).append(tuple(int(m.group(k), 16) for k in (1, 2, 3)))
    known = {os.path.realpath(o.filename) for o in gdb.objfiles() if o.filename}
    out = []
    for path, ranges in maps.items():
        if os.path.realpath(path) in known or not any(off == 0 for _, _, off in ranges):
            continue
        addr, size, dyn = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_int()
        if file_fact(lib.pag_elf_find_section, path, name.encode(), ctypes.byref(addr),
                     ctypes.byref(size), ctypes.byref(dyn)) != ABI.ERR["OK"]:
            continue
        a = addr.value + (min(s for s, _, off in ranges if off == 0) if dyn.value else 0)
        # only where the file is really mapped
        if any(s <= a and a + size.value <= e for s, e, _ in ranges):
            out.append((a, size.value))
    return out
