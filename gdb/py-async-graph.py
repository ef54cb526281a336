# py-async-graph for gdb: print the asyncio task graph of a CPython 3.14/3.15
# inferior (live or core file), read-only.
#
# Why this file exists: gdb already knows how to read the inferior's memory
# and where every module is loaded, so the gdb frontend is only a thin layer.
# It loads the C core (libpy-async-graph-core.so) through ctypes, hands it two
# callbacks (read memory, find a section/symbol) and prints what the core's
# pag_command_run() renders.  Options, help text and output formats all live
# in the core, so this prints exactly what the standalone CLI prints.
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

# pag_err_t values used here (common/include/pag/target.h).
PAG_OK = 0
PAG_ERR_READ = 3
PAG_ERR_NOT_FOUND = 4
PAG_LOOKUP_SECTION = 1
PAG_LOOKUP_SYMBOL = 2

_READ_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t,
                            ctypes.c_void_p)
_FIND_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                            ctypes.c_uint, ctypes.POINTER(ctypes.c_uint64),
                            ctypes.POINTER(ctypes.c_uint64))


class _Accessors(ctypes.Structure):
    # The readv member is a plain pointer left NULL: gdb has no vectored read.
    _fields_ = [("read", _READ_FN), ("find", _FIND_FN), ("readv", ctypes.c_void_p)]


class _Result(ctypes.Structure):
    # c_void_p rather than c_char_p so that the pointers stay ours to free.
    _fields_ = [("out_text", ctypes.c_void_p), ("err_line", ctypes.c_void_p),
                ("exit_code", ctypes.c_int)]


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
    _lib_error = None
    tried = []
    for path in _candidate_libs():
        if path in tried:
            continue
        tried.append(path)
        if not os.path.exists(path):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            _lib_error = "cannot load %s: %s" % (path, e)
            continue
        try:
            _declare(lib)
        except AttributeError as e:
            _lib_error = "%s is not a py-async-graph core library: %s" % (path, e)
            continue
        _lib = lib
        return lib
    if _lib_error is None:
        _lib_error = "cannot find %s (looked in: %s; set PAG_CORE_LIB)" % (_LIBNAME, ", ".join(tried))
    raise gdb.GdbError("py-async-graph: " + _lib_error)


def _declare(lib):
    lib.pag_command_run.restype = ctypes.c_int
    lib.pag_command_run.argtypes = [ctypes.POINTER(_Accessors), ctypes.c_void_p, ctypes.c_int,
                                    ctypes.POINTER(ctypes.c_char_p), ctypes.c_uint,
                                    ctypes.c_char_p, ctypes.POINTER(_Result)]
    lib.pag_result_free.restype = None
    lib.pag_result_free.argtypes = [ctypes.POINTER(_Result)]
    lib.pag_strerror.restype = ctypes.c_char_p
    lib.pag_strerror.argtypes = [ctypes.c_int]
    lib.pag_usage.restype = ctypes.c_char_p
    lib.pag_usage.argtypes = [ctypes.c_uint]


_SECTION_RE = re.compile(r"^\s*0x([0-9a-fA-F]+)\s*-\s*0x([0-9a-fA-F]+)\s+is\s+(\S+)(?:\s+in\s+(.*))?$")


class _Target:
    """The state of one command invocation: nothing here outlives it, since
    the inferior may run, load modules or be replaced between commands."""

    def __init__(self, inferior):
        self.inferior = inferior
        self.sections = None   # name -> [(addr, size)], from "info files"
        self.symbols = {}      # name -> [(addr, size)]
        self.info_target = None
        self.reads = 0
        self.read_bytes = 0
        self.read_failures = 0
        self.finds = 0
        self.interrupted = False
        self.internal_error = None
        self.exe_unknown = False

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
            if kind == PAG_LOOKUP_SECTION:
                if self.sections is None:
                    self._load_sections()
                matches = self.sections.get(name, [])
            elif kind == PAG_LOOKUP_SYMBOL:
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
        except BaseException as e:
            if self.internal_error is None:
                self.internal_error = "%s: %s" % (type(e).__name__, e)
            return PAG_ERR_NOT_FOUND


def _source_json(target):
    inf = target.inferior
    exe = None
    try:
        exe = gdb.current_progspace().filename
    except (gdb.error, RuntimeError):
        pass
    core = None
    conn_type = None
    try:
        conn = inf.connection
        conn_type = conn.type if conn is not None else None
    except (AttributeError, gdb.error, RuntimeError):
        pass
    if conn_type == "core" or conn_type is None:
        core = target.core_file()
    target.exe_unknown = core is not None and not exe
    if core is not None:
        src = {"kind": "core", "core": core, "pid": inf.pid, "executable": exe}
    else:
        src = {"kind": "live", "pid": inf.pid, "executable": exe}
    return json.dumps(src, ensure_ascii=False)


def _run(args, from_tty=False):
    """Run the core's command with these arguments and print its output."""
    lib = _load_core()
    inf = gdb.selected_inferior()
    wants_help = any(a in ("-h", "--help", "-V", "--version") for a in args)
    if not wants_help:
        if inf is None or inf.pid == 0:
            raise gdb.GdbError("py-async-graph: no process: attach to a CPython process "
                               "(gdb -p PID) or load a core file (gdb EXE CORE)")
        if gdb.selected_thread() is not None and gdb.selected_thread().is_running():
            raise gdb.GdbError("py-async-graph: the selected thread is running; "
                               "interrupt the inferior first")
    target = _Target(inf)
    acc = _Accessors(_READ_FN(target.read), _FIND_FN(target.find), None)
    enc = [a.encode("utf-8", "surrogateescape") for a in args]
    argv = (ctypes.c_char_p * (len(enc) + 1))(*enc, None)
    src = _source_json(target) if not wants_help else "{}"
    res = _Result()
    lib.pag_command_run(ctypes.byref(acc), None, len(enc), argv, 0, src.encode("utf-8"),
                        ctypes.byref(res))
    try:
        out = ctypes.string_at(res.out_text).decode("utf-8", "replace") if res.out_text else ""
        err = ctypes.string_at(res.err_line).decode("utf-8", "replace") if res.err_line else ""
        code = res.exit_code
    finally:
        lib.pag_result_free(ctypes.byref(res))
    if out:
        gdb.write(out)
        gdb.flush()
    if "--stats" in args:
        # The frontend's own counter, next to the core's "stats:" note: every
        # call here is one gdb read_memory (the core's page cache makes them
        # page-sized).
        stats = ("gdb: %d read_memory calls, %d bytes, %d failed; %d lookups\n"
                 % (target.reads, target.read_bytes, target.read_failures, target.finds))
    else:
        stats = ""
    if target.interrupted:
        gdb.write(stats, gdb.STDERR)
        raise gdb.GdbError("py-async-graph: interrupted")
    if err:
        err = err.splitlines()[0] if err.strip() else err
        if code in (0, 10):
            # A note, not a failure: the --stats counters, or warnings that
            # came with output (PAG_EXIT_PARTIAL: some tasks undecodable).
            gdb.write(err + "\n" + stats, gdb.STDERR)
        else:
            gdb.write(stats, gdb.STDERR)
            if code == 5 and target.exe_unknown:
                # "gdb -c CORE" alone: gdb 13 does not load the executable
                # (and so no symbols or sections) from the core by itself.
                err += " (gdb has no executable for this core: use 'gdb EXE CORE' or 'file EXE')"
            raise gdb.GdbError(err)
    else:
        gdb.write(stats, gdb.STDERR)
    if not err and code != 0:
        detail = target.internal_error or "exit code %d" % code
        raise gdb.GdbError("py-async-graph: failed (%s)" % detail)


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


def _usage_text():
    try:
        u = _load_core().pag_usage(0)
        return u.decode("utf-8", "replace") if u else ""
    except gdb.GdbError:
        return "(the options are listed once libpy-async-graph-core.so can be loaded)"


_SUMMARY = ("Print the asyncio task graph of the CPython 3.14/3.15 inferior (live or core).\n"
            "Read-only: reads memory, never runs code in the inferior.\n"
            "Same options and output as the py-async-graph CLI (without PID/--core).\n"
            "See also: py-async-tasks (one line per task), py-async-bt [TASK] (one task's graph;\n"
            "default: the task running on the selected thread).\n\n")


class PyAsyncGraph(gdb.Command):
    __doc__ = _SUMMARY + _usage_text()

    def __init__(self):
        super().__init__("py-async-graph", gdb.COMMAND_STACK)

    @_one_line_errors
    def invoke(self, arg, from_tty):
        self.dont_repeat()
        _run(gdb.string_to_argv(arg), from_tty)


class PyAsyncTasks(gdb.Command):
    """List the asyncio tasks of the CPython inferior, one line each.
Usage: py-async-tasks [OPTIONS]
The same as "py-async-graph --format tasks [OPTIONS]"."""

    def __init__(self):
        super().__init__("py-async-tasks", gdb.COMMAND_STACK)

    @_one_line_errors
    def invoke(self, arg, from_tty):
        self.dont_repeat()
        _run(["--format", "tasks"] + gdb.string_to_argv(arg), from_tty)


class PyAsyncBt(gdb.Command):
    """Print the await graph of one asyncio task (asyncio.format_call_graph style).
Usage: py-async-bt [TASK] [OPTIONS]
Without TASK: the task running on the selected thread
  (py-async-graph --format graph --running --thread <its native id>).
With TASK (an id such as 0x7f... or a task name):
  py-async-graph --format graph --task TASK."""

    def __init__(self):
        super().__init__("py-async-bt", gdb.COMMAND_STACK)

    @_one_line_errors
    def invoke(self, arg, from_tty):
        self.dont_repeat()
        argv = gdb.string_to_argv(arg)
        if argv and not argv[0].startswith("-"):
            _run(["--format", "graph", "--task", argv[0]] + argv[1:], from_tty)
            return
        th = gdb.selected_thread()
        if th is None:
            if gdb.selected_inferior().pid == 0:
                _run(["--format", "graph", "--running"] + argv, from_tty)  # gives the no-process error
            raise gdb.GdbError("py-async-bt: no thread selected")
        tid = th.ptid[1] or th.ptid[2] or th.ptid[0]
        _run(["--format", "graph", "--running", "--thread", str(tid)] + argv, from_tty)


PyAsyncGraph()
PyAsyncTasks()
PyAsyncBt()
