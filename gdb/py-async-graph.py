# py-async-graph for gdb: print the asyncio task graph of a CPython 3.14/3.15
# inferior (live or core file), read-only.
#
# Why this file exists: gdb already knows how to read the inferior's memory
# and where every module is loaded, so the gdb frontend is only a thin layer.
# It loads the C core (libpy-async-graph-core.so) through ctypes, hands it
# its hooks (open the inferior as a target: read memory, find a section or
# symbol; the selected thread; the --stats counters) and prints what the
# core's pag_command_main() says.  Options, sub-commands, help text and
# output all live in the core, so this prints exactly what the CLI prints.
# The ABI numbers and struct layouts come from pag_abi.py, which the build
# generates from the C headers; nothing here is typed by hand.
#
# Load it with:  source /usr/local/share/py-async-graph/gdb/py-async-graph.py
# It runs in gdb's embedded Python (3.11 on gdb 13); it never runs code in the
# inferior and never writes its memory.

import ctypes
import json
import os
import re

import gdb

# Filled in by CMake in the installed copy (see gdb/CMakeLists.txt); the
# unexpanded placeholder is ignored when this file is sourced from the tree.
_CONFIGURED_LIBDIR = "@PAG_GDB_LIBDIR@"
_LIBNAME = "libpy-async-graph-core.so"
# gdb's "source" defines __file__ only while the script runs, and not at all
# when another sourced script already set it: remember it now, if it is ours.
try:
    _PAG_HERE = (os.path.dirname(os.path.realpath(__file__))
                 if os.path.basename(__file__).startswith("py-async-graph") else None)
except NameError:
    _PAG_HERE = None


def _load_abi():
    """pag_abi.py, generated beside this script by the build."""
    for d in filter(None, (_PAG_HERE, os.environ.get("PAG_CORE_LIB"))):
        path = os.path.join(d if os.path.isdir(d) else os.path.dirname(d), "pag_abi.py")
        if os.path.exists(path):
            ns = {}
            with open(path, encoding="utf-8") as f:
                exec(compile(f.read(), path, "exec"), ns)
            return type("abi", (), ns)
    raise gdb.GdbError("py-async-graph: cannot find pag_abi.py beside %s" % (_PAG_HERE or "the script"))


ABI = _load_abi()
PAG_OK, PAG_ERR_READ, PAG_ERR_NOT_FOUND = ABI.ERR["OK"], ABI.ERR["READ"], ABI.ERR["NOT_FOUND"]

_READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t,
                            ctypes.c_void_p)
_FIND_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint64),
                            ctypes.POINTER(ctypes.c_uint64))


class _Accessors(ctypes.Structure):
    # readv stays NULL: gdb has no vectored read.
    _fields_ = [("read", _READ_FN), ("find", _FIND_FN), ("readv", ctypes.c_void_p)]


class _Source(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("pid", ctypes.c_longlong), ("core", ctypes.c_char_p),
                ("executable", ctypes.c_char_p)]


_OPEN_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.POINTER(_Accessors), ctypes.POINTER(ctypes.c_void_p),
                            ctypes.POINTER(_Source), ctypes.c_void_p, ctypes.c_size_t)
_PROBLEMS_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
_THREAD_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint64),
                              ctypes.c_void_p, ctypes.c_size_t)
_STATS_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class _Frontend(ctypes.Structure):
    _fields_ = [("accept", ctypes.c_uint), ("out", ctypes.c_void_p), ("open", _OPEN_FN),
                ("release", ctypes.c_void_p), ("close", ctypes.c_void_p),
                ("problems", _PROBLEMS_FN), ("selected_thread", _THREAD_FN),
                ("stats", _STATS_FN)]


class _Result(ctypes.Structure):
    # c_void_p rather than c_char_p so that the pointers stay ours to free.
    _fields_ = [("out_text", ctypes.c_void_p), ("err_line", ctypes.c_void_p),
                ("stats_line", ctypes.c_void_p), ("exit_code", ctypes.c_int),
                ("failed", ctypes.c_int)]


def _check_layouts():
    """The ctypes mirrors above against the layouts the build wrote."""
    for name, cls in (("pag_accessors_t", _Accessors), ("pag_source_t", _Source),
                      ("pag_frontend_t", _Frontend), ("pag_result_t", _Result)):
        bad = ctypes.sizeof(cls) != ABI.SIZEOF[name] or any(
            getattr(cls, f).offset != ABI.OFFSETOF["%s.%s" % (name, f)] for f, _ in cls._fields_)
        if bad:
            return "%s does not match the C layout in pag_abi.py" % name
    return None


def _candidate_libs():
    """Where the core library may be, most specific first."""
    env = os.environ.get("PAG_CORE_LIB")
    if env:
        yield os.path.join(env, _LIBNAME) if os.path.isdir(env) else env
    here = _PAG_HERE
    if here:
        yield os.path.join(here, _LIBNAME)
    if here:
        # Installed layout: PREFIX/share/py-async-graph/gdb/ -> PREFIX/lib*/py-async-graph/
        prefix = os.path.normpath(os.path.join(here, "..", "..", ".."))
        try:
            libdirs = sorted(d for d in os.listdir(prefix) if d.startswith("lib"))
        except OSError:
            libdirs = []
        for d in libdirs:
            yield os.path.join(prefix, d, "py-async-graph", _LIBNAME)
            # Debian-style multiarch libdir, lib/x86_64-linux-gnu/py-async-graph
            sub = os.path.join(prefix, d)
            try:
                for m in sorted(os.listdir(sub)):
                    if "-linux-" in m and os.path.isdir(os.path.join(sub, m)):
                        yield os.path.join(sub, m, "py-async-graph", _LIBNAME)
            except OSError:
                pass
    # Where CMake installed it (right unless the install was moved).
    if _CONFIGURED_LIBDIR and not _CONFIGURED_LIBDIR.startswith("@"):
        yield os.path.join(_CONFIGURED_LIBDIR, _LIBNAME)


_lib = None
_lib_error = None


def _load_core():
    """Load the core once per gdb session; raise gdb.GdbError if impossible."""
    global _lib, _lib_error
    if _lib is not None:
        return _lib
    _lib_error = _check_layouts()
    tried = []
    for path in _candidate_libs():
        if _lib_error or path in tried or not os.path.exists(path):
            continue
        tried.append(path)
        try:
            lib = ctypes.CDLL(path)
            _declare(lib)
        except (OSError, AttributeError) as e:
            _lib_error = "cannot load %s: %s" % (path, e)
            continue
        if lib.pag_abi_version() != ABI.ABI_VERSION:
            _lib_error = ("%s has ABI %d, this script ABI %d: install both from one build"
                          % (path, lib.pag_abi_version(), ABI.ABI_VERSION))
            continue
        _lib = lib
        return lib
    if _lib_error is None:
        _lib_error = "cannot find %s (looked in: %s; set PAG_CORE_LIB)" % (_LIBNAME, ", ".join(tried))
    raise gdb.GdbError("py-async-graph: " + _lib_error)


def _declare(lib):
    lib.pag_command_main.restype = ctypes.c_int
    lib.pag_command_main.argtypes = [ctypes.POINTER(_Frontend), ctypes.c_void_p, ctypes.c_int,
                                     ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                     ctypes.POINTER(_Result)]
    lib.pag_result_free.restype = None
    lib.pag_result_free.argtypes = [ctypes.POINTER(_Result)]
    lib.pag_abi_version.restype = ctypes.c_int
    for f in ("pag_command_name", "pag_command_summary", "pag_command_help"):
        getattr(lib, f).restype = ctypes.c_char_p
        getattr(lib, f).argtypes = [ctypes.c_int]


_SECTION_RE = re.compile(r"^\s*0x([0-9a-fA-F]+)\s*-\s*0x([0-9a-fA-F]+)\s+is\s+(\S+)(?:\s+in\s+(.*))?$")


def _put(dst, length, text):
    data = text.encode("utf-8", "replace")[:max(length - 1, 0)] + b"\0"
    ctypes.memmove(dst, data, len(data))


class _Target:
    """The state of one command invocation: nothing here outlives it, since
    the inferior may run, load modules or be replaced between commands."""

    def __init__(self):
        self.inferior = None
        self.sections = None   # name -> [(addr, size)], from "info files"
        self.symbols = {}      # name -> [(addr, size)]
        self.info_target = None
        self.reads = self.read_bytes = self.read_failures = self.finds = 0
        self.interrupted = False
        self.keep = []         # objects the core points into until the command returns
        self.hint = None

    # -- gdb queries -----------------------------------------------------
    def _info_target(self):
        if self.info_target is None:
            try:
                self.info_target = gdb.execute("info target", to_string=True)
            except gdb.error:
                self.info_target = ""
        return self.info_target

    def core_file(self):
        m = re.search(r"Local core dump file:\s*\n\s*`(.*)', file type", self._info_target())
        return m.group(1) if m else None

    def _load_sections(self):
        # gdb 13's Python exposes no section tables, but "info files" lists
        # every allocated section of every objfile with its load address:
        #   0x00007f... - 0x00007f... is .PyRuntime in /usr/lib/libpython3.14.so.1.0
        # In a core file the same command also lists the core's own "loadN"
        # segments, which never carry a dotted ELF section name.
        secs = {}
        for line in self._info_target().splitlines():
            m = _SECTION_RE.match(line)
            if not m:
                continue
            start, end, name = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            if end < start:
                continue
            lst = secs.setdefault(name, [])
            if (start, end - start) not in lst:
                lst.append((start, end - start))
        self.sections = secs

    def _lookup_symbol(self, name):
        found = []

        def add(addr, size):
            if addr and all(a != addr for a, _ in found):
                found.append((addr, size))

        # Full symbols (the -dbg builds and anything with DWARF): per objfile,
        # so that every module defining the name is seen.
        for objfile in gdb.objfiles():
            for look in (objfile.lookup_global_symbol, objfile.lookup_static_symbol):
                try:
                    sym = look(name, gdb.SYMBOL_VAR_DOMAIN)
                    # Not sym.is_variable: an extern declaration resolved
                    # through the dynamic linker (LOC_UNRESOLVED) still has
                    # the right address, and duplicates are dropped below.
                    if sym is None or sym.is_function or sym.addr_class == gdb.SYMBOL_LOC_TYPEDEF:
                        continue
                    val = sym.value()
                    if val.address is None:
                        continue
                    add(int(val.address), int(sym.type.sizeof))
                except (gdb.error, RuntimeError, TypeError, ValueError):
                    continue
        # Minimal symbols (an exported .dynsym entry with no debug info, as in
        # Debian's stripped python3.14): gdb's Python API cannot enumerate
        # them, and "info variables -n" costs over a second once debug info is
        # around, so let the expression evaluator resolve the name (one match;
        # other modules are still reached through their sections).
        if not found:
            try:
                val = gdb.parse_and_eval("&'%s'" % name)
                add(int(val.cast(gdb.lookup_type("unsigned long"))), 0)
            except (gdb.error, RuntimeError, ValueError):
                pass
        return found
    # -- the callbacks -----------------------------------------------------
    def read(self, ctx, addr, length, dst):
        try:
            self.reads += 1
            if length == 0:
                return PAG_OK
            mem = self.inferior.read_memory(addr, length)
            data = mem.tobytes()
            if len(data) != length:
                self.read_failures += 1
                return PAG_ERR_READ
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
            if kind == ABI.LOOKUP_SECTION:
                if self.sections is None:
                    self._load_sections()
                matches = self.sections.get(name, [])
            elif kind == ABI.LOOKUP_SYMBOL:
                if name not in self.symbols:
                    self.symbols[name] = self._lookup_symbol(name)
                matches = self.symbols[name]
            else:
                return PAG_ERR_NOT_FOUND
            if index >= len(matches):
                return PAG_ERR_NOT_FOUND
            addr_out[0] = matches[index][0]
            size_out[0] = matches[index][1]
            return PAG_OK
        except KeyboardInterrupt:
            self.interrupted = True
            return PAG_ERR_NOT_FOUND
        except BaseException:
            return PAG_ERR_NOT_FOUND


    # -- the frontend hooks ------------------------------------------------
    def open(self, fe, opts, acc, ctx, src, msg, length):
        """Bind to the selected inferior, once the core needs a target."""
        try:
            inf = self.inferior = gdb.selected_inferior()
            if inf is None or inf.pid == 0:
                _put(msg, length, "no process: attach to a CPython process (gdb -p PID) "
                                  "or load a core file (gdb EXE CORE)")
                return ABI.ERR["NO_PROCESS"]
            th = gdb.selected_thread()
            if th is not None and th.is_running():
                _put(msg, length, "the selected thread is running; interrupt the inferior first")
                return ABI.ERR["INVALID_ARG"]
            self._source(src.contents)
            acc.contents.read = self.keep_alive(_READ_FN(self.read))
            acc.contents.find = self.keep_alive(_FIND_FN(self.find))
            acc.contents.readv = None
            ctx[0] = None
            return PAG_OK
        except BaseException as e:
            _put(msg, length, "internal error: %s: %s" % (type(e).__name__, e))
            return ABI.ERR["NOMEM"]

    def _source(self, src):
        try:
            exe = gdb.current_progspace().filename
        except (gdb.error, RuntimeError):
            exe = None
        try:
            conn = self.inferior.connection
            conn_type = conn.type if conn is not None else None
        except (AttributeError, gdb.error, RuntimeError):
            conn_type = None
        core = self.core_file() if conn_type in ("core", None) else None
        if core is not None and not exe:
            # "gdb -c CORE" alone: gdb 13 does not load the executable (and
            # so no symbols or sections) from the core by itself.
            self.hint = self.keep_alive(ctypes.create_string_buffer(
                b"gdb has no executable for this core: use 'gdb EXE CORE' or 'file EXE'"))
        src.kind = ABI.SOURCE_CORE if core is not None else ABI.SOURCE_LIVE
        src.pid = self.inferior.pid
        src.core = self.keep_alive(core.encode("utf-8", "surrogateescape")) if core else None
        src.executable = self.keep_alive(exe.encode("utf-8", "surrogateescape")) if exe else None

    def keep_alive(self, obj):
        self.keep.append(obj)
        return obj

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
    """Run the core's sub-command cmd with these arguments and print what it says."""
    lib = _load_core()
    target = _Target()
    fe = _Frontend(0, None, _OPEN_FN(target.open), None, None, _PROBLEMS_FN(target.problems),
                   _THREAD_FN(target.selected_thread), _STATS_FN(target.stats))
    enc = [a.encode("utf-8", "surrogateescape") for a in args]
    argv = (ctypes.c_char_p * (len(enc) + 1))(*enc, None)
    res = _Result()
    lib.pag_command_main(ctypes.byref(fe), None, cmd, len(enc), argv, ctypes.byref(res))
    text = [ctypes.string_at(p).decode("utf-8", "replace") if p else ""
            for p in (res.out_text, res.err_line, res.stats_line)]
    failed = res.failed
    lib.pag_result_free(ctypes.byref(res))
    out, err, stats = text
    if out:
        gdb.write(out)
        gdb.flush()
    if target.interrupted:
        gdb.write(stats + "\n" if stats else "", gdb.STDERR)
        raise gdb.GdbError("py-async-graph: interrupted")
    if failed:
        gdb.write(stats + "\n" if stats else "", gdb.STDERR)
        raise gdb.GdbError(err)
    gdb.write("".join(line + "\n" for line in (err, stats) if line), gdb.STDERR)


def _one_line_errors(invoke):
    """gdb prints a Python traceback for anything but gdb.GdbError: turn
    unexpected failures into the usual one error line."""
    def wrapper(self, arg, from_tty):
        try:
            return invoke(self, arg, from_tty)
        except (gdb.GdbError, KeyboardInterrupt):
            raise
        except gdb.error as e:
            raise gdb.GdbError("py-async-graph: %s" % str(e).splitlines()[0] if str(e) else e)
        except Exception as e:  # a bug here, not in the inferior
            raise gdb.GdbError("py-async-graph: internal error: %s: %s"
                               % (type(e).__name__, str(e).replace("\n", " ")))
    wrapper.__doc__ = invoke.__doc__
    return wrapper


def _make_command(cmd):
    """One gdb command per core sub-command, with the core's name and help."""
    try:
        lib = _load_core()
        name = lib.pag_command_name(cmd).decode()
        doc = lib.pag_command_summary(cmd).decode() + "\n" + lib.pag_command_help(cmd).decode()
    except gdb.GdbError as e:
        name, doc = list(ABI.CMD)[cmd], str(e)

    class _Command(gdb.Command):
        __doc__ = doc

        def __init__(self):
            super().__init__(name, gdb.COMMAND_STACK)

        @_one_line_errors
        def invoke(self, arg, from_tty):
            self.dont_repeat()
            _run(cmd, gdb.string_to_argv(arg))

    return _Command()


for _cmd in sorted(ABI.CMD.values()):
    _make_command(_cmd)
