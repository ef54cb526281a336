# py-async-graph for gdb: a thread's native frames for --native (issue 14),
# read beside py-async-graph.py like pag_facts.py.
#
# Why this file exists: the core never unwinds; each frontend gives it the
# frames of its own unwinder through the native_frames accessor, so that gdb
# shows what gdb's own `bt` shows.  This walks gdb.Frame from the thread's
# newest frame outward and turns each frame into a pag_native_frame_t:
#   - the name is gdb's (frame.name(): debug info, else the minimal symbol);
#     gdb's minimal-symbol lookup already refuses a sized symbol that does
#     not cover the pc, so a stripped static function stays unnamed;
#   - the module and its load bias come from gdb's own section table ("info
#     target") and the section's address in the file (the core's ELF reader),
#     so that pc - module_base is the ELF address the CLI prints too;
#   - the thread and frame the user selected are restored, always.
# Run with `ABI` and `_struct` in scope.  Never reads or writes the inferior
# except through gdb's unwinder, and runs nothing in it.

import ctypes
import re

import gdb

_P, _U64, _INT = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int
FN = ctypes.CFUNCTYPE(_INT, _P, _U64, _P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t))
Frame = _struct("pag_native_frame_t", [
    ("pc", _U64), ("sp", _U64), ("module_base", _U64), ("sym_offset", _U64),
    ("function", _P), ("module", _P), ("file", _P), ("line", _INT), ("reserved", _INT)])
_OK, _TRUNCATED, _NOT_FOUND = ABI.ERR["OK"], ABI.ERR["TRUNCATED"], ABI.ERR["NOT_FOUND"]
# "info target": "0x7f.. - 0x7f.. is .text in /usr/lib/x86_64-linux-gnu/libc.so.6"
_SECTION_RE = re.compile(r"^\s+0x([0-9a-fA-F]+) - 0x([0-9a-fA-F]+) is (\S+)(?: in (.*))?$")
# "info symbol": "clock_nanosleep + 41 in section .text of /usr/lib/..."
_SYMBOL_RE = re.compile(r"^(.*?)(?: \+ (\d+))? in section ")
_VDSO_RE = re.compile(r"^system-supplied DSO at 0x([0-9a-fA-F]+)$")
# A caller frame's pc is a return address: gdb looks it up at pc - 1 unless
# the younger frame is a signal trampoline (get_frame_address_in_block).
_CALLER_KINDS = (gdb.NORMAL_FRAME, gdb.TAILCALL_FRAME)


class Walker:
    """The native_frames accessor of one command: `frames` is the callback."""

    def __init__(self, target, facts):
        self.target, self.facts = target, facts
        self.sections = None
        self.bias, self.names = {}, {}  # file -> load bias; text -> its C string

    def _c(self, text):
        # A C string that lives as long as this walker (the core copies it).
        if text not in self.names:
            self.names[text] = ctypes.create_string_buffer(
                text.encode("utf-8", "surrogateescape"))
        return ctypes.addressof(self.names[text])

    def _load_sections(self):
        # The modules' sections at their load addresses, from the text gdb
        # already gave the command; a core's own "loadN" segments are skipped.
        self.sections, block = [], ""
        exe = gdb.current_progspace().filename
        for line in self.target._info_target().splitlines():
            if line[:1] not in ("", " ", "\t"):
                block = line
            m = _SECTION_RE.match(line)
            if m and not block.startswith("Local core dump file"):
                start, end = int(m.group(1), 16), int(m.group(2), 16)
                self.sections.append((start, end, m.group(3), m.group(4) or exe))

    def _module(self, pc):
        # (path, load bias) of the module whose section holds pc, or (None, 0).
        if self.sections is None:
            self._load_sections()
        for start, end, name, path in self.sections:
            if start <= pc < end and path:
                if path not in self.bias:
                    self.bias[path] = self._bias(start, name, path)
                vdso = _VDSO_RE.match(path)
                return ("[vdso]" if vdso else path), self.bias[path]
        return None, 0

    def _bias(self, start, name, path):
        # load address - the address the file links the section at
        vdso = _VDSO_RE.match(path)
        if vdso:  # the kernel's vDSO is linked at 0 and mapped whole
            return int(vdso.group(1), 16)
        addr, size, dyn = _U64(), _U64(), _INT()
        e = self.facts.file_fact(self.facts.lib.pag_elf_find_section, path, name.encode(),
                                 ctypes.byref(addr), ctypes.byref(size), ctypes.byref(dyn))
        return (start - addr.value) & (2**64 - 1) if e == _OK else 0

    @staticmethod
    def _lookup_pc(frame):
        pc, younger = frame.pc(), frame.newer()
        while younger is not None and younger.type() == gdb.INLINE_FRAME:
            younger = younger.newer()
        caller = (younger is not None and younger.type() in _CALLER_KINDS and
                  frame.type() in _CALLER_KINDS + (gdb.INLINE_FRAME,))
        return pc - 1 if caller and pc else pc

    @staticmethod
    def _symbol_start(frame, lookup):
        # The start of the symbol gdb names the frame by, or None.
        fn = frame.function()
        if fn is not None:  # debug info: the function's entry, else its block
            start = int(fn.value().address)
            block = frame.block()
            while block is not None and block.function is None:
                block = block.superblock
            return block.start if block is not None and lookup < start else start
        m = _SYMBOL_RE.match(gdb.execute("info symbol 0x%x" % lookup, to_string=True))
        return lookup - int(m.group(2) or 0) if m else None

    def _record(self, frame, rec):
        pc = rec.pc = frame.pc()
        name = frame.name()
        if name and name.endswith("@plt"):
            name = None  # gdb's own name for a PLT stub: no symbol of the module holds it
        start = self._symbol_start(frame, self._lookup_pc(frame)) if name else None
        if start is not None and start <= pc:
            rec.function, rec.sym_offset = self._c(name), pc - start
        path, rec.module_base = self._module(pc)
        rec.module = self._c(path) if path else None
        sal = frame.find_sal()
        if sal.symtab is not None and sal.line > 0:
            rec.file, rec.line = self._c(sal.symtab.fullname()), sal.line
        # An inlined call shares its caller's pc and stack: 0 says "no sp of
        # its own", so the core's check that the stack moves outward holds.
        if frame.type() != gdb.INLINE_FRAME:
            rec.sp = int(frame.read_register("sp")) & (2**64 - 1)

    def _walk(self, out, limit):
        # The selected thread's frames into out: (count, error code).
        frame, count = gdb.newest_frame(), 0
        while frame is not None and count < limit:
            rec = Frame.from_address(out + count * ctypes.sizeof(Frame))
            ctypes.memset(ctypes.addressof(rec), 0, ctypes.sizeof(Frame))
            try:
                self._record(frame, rec)
                count, last = count + 1, frame
                frame = frame.older()
            except gdb.error:  # an unreadable stack: what came so far counts
                return count, _TRUNCATED
        if frame is not None or count == 0:
            return count, _OK if count else _TRUNCATED
        # gdb stops at the thread's first frame (outermost), or at main
        # ("backtrace past-main" off: no reason); anything else cut it short.
        ended = last.unwind_stop_reason() in (gdb.FRAME_UNWIND_OUTERMOST,
                                              gdb.FRAME_UNWIND_NO_REASON)
        return count, _OK if ended and last.pc() != 0 else _TRUNCATED

    def frames(self, ctx, tid, out, limit, n):
        n[0] = 0
        try:
            thread = next((t for t in gdb.selected_inferior().threads()
                           if (t.ptid[1] or t.ptid[0]) == tid), None)
            if thread is None:
                return _NOT_FOUND
            was = gdb.selected_thread()
            try:
                was_frame = gdb.selected_frame()
            except gdb.error:
                was_frame = None
            try:
                thread.switch()
                count, err = self._walk(out, limit)
            except gdb.error:
                count, err = 0, _TRUNCATED
            finally:
                if was is not None and was.is_valid():
                    was.switch()
                if was_frame is not None and was_frame.is_valid():
                    was_frame.select()
            n[0] = count
            return err
        except KeyboardInterrupt:
            self.target.interrupted = True
            return _TRUNCATED
        except BaseException:  # a bug here must not pass as a good stack
            return _TRUNCATED
