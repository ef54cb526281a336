# py-async-graph for gdb: print the asyncio task graph of a CPython inferior
# (live or core file), read-only.
#
# Why this file exists: gdb already knows how to read the inferior's memory
# and where every module is loaded, so the gdb frontend is only a thin layer.
# It loads the C core (libpy-async-graph-core.so) through ctypes, hands it
# its hooks (open the inferior as a target: read memory, find a section or
# symbol; the selected thread; the --stats counters) and prints what the
# core's pag_command_main() says.  Options, sub-commands, help text and
# output all live in the core, so this prints exactly what the CLI prints.
# The ABI numbers and struct layouts come from pag_abi.py, which the build
# generates from the C headers beside this script; none is typed here.
#
# Load it with:  source /usr/local/share/py-async-graph/gdb/py-async-graph.py
# It runs in gdb's embedded Python (3.11 on gdb 13); it never runs code in the
# inferior and never writes its memory.

import ctypes
import os
import re

import gdb

# Filled in by CMake (see gdb/CMakeLists.txt): the library's directory, as
# installed and relative to this script's directory (so that a moved
# install still finds it); placeholders are ignored when sourced from the tree.
_CONFIGURED_LIBDIR = "@PAG_GDB_LIBDIR@"
_RELATIVE_LIBDIR = "@PAG_GDB_REL_LIBDIR@"
_LIBNAME = "libpy-async-graph-core.so"
# gdb's "source" defines __file__ only while the script runs, and not at all
# when another sourced script already set it: remember it now, if it is ours.
try:
    _PAG_HERE = (os.path.dirname(os.path.realpath(__file__))
                 if os.path.basename(__file__).startswith("py-async-graph") else None)
except NameError:
    _PAG_HERE = None


def _load(name, ns):
    # A file of this frontend beside the script: pag_abi.py, pag_facts.py, pag_native.py.
    path = os.path.join(_PAG_HERE or ".", name)
    try:
        with open(path, encoding="utf-8") as f:
            exec(compile(f.read(), path, "exec"), ns)
    except OSError as e:
        raise gdb.GdbError("py-async-graph: cannot read %s (made by the build): %s" % (path, e))
    return type(name[:-3], (), ns)


ABI = _load("pag_abi.py", {})
PAG_OK, PAG_ERR_READ, PAG_ERR_NOT_FOUND = ABI.ERR["OK"], ABI.ERR["READ"], ABI.ERR["NOT_FOUND"]
_P, _S, _U64P = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint64)
_READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, _P, ctypes.c_uint64, _S, _P)
_FIND_FN = ctypes.CFUNCTYPE(ctypes.c_int, _P, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint,
                            _U64P, _U64P)
_MODULE_FN = ctypes.CFUNCTYPE(ctypes.c_int, _P, ctypes.c_uint64, _P, _S)


def _struct(name, fields):
    # A ctypes mirror of a C struct, checked against the layout the build wrote.
    cls = type(name, (ctypes.Structure,), {"_fields_": fields})
    if ctypes.sizeof(cls) != ABI.SIZEOF[name] or any(
            getattr(cls, f).offset != ABI.OFFSETOF[name + "." + f] for f, _ in fields):
        raise gdb.GdbError("py-async-graph: %s does not match pag_abi.py: rebuild" % name)
    return cls


# --native: gdb's own frame walk of a thread, beside the script (pag_native.py)
_NATIVE = _load("pag_native.py", {"ABI": ABI, "_struct": _struct})
_Accessors = _struct("pag_accessors_t", [("read", _READ_FN), ("find", _FIND_FN), ("readv", _P),
                                          ("module_of", _MODULE_FN), ("native_frames", _NATIVE.FN)])
_Source = _struct("pag_source_t", [("kind", ctypes.c_int), ("pid", ctypes.c_longlong),
                                   ("core", ctypes.c_char_p), ("executable", ctypes.c_char_p)])
_OPEN_FN = ctypes.CFUNCTYPE(ctypes.c_int, _P, _P, ctypes.POINTER(_Accessors),
                            ctypes.POINTER(_P), ctypes.POINTER(_Source), _P, _S)
_PROBLEMS_FN = ctypes.CFUNCTYPE(_P, _P)
_THREAD_FN = ctypes.CFUNCTYPE(ctypes.c_int, _P, _U64P, _P, _S)
_STATS_FN = ctypes.CFUNCTYPE(None, _P, _P, _S)
_Frontend = _struct("pag_frontend_t", [("accept", ctypes.c_uint), ("out", _P), ("open", _OPEN_FN),
    ("release", _P), ("close", _P), ("problems", _PROBLEMS_FN), ("selected_thread", _THREAD_FN),
    ("stats", _STATS_FN), ("incomplete", _P)])
# c_void_p rather than c_char_p so that the pointers stay ours to free.
_Result = _struct("pag_result_t", [("out_text", _P), ("err_line", _P), ("stats_line", _P),
                                   ("exit_code", ctypes.c_int), ("failed", ctypes.c_int)])


def _candidate_libs():
    # Where the core library may be, most specific first.
    env = os.environ.get("PAG_CORE_LIB")
    if env:
        yield os.path.join(env, _LIBNAME) if os.path.isdir(env) else env
    if _PAG_HERE:
        yield os.path.join(_PAG_HERE, _LIBNAME)
        if not _RELATIVE_LIBDIR.startswith("@"):
            yield os.path.normpath(os.path.join(_PAG_HERE, _RELATIVE_LIBDIR, _LIBNAME))
    if not _CONFIGURED_LIBDIR.startswith("@"):
        yield os.path.join(_CONFIGURED_LIBDIR, _LIBNAME)


_lib = _facts = None


def _load_core():
    # Load the core once per gdb session; raise gdb.GdbError if impossible.
    global _lib, _facts
    if _lib is not None:
        return _lib
    tried, error = [], None
    for path in _candidate_libs():
        if path in tried or not os.path.exists(path):
            continue
        tried.append(path)
        try:
            lib = ctypes.CDLL(path)  # every call passes byref() structs and plain ints
            for f in ("pag_command_name", "pag_command_summary", "pag_command_help"):
                getattr(lib, f).restype = ctypes.c_char_p
            if lib.pag_abi_version() != ABI.ABI_VERSION:
                error = "%s has ABI %d, pag_abi.py %d: install both from one build" % (
                    path, lib.pag_abi_version(), ABI.ABI_VERSION)
                continue
        except (OSError, AttributeError) as e:
            error = "cannot load %s: %s" % (path, e)
            continue
        _lib, _facts = lib, _load("pag_facts.py", {"lib": lib, "ABI": ABI, "_READ_FN": _READ_FN})
        return lib
    raise gdb.GdbError("py-async-graph: " + (error or "cannot find %s (looked in: %s; set "
                                             "PAG_CORE_LIB)" % (_LIBNAME, ", ".join(tried))))


# "info files": "0x00007f... - 0x00007f... is .PyRuntime in /usr/lib/libpython3.14.so.1.0"
_SECTION_RE = re.compile(r"^\s*0x([0-9a-fA-F]+)\s*-\s*0x([0-9a-fA-F]+)\s+is\s+(\S+)")


def _put(dst, length, text):
    data = text.encode("utf-8", "replace")[:max(length - 1, 0)] + b"\0"
    ctypes.memmove(dst, data, len(data))


class _Target:
    # The state of one command invocation: nothing here outlives it, since
    # the inferior may run, load modules or be replaced between commands.

    def __init__(self):
        self.inferior = self.sections = self.info = self.hint = None
        # symbols: name -> [(addr, size)]; keep: what the core points into
        # until the command returns
        self.symbols, self.keep, self.asked = {}, [], set()
        self.reads = self.read_bytes = self.read_failures = self.finds = self.interrupted = 0

    def _info_target(self):
        try:
            if self.info is None:
                self.info = gdb.execute("info target", to_string=True)
        except gdb.error:
            self.info = ""
        return self.info

    def _load_sections(self):
        # gdb 13's Python exposes no section tables, but "info files" lists
        # every allocated section of every objfile with its load address.  In
        # a core file it also lists the core's own "loadN" segments, which
        # never carry a dotted ELF section name.
        self.sections = {}
        for m in filter(None, map(_SECTION_RE.match, self._info_target().splitlines())):
            start, end = int(m.group(1), 16), int(m.group(2), 16)
            lst = self.sections.setdefault(m.group(3), [])
            if end >= start and (start, end - start) not in lst:
                lst.append((start, end - start))

    def _lookup_symbol(self, name):
        found = []
        # Full symbols (the -dbg builds and anything with DWARF): per objfile,
        # so that every module defining the name is seen.  Not sym.is_variable:
        # an extern resolved through the dynamic linker (LOC_UNRESOLVED) still
        # has the right address.
        for look in [f for o in gdb.objfiles()
                     for f in (o.lookup_global_symbol, o.lookup_static_symbol)]:
            try:
                sym = look(name, gdb.SYMBOL_VAR_DOMAIN)
                if sym is None or sym.is_function or sym.addr_class == gdb.SYMBOL_LOC_TYPEDEF:
                    continue
                val = sym.value()
                if val.address is not None and int(val.address) not in [a for a, _ in found]:
                    found.append((int(val.address), int(sym.type.sizeof)))
            except (gdb.error, RuntimeError, TypeError, ValueError):
                continue
        # Minimal symbols (an exported .dynsym entry with no debug info, as in
        # Debian's stripped python3.14): gdb's Python API cannot list them,
        # and "info variables -n" costs over a second once debug info is
        # around, so the expression evaluator resolves the name (one match;
        # other modules are still reached through their sections).
        if not found:
            try:
                val = gdb.parse_and_eval("&'%s'" % name)
                found.append((int(val.cast(gdb.lookup_type("unsigned long"))), 0))
            except (gdb.error, RuntimeError, ValueError):
                pass
        return [(a, s) for a, s in found if a]

    # -- the accessors -------------------------------------------------------
    def read(self, ctx, addr, length, dst):
        try:
            self.reads += 1
            data = self.inferior.read_memory(addr, length).tobytes() if length else b""
            if len(data) != length:
                raise ValueError("short read")
            ctypes.memmove(dst, data, length)
            self.read_bytes += length
            return PAG_OK
        except KeyboardInterrupt:
            self.interrupted = True
            return PAG_ERR_READ
        except BaseException:  # gdb.MemoryError, gdb.error, OverflowError, ...
            self.read_failures += 1
            return PAG_ERR_READ

    def find(self, ctx, kind, name, index, addr_out, size_out):
        try:
            self.finds += 1
            name = name.decode("utf-8", "replace") if name else ""
            if kind == ABI.LOOKUP_SECTION and self.sections is None:
                self._load_sections()
            if kind == ABI.LOOKUP_SECTION:  # also in files gdb did not load (no link map)
                _facts.add_unlisted(self, name)
            if kind == ABI.LOOKUP_SYMBOL and name not in self.symbols:
                self.symbols[name] = self._lookup_symbol(name)
            matches = (self.sections if kind == ABI.LOOKUP_SECTION else self.symbols).get(name, [])
            if index >= len(matches):
                return PAG_ERR_NOT_FOUND
            addr_out[0], size_out[0] = matches[index]
            return PAG_OK
        except KeyboardInterrupt:
            self.interrupted = True
            return PAG_ERR_NOT_FOUND
        except BaseException:
            return PAG_ERR_NOT_FOUND

    # -- the frontend hooks --------------------------------------------------
    def open(self, fe, opts, acc, ctx, src, msg, length):
        # Bind to the selected inferior, once the core needs a target.
        try:
            inf = self.inferior = gdb.selected_inferior()
            # --info needs no process: gdb reads the executable's own sections
            info = ctypes.c_int.from_address(opts + ABI.OFFSETOF["pag_options_t.info"]).value
            if inf is None or (inf.pid == 0 and not (info and inf.progspace.filename)):
                # "no process", or why gdb refused the core it was given
                return _facts.no_process(msg, length)
            if getattr(gdb.selected_thread(), "is_running", lambda: False)():
                _put(msg, length, "the selected thread is running; interrupt the inferior first")
                return ABI.ERR["INVALID_ARG"]
            self._source(src.contents)
            acc.contents.read = self._keep(_READ_FN(self.read))
            acc.contents.find = self._keep(_FIND_FN(self.find))
            acc.contents.module_of = self._keep(_MODULE_FN(self.module_of))
            acc.contents.native_frames = self._keep(_NATIVE.FN(_NATIVE.Walker(self, _facts).frames))
            # a core with an executable that is not its own: say so, as the CLI
            return _facts.exe_check(src.contents, msg, length)
        except BaseException as e:
            _put(msg, length, "internal error: %s: %s" % (type(e).__name__, e))
            return ABI.ERR["NOMEM"]

    def _source(self, src):
        exe = getattr(gdb.current_progspace(), "filename", None)
        conn = getattr(getattr(self.inferior, "connection", None), "type", None)
        m = re.search(r"Local core dump file:\s*\n\s*`(.*)', file type", self._info_target())
        core = m.group(1) if m and conn in ("core", None) else None
        if core is not None and not exe:
            # "gdb -c CORE" alone: gdb 13 does not load the executable (and
            # so no symbols or sections) from the core by itself.
            self.hint = self._keep(ctypes.create_string_buffer(
                b"gdb has no executable for this core: use 'gdb EXE CORE' or 'file EXE'"))
        src.kind = ABI.SOURCE_CORE if core is not None else ABI.SOURCE_LIVE
        src.pid = self.inferior.pid
        src.core, src.executable = [self._keep(s.encode("utf-8", "surrogateescape")) if s else None
                                    for s in (core, exe)]

    def _keep(self, obj):
        return self.keep.append(obj) or obj

    def module_of(self, ctx, addr, name, length):
        path = gdb.solib_name(addr) or gdb.current_progspace().filename or ""
        return _put(name, length, path) or (PAG_OK if path else PAG_ERR_NOT_FOUND)

    def problems(self, fe):
        return ctypes.addressof(self.hint) if self.hint is not None else None

    def selected_thread(self, fe, tid, msg, length):
        th = gdb.selected_thread()
        if th is None:
            _put(msg, length, "no thread selected: select one (thread N) or give a TASK")
            return ABI.ERR["NO_TASK"]
        tid[0] = th.ptid[1] or th.ptid[2] or th.ptid[0]
        return PAG_OK

    def stats(self, fe, buf, length):
        # Every read is one gdb read_memory (the core's cache makes them page-sized).
        _put(buf, length, "gdb: %d read_memory calls, %d bytes, %d failed; %d lookups"
             % (self.reads, self.read_bytes, self.read_failures, self.finds))


def _run(cmd, args):
    # Run the core's sub-command cmd with these arguments and print what it says.
    lib = _load_core()
    t = _Target()
    fe = _Frontend(0, None, _OPEN_FN(t.open), None, None, _PROBLEMS_FN(t.problems),
                   _THREAD_FN(t.selected_thread), _STATS_FN(t.stats))
    enc = [a.encode("utf-8", "surrogateescape") for a in args]
    res = _Result()
    lib.pag_command_main(ctypes.byref(fe), None, cmd, len(enc),
                         (ctypes.c_char_p * (len(enc) + 1))(*enc, None), ctypes.byref(res))
    # the output keeps its bytes: a name's surrogateescapes are raw bytes (issue 18)
    out, err, stats = [ctypes.string_at(p).decode("utf-8", how) if p else "" for p, how in (
        (res.out_text, "surrogateescape"), (res.err_line, "replace"), (res.stats_line, "replace"))]
    failed, _ = res.failed, lib.pag_result_free(ctypes.byref(res))
    # gdb.write() refuses those raw bytes: gdb's echo writes them, as octal escapes
    for part in filter(None, re.split("([\udc80-\udcff]+)", out)):
        gdb.execute("echo " + "".join("\\%03o" % (ord(c) - 0xDC00) for c in part)) \
            if "\udc80" <= part[0] <= "\udcff" else gdb.write(part)
    gdb.flush()
    if failed or t.interrupted:
        gdb.write(stats + "\n" if stats else "", gdb.STDERR)
        raise gdb.GdbError("py-async-graph: interrupted" if t.interrupted else err)
    gdb.write("".join(line + "\n" for line in (err, stats) if line), gdb.STDERR)


def _make_command(cmd):
    # One gdb command per core sub-command, with the core's name and help.
    try:
        lib = _load_core()
        name = lib.pag_command_name(cmd).decode()
        doc = lib.pag_command_summary(cmd).decode() + "\n" + lib.pag_command_help(cmd).decode()
    except gdb.GdbError as e:
        name, doc = [n for n, c in ABI.CMD.items() if c == cmd][0], str(e)

    class _Command(gdb.Command):
        __doc__ = doc

        def __init__(self):
            super().__init__(name, gdb.COMMAND_STACK)

        def invoke(self, arg, from_tty):
            self.dont_repeat()
            # gdb prints a Python traceback for anything but gdb.GdbError:
            # unexpected failures become the usual one error line.
            try:
                _run(cmd, gdb.string_to_argv(arg))
            except (gdb.GdbError, KeyboardInterrupt):
                raise
            except Exception as e:  # gdb's own error, or a bug here (not in the inferior)
                why = "" if isinstance(e, gdb.error) else "internal error: %s: " % type(e).__name__
                raise gdb.GdbError("py-async-graph: %s%s" % (why, (str(e).splitlines() or [""])[0]))

    return _Command()


_COMMANDS = [_make_command(cmd) for cmd in sorted(ABI.CMD.values())]
