/* py-async-graph for lldb: a thread's native frames for --native (issue 14).
 *
 * Why this file exists: the core never unwinds; each frontend gives it the
 * frames of its own unwinder through the native_frames accessor, so that
 * lldb shows what lldb's own `thread backtrace` shows.  This walks the
 * thread's SBFrames and turns each into a pag_native_frame_t, keeping the
 * interface's rules that lldb does not keep by itself:
 *   - a name only from a real symbol that covers the pc: lldb names the
 *     functions of a stripped module after their CFI entries
 *     (___lldb_unnamed_symbol123, "synthetic"), which name nothing here;
 *   - pc - module_base is the ELF address of the pc in its module (lldb's
 *     file address), the same number the CLI and gdb print;
 *   - a stack is whole (PAG_OK) when its last frame is a thread's start, by
 *     name or by lldb's own verdict that the frame's return address is
 *     undefined (the CFI of clone3's child and _start say so); otherwise
 *     lldb stopped early and the core adds a note.
 * Read-only: SB queries and one lldb command that prints an unwind plan;
 * nothing runs in the target.  Only portable SB calls: the macOS build
 * compiles this file too.
 */
#include "native.h"

#include <cstdio>
#include <cstring>

namespace
{

// The functions a thread's stack starts in (glibc, musl, macOS).
const char *const kThreadStarts[] = {"start_thread",
                                     "clone",
                                     "clone3",
                                     "__clone",
                                     "__clone3",
                                     "_start",
                                     "__libc_start_main",
                                     "__libc_start_call_main",
                                     "thread_start",
                                     "_pthread_start",
                                     "start"};

const char *keep(pag_lldb_native_state &st, const char *s)
{
    if (!s || !*s) return nullptr;
    st.native_strings.emplace_back(s);
    return st.native_strings.back().c_str();
}

const char *keep_path(pag_lldb_native_state &st, lldb::SBFileSpec fs)
{
    char path[4096];
    if (!fs.IsValid() || fs.GetPath(path, sizeof path) == 0) return nullptr;
    return keep(st, path);
}

uint64_t load_address(lldb::SBTarget &target, lldb::SBAddress a)
{
    return a.IsValid() ? a.GetLoadAddress(target) : LLDB_INVALID_ADDRESS;
}

// Does [start, end) hold the pc lldb looked the frame up at?  A caller's
// pc is a return address, looked up at pc - 1, unless the younger frame was
// a trap handler: either is lldb's, so either will do.
bool covers(uint64_t start, uint64_t end, uint64_t pc, bool caller)
{
    if (start == LLDB_INVALID_ADDRESS || end == LLDB_INVALID_ADDRESS || end <= start) return false;
    return (start <= pc && pc < end) || (caller && start < pc && pc - 1 < end);
}

// The frame's function name and its start, from debug info (the function,
// or for an inlined call the inlined block's range that holds the pc), else
// from a real ELF symbol that covers the pc.
const char *name_of(lldb::SBTarget &target, lldb::SBFrame &f, bool caller, uint64_t *start)
{
    uint64_t pc = f.GetPC(), look = caller && pc ? pc - 1 : pc;
    lldb::SBFunction fn = f.GetFunction();
    if (fn.IsValid()) {
        *start = load_address(target, fn.GetStartAddress());
        lldb::SBBlock b = f.GetFrameBlock();
        lldb::SBAddress la = target.ResolveLoadAddress(look);
        uint32_t i = b.IsValid() ? b.GetRangeIndexForBlockAddress(la) : UINT32_MAX;
        if (i != UINT32_MAX && (f.IsInlined() || *start == LLDB_INVALID_ADDRESS || look < *start))
            *start = load_address(target, b.GetRangeStartAddress(i));
        if (*start != LLDB_INVALID_ADDRESS && *start <= pc) return f.GetFunctionName();
    }
    lldb::SBSymbol sym = f.GetSymbol();
    if (!sym.IsValid() || sym.IsSynthetic()) return nullptr;
    *start = load_address(target, sym.GetStartAddress());
    if (!covers(*start, load_address(target, sym.GetEndAddress()), pc, caller)) return nullptr;
    return sym.GetName();
}

void record(pag_lldb_native_state &st, lldb::SBTarget &target, lldb::SBFrame &f, bool caller,
            pag_native_frame_t *r)
{
    std::memset(r, 0, sizeof *r);
    r->pc = f.GetPC();
    // An inlined call shares its caller's pc and sp: 0 says "none of its
    // own", so the core's check that the stack moves outward still holds.
    uint64_t sp = f.GetSP();
    r->sp = f.IsInlined() || sp == LLDB_INVALID_ADDRESS ? 0 : sp;
    uint64_t start = 0;
    if (const char *name = name_of(target, f, caller, &start)) {
        r->function = keep(st, name);
        r->sym_offset = r->pc - start;
    }
    lldb::SBAddress pa = f.GetPCAddress();
    lldb::SBModule mod = pa.GetModule();
    uint64_t file_addr = pa.IsValid() ? pa.GetFileAddress() : LLDB_INVALID_ADDRESS;
    if (mod.IsValid() && file_addr != LLDB_INVALID_ADDRESS) {
        r->module = keep_path(st, mod.GetFileSpec());
        r->module_base = r->pc - file_addr; // lldb's file address is the ELF address
    }
    lldb::SBLineEntry le = f.GetLineEntry();
    if (le.IsValid() && le.GetLine() > 0) {
        r->file = keep_path(st, le.GetFileSpec());
        r->line = r->file ? static_cast<int>(le.GetLine()) : 0;
    }
}

// lldb's own verdict on the frame at pc: does its CFI say that the return
// address is undefined ("rip=?" in the eh_frame plan), i.e. outermost?
bool cfi_says_outermost(lldb::SBTarget &target, uint64_t pc)
{
    char cmd[64];
    std::snprintf(cmd, sizeof cmd, "image show-unwind -a 0x%llx", (unsigned long long)pc);
    lldb::SBCommandReturnObject ro;
    target.GetDebugger().GetCommandInterpreter().HandleCommand(cmd, ro, false);
    const char *out = ro.Succeeded() ? ro.GetOutput() : nullptr;
    for (const char *reg : {"rip=?", "pc=?", "lr=?", "eip=?"})
        if (out && std::strstr(out, reg)) return true;
    return false;
}

bool is_thread_start(lldb::SBTarget &target, const pag_native_frame_t &last, bool caller)
{
    if (last.function)
        for (const char *s : kThreadStarts)
            if (std::strcmp(last.function, s) == 0) return true;
    return last.pc && cfi_says_outermost(target, caller ? last.pc - 1 : last.pc);
}

} // namespace

pag_err_t pag_lldb_native_frames(pag_lldb_native_state &st, uint64_t tid, pag_native_frame_t *out,
                                 size_t max, size_t *n) noexcept
{
    try {
        *n = 0;
        st.native_strings.clear();
        lldb::SBThread th = st.process.GetThreadByID(static_cast<lldb::tid_t>(tid));
        if (!th.IsValid()) return PAG_ERR_NOT_FOUND;
        lldb::SBTarget target = st.process.GetTarget();
        // Frame by frame, so that lldb unwinds no deeper than max.
        for (size_t k = 0, q = 0; k < max + 8 && q < max; k++) {
            lldb::SBFrame f = th.GetFrameAtIndex(static_cast<uint32_t>(k));
            if (!f.IsValid()) break;
            record(st, target, f, q > 0, &out[q]);
            // lldb-16 on a core may take a stack slot just above an _sre
            // frame for a return address (gdb and elfutils do not): a pc in
            // no module, inside the thread's own stack, is no frame.
            const pag_native_frame_t &r = out[q];
            if (!r.module && r.sp && r.pc >= r.sp && r.pc - r.sp < (8u << 20)) continue;
            *n = ++q;
        }
        if (*n == max) return PAG_OK;
        return *n && is_thread_start(target, out[*n - 1], *n > 1) ? PAG_OK : PAG_ERR_TRUNCATED;
    } catch (...) {
        return PAG_ERR_TRUNCATED;
    }
}
