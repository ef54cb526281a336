/* py-async-graph for lldb: the asyncio task graph of a CPython 3.14/3.15
 * process or core, as lldb commands.
 *
 * Why this file exists: lldb already reads the target's memory and knows
 * where every module is loaded, so this frontend only adapts the stable SB
 * API to the core's hooks (pag_frontend_t, pag_accessors_t) and prints
 * what pag_command_main() says.  Options, sub-commands, help and output live
 * in the core, so the bytes are the CLI's.  Read-only: memory reads and
 * section/symbol lookups only -- no expression evaluation, no memory
 * writes.  No C++ exception or type crosses into the C core: every callback
 * catches everything.
 *
 * Live processes on Linux: lldb reads memory through lldb-server, one
 * round trip per read (~160 us), which makes a million-task graph take
 * 20 s.  When the process is local and the kernel lets us, reads go
 * straight to its memory through os/procmem.c (process_vm_readv, the
 * CLI's reader; read-only, like every other read here) -- but only after
 * one read agreed byte for byte with lldb's own; otherwise, and on every
 * other platform, lldb reads.
 *
 * --info needs no process: with only a target (an executable or a Mach-O
 * image loaded in lldb) addresses are the modules' own and reads come from
 * their files (SBTarget::ReadMemory).
 *
 * Tested on Linux (Debian, lldb-16, ELF processes and gcore cores) and, for
 * macOS, cross-built with zig and run in lldb-16 on Linux against Mach-O
 * images and a Mach-O core (tests/macos/); macOS CI runs it live.
 */
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <cstdlib>

#include <lldb/API/LLDB.h>

#include "facts.h"
#include "native.h"
#include "pag/command.h"
#include "procmem.h"

namespace
{

// State of one command invocation.  Nothing outlives it: between commands
// the process may run, load modules, or be replaced.
// The process and the --native strings live in the base (native.h).
struct Target : pag_lldb_native_state {
    lldb::SBDebugger debugger;
    lldb::SBTarget target;
    bool is_core = false, files = false; // files: a core, or no process (--info): read them too
    unsigned long reads = 0, read_bytes = 0, read_failures = 0, finds = 0;
    // Direct reads (Linux, local live process): 0 not tried yet, 1 on, -1 off.
    int direct = -1;
    // the direct reader (os/procmem.c), destroyed with the invocation
    std::unique_ptr<pag_procmem_t, void (*)(pag_procmem_t *)> pm{nullptr, pag_procmem_destroy};
    std::string exe; // for the JSON source
};

pag_err_t sb_read(Target *t, uint64_t addr, size_t len, void *dst);

pag_err_t read_cb(void *ctx, uint64_t addr, size_t len, void *dst) noexcept
{
    try {
        Target *t = static_cast<Target *>(ctx);
        if (len == 0) return PAG_OK;
        if (t->direct == 1) {
            if (pag_procmem_read(t->pm.get(), addr, len, dst) == PAG_OK) return PAG_OK;
            if (pag_procmem_stats(t->pm.get())->refused) t->direct = -1;
        } else if (t->direct == 0) {
            // Enable direct reads only if they see what lldb sees.
            pag_err_t e = sb_read(t, addr, len, dst);
            if (e != PAG_OK) return e;
            std::vector<unsigned char> mine(len);
            bool same = pag_procmem_read(t->pm.get(), addr, len, mine.data()) == PAG_OK &&
                        std::memcmp(mine.data(), dst, len) == 0;
            t->direct = same ? 1 : -1;
            return PAG_OK;
        }
        return sb_read(t, addr, len, dst);
    } catch (...) {
        return PAG_ERR_READ;
    }
}

pag_err_t readv_cb(void *ctx, const pag_iov_t *iov, size_t n) noexcept
{
    Target *t = static_cast<Target *>(ctx);
    // Anything but an enabled direct reader: the core falls back to read_cb.
    return t->direct == 1 ? pag_procmem_readv(t->pm.get(), iov, n) : PAG_ERR_READ;
}

// A read through lldb (SBProcess, or for a core the module files); its
// caller, read_cb, catches every exception.
pag_err_t sb_read(Target *t, uint64_t addr, size_t len, void *dst)
{
    t->reads++;
    lldb::SBError err;
    size_t got = t->process.ReadMemory(addr, dst, len, err);
    if ((err.Fail() || got != len) && t->files) {
        // A core holds only the writable mappings (gcore, the kernel's
        // default filter); read-only data such as the interpreter's
        // static code objects and strings stays in the executable and
        // libraries.  SBTarget::ReadMemory resolves the address to a
        // module section and reads it from the file, as the CLI's --exe.
        // With no process (nothing loaded) the address is a file address.
        lldb::SBAddress where(static_cast<lldb::addr_t>(addr), t->target);
        err.Clear();
        got = where.IsValid() ? t->target.ReadMemory(where, dst, len, err) : 0;
        // lldb may not resolve it at all (a PT_LOAD of the core lost its bytes)
        if (err.Fail() || got != len) got = pag_lldb_read_section(t->target, addr, dst, len, err);
    }
    if (err.Fail() || got != len) {
        t->read_failures++;
        return PAG_ERR_READ;
    }
    t->read_bytes += len;
    return PAG_OK;
}

// A section's address and size in the target.
bool section_range(lldb::SBTarget &target, lldb::SBSection sec, uint64_t *addr, uint64_t *size)
{
    if (!sec.IsValid()) return false;
    lldb::addr_t a = where(target, sec.GetLoadAddress(target), sec.GetFileAddress());
    if (a == LLDB_INVALID_ADDRESS) return false;
    *addr = a;
    *size = sec.GetByteSize();
    return true;
}

// Every module's section called `name` (".PyRuntime").  lldb names ELF
// sections as in the file; Mach-O keeps PyRuntime as a child of the __DATA
// segment, so ".X" is also looked for as "__DATA" -> "X" (the only platform
// difference, and why the core asks by ELF name).
std::vector<std::pair<uint64_t, uint64_t>> find_sections(lldb::SBTarget &target, const char *name)
{
    std::vector<std::pair<uint64_t, uint64_t>> out;
    const char *bare = name[0] == '.' ? name + 1 : name;
    uint32_t n = target.GetNumModules();
    for (uint32_t i = 0; i < n; i++) {
        lldb::SBModule mod = target.GetModuleAtIndex(i);
        uint64_t a = 0, s = 0;
        bool ok = section_range(target, mod.FindSection(name), &a, &s);
        if (!ok) {
            lldb::SBSection seg = mod.FindSection("__DATA"); // none: 0 subsections
            size_t k = seg.GetNumSubSections();
            for (size_t j = 0; j < k && !ok; j++) {
                lldb::SBSection sub = seg.GetSubSectionAtIndex(j);
                const char *sn = sub.GetName();
                if (sn && std::strcmp(sn, bare) == 0) ok = section_range(target, sub, &a, &s);
            }
        }
        if (ok && std::find(out.begin(), out.end(), std::make_pair(a, s)) == out.end())
            out.emplace_back(a, s);
    }
    return out;
}

std::vector<std::pair<uint64_t, uint64_t>> find_symbols(lldb::SBTarget &target, const char *name)
{
    std::vector<std::pair<uint64_t, uint64_t>> out;
    lldb::SBSymbolContextList list = target.FindSymbols(name, lldb::eSymbolTypeAny);
    uint32_t n = list.GetSize();
    for (uint32_t i = 0; i < n; i++) {
        lldb::SBSymbol sym = list.GetContextAtIndex(i).GetSymbol();
        if (!sym.IsValid()) continue;
        lldb::SBAddress sa = sym.GetStartAddress(), ea = sym.GetEndAddress();
        lldb::addr_t a = where(target, sa.GetLoadAddress(target), sa.GetFileAddress());
        if (a == LLDB_INVALID_ADDRESS || a == 0) continue;
        lldb::addr_t e = where(target, ea.GetLoadAddress(target), ea.GetFileAddress());
        uint64_t size = (e != LLDB_INVALID_ADDRESS && e > a) ? e - a : 0;
        auto same = [a](const std::pair<uint64_t, uint64_t> &p) { return p.first == a; };
        if (std::none_of(out.begin(), out.end(), same)) out.emplace_back(a, size);
    }
    return out;
}

pag_err_t find_cb(void *ctx, pag_lookup_kind_t kind, const char *name, unsigned index,
                  uint64_t *addr, uint64_t *size) noexcept
{
    try {
        Target *t = static_cast<Target *>(ctx);
        t->finds++;
        if (!name) return PAG_ERR_NOT_FOUND;
        std::vector<std::pair<uint64_t, uint64_t>> m;
        if (kind == PAG_LOOKUP_SECTION)
            m = find_sections(t->target, name);
        else if (kind == PAG_LOOKUP_SYMBOL)
            m = find_symbols(t->target, name);
        // and in the files a core maps that lldb did not load (no link map)
        if (kind == PAG_LOOKUP_SECTION && t->is_core) pag_lldb_add_unlisted(t->target, name, m);
        if (index >= m.size()) return PAG_ERR_NOT_FOUND;
        *addr = m[index].first;
        *size = m[index].second;
        return PAG_OK;
    } catch (...) {
        return PAG_ERR_NOT_FOUND;
    }
}

// --info: the file of the module that holds addr.
pag_err_t module_cb(void *ctx, uint64_t addr, char *name, size_t len) noexcept
{
    try {
        lldb::SBTarget &target = static_cast<Target *>(ctx)->target;
        lldb::SBAddress a = target.ResolveLoadAddress(addr);
        if (!a.GetModule().IsValid()) a = target.ResolveFileAddress(addr);
        return a.GetModule().GetFileSpec().GetPath(name, len) > 0 ? PAG_OK : PAG_ERR_NOT_FOUND;
    } catch (...) {
        return PAG_ERR_NOT_FOUND;
    }
}

// Bind to the selected target, once the core asks (never for --help).
pag_err_t open_cb(void *fe, const pag_options_t *o, pag_accessors_t *acc, void **ctx,
                  pag_source_t *src, char *msg, size_t len) noexcept
{
    try {
        Target *t = static_cast<Target *>(fe);
        t->target = t->debugger.GetSelectedTarget();
        if (t->target.IsValid()) t->process = t->target.GetProcess();
        // --info needs only the target's files: no process will do.
        bool bare = o->info && t->target.IsValid() && !t->process.IsValid();
        lldb::StateType st = t->process.IsValid() ? t->process.GetState()
                             : bare               ? lldb::eStateStopped
                                                  : lldb::eStateInvalid;
        if (st == lldb::eStateInvalid || st == lldb::eStateExited || st == lldb::eStateDetached) {
            std::snprintf(msg, len,
                          "no process: attach to a CPython process (lldb -p PID) or "
                          "load a core file (lldb EXE -c CORE)");
            return PAG_ERR_NO_PROCESS;
        }
        if (st == lldb::eStateRunning || st == lldb::eStateStepping ||
            st == lldb::eStateLaunching || st == lldb::eStateAttaching) {
            std::snprintf(msg, len,
                          "the process is running; interrupt it first (process interrupt)");
            return PAG_ERR_INVALID_ARG;
        }
        const char *plugin = t->process.GetPluginName();
        t->is_core = plugin && std::strstr(plugin, "core") != nullptr;
        t->files = t->is_core || bare;
        lldb::SBFileSpec fs = t->target.GetExecutable();
        char path[4096];
        if (fs.IsValid() && fs.GetPath(path, sizeof path) > 0) t->exe = path;
        // lldb loads a core cut short, or not its executable's, and reads
        // nothing or garbage there: say so, as the CLI does
        if (pag_err_t e = t->is_core ? pag_lldb_core_check(t->exe, msg, len) : PAG_OK) return e;
        // lldb 16's SB API does not tell which core file was loaded: "core" is null.
        src->kind = t->is_core ? PAG_SOURCE_CORE : PAG_SOURCE_LIVE;
        src->pid = static_cast<long long>(t->process.GetProcessID());
        src->executable = t->exe.empty() ? nullptr : t->exe.c_str();
        acc->read = read_cb;
        acc->find = find_cb;
        acc->module_of = module_cb;
        acc->native_frames = pag_lldb_native_cb<Target>; // --native: lldb's unwinder
        acc->readv = nullptr; // lldb has no vectored read; the core falls back
        // Only for a process on this machine (not a remote lldb-server), and
        // not when PAG_LLDB_NO_DIRECT is set (tests of the lldb read path).
        // Elsewhere than Linux pag_procmem_create gives NULL.
        lldb::SBPlatform platform = t->target.GetPlatform();
        const char *pn = platform.IsValid() ? platform.GetName() : nullptr;
        const char *off = std::getenv("PAG_LLDB_NO_DIRECT");
        long pid = static_cast<long>(t->process.GetProcessID());
        if (!t->is_core && pn && std::strcmp(pn, "host") == 0 && !(off && *off))
            t->pm.reset(pag_procmem_create(pid, PAG_PROCMEM_NO_FALLBACK));
        if (t->pm) t->direct = 0, acc->readv = readv_cb;
        *ctx = t;
        return PAG_OK;
    } catch (...) {
        std::snprintf(msg, len, "internal error");
        return PAG_ERR_NOMEM;
    }
}

// py-async-bt without a TASK: the selected thread's native id (the Linux
// TID), as the core's --thread expects.
pag_err_t thread_cb(void *fe, uint64_t *tid, char *msg, size_t len) noexcept
{
    try {
        lldb::SBThread th = static_cast<Target *>(fe)->process.GetSelectedThread();
        if (!th.IsValid()) {
            std::snprintf(msg, len, "no thread selected: select one (thread N) or give a TASK");
            return PAG_ERR_NO_TASK;
        }
        *tid = th.GetThreadID();
        return PAG_OK;
    } catch (...) {
        return PAG_ERR_NO_TASK;
    }
}

// --stats: lldb's own count of SBProcess::ReadMemory calls (the core's page
// cache makes them page-sized) and of direct reads.
void stats_cb(void *fe, char *buf, size_t len) noexcept
{
    const Target *t = static_cast<Target *>(fe);
    std::snprintf(buf, len,
                  "lldb: %lu ReadMemory calls, %lu bytes, %lu failed; %lu direct reads, "
                  "%lu bytes; %lu lookups",
                  t->reads, t->read_bytes, t->read_failures,
                  static_cast<unsigned long>(pag_procmem_stats(t->pm.get())->calls),
                  static_cast<unsigned long>(pag_procmem_stats(t->pm.get())->bytes), t->finds);
}

bool fail(lldb::SBCommandReturnObject &result, const std::string &line)
{
    result.SetError(line.c_str());
    result.SetStatus(lldb::eReturnStatusFailed);
    return false;
}

// Run the core's sub-command cmd and put what it says into `result`.
bool run(lldb::SBDebugger &debugger, int cmd, char **command, lldb::SBCommandReturnObject &result)
{
    Target t;
    t.debugger = debugger;
    pag_frontend_t fe{};
    fe.open = open_cb;
    fe.selected_thread = thread_cb;
    fe.stats = stats_cb;
    int argc = 0;
    while (command && command[argc])
        argc++;
    pag_result_t res;
    pag_command_main(&fe, &t, cmd, argc, command, &res);
    std::string out = res.out_text ? res.out_text : "";
    std::string err = res.err_line ? res.err_line : "";
    std::string stats = res.stats_line ? res.stats_line : "";
    bool failed = res.failed, partial = res.exit_code == PAG_EXIT_PARTIAL;
    pag_result_free(&res);
    // Printf, not PutCString/AppendMessage: those trim trailing whitespace,
    // and the table format's last line legitimately ends in spaces.
    if (!out.empty()) result.Printf("%s", out.c_str());
    if (!failed && !err.empty()) {
        // A note that came with the output (--stats), or a warning (partial).
        if (partial)
            result.AppendWarning(err.c_str());
        else
            result.AppendMessage(err.c_str());
    }
    if (!stats.empty()) result.AppendMessage(stats.c_str());
    if (failed) return fail(result, err);
    result.SetStatus(lldb::eReturnStatusSuccessFinishResult);
    return true;
}

// One lldb command per core sub-command.
class Command : public lldb::SBCommandPluginInterface
{
  public:
    explicit Command(int cmd) : cmd_(cmd) {}
    bool DoExecute(lldb::SBDebugger debugger, char **command,
                   lldb::SBCommandReturnObject &result) override
    {
        try {
            return run(debugger, cmd_, command, result);
        } catch (...) {
            return fail(result, "py-async-graph: internal error");
        }
    }

  private:
    int cmd_;
};

} // namespace

namespace lldb
{
__attribute__((visibility("default"))) bool PluginInitialize(lldb::SBDebugger debugger);
}

bool lldb::PluginInitialize(lldb::SBDebugger debugger)
{
    try {
        // Names, one-line help, syntax and long help all come from the core.
        lldb::SBCommandInterpreter ci = debugger.GetCommandInterpreter();
        for (int cmd = 0; cmd < PAG_CMD__COUNT; cmd++) {
            lldb::SBCommand c = ci.AddCommand(pag_command_name(cmd), new Command(cmd),
                                              pag_command_summary(cmd), pag_command_syntax(cmd));
            if (c.IsValid()) c.SetHelpLong(pag_command_help(cmd));
        }
        return true;
    } catch (...) {
        return false;
    }
}
