/* py-async-graph for lldb: facts about the core file that lldb's SB API
 * does not give the plugin (issue 18, defect 7).
 *
 * Why this exists: lldb 16 loads a core that was cut short and then reads
 * nothing where the missing bytes were, so the command said "not a CPython
 * process" where the CLI says "truncated".  The SB API does not say which
 * file the core is, but lldb maps it (it reads the core through mmap), so
 * on Linux /proc/self/maps names it.  This file only finds the core and
 * reads its bytes; whether it is whole, and the line that says so, is the
 * C core's (pag_core_file_check, common/src/corefile.c), so the words are
 * the CLI's.  Nothing here touches the target.  Elsewhere (no /proc) there
 * is nothing to find and nothing is said.
 */
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "facts.h"

namespace
{

pag_err_t file_read(void *ctx, uint64_t off, size_t len, void *dst) noexcept
{
    std::FILE *f = static_cast<std::FILE *>(ctx);
    if (fseeko(f, static_cast<off_t>(off), SEEK_SET) != 0) return PAG_ERR_READ;
    return std::fread(dst, 1, len, f) == len ? PAG_OK : PAG_ERR_READ;
}

// Files this process (lldb) maps that start like an ELF core file.
std::vector<std::string> mapped_cores()
{
    std::vector<std::string> out;
    std::FILE *maps = std::fopen("/proc/self/maps", "r");
    if (!maps) return out;
    char line[4352];
    while (std::fgets(line, sizeof line, maps) && out.size() < 64) {
        const char *path = std::strchr(line, '/');
        if (!path) continue;
        std::string p(path, std::strcspn(path, "\n"));
        if (std::find(out.begin(), out.end(), p) != out.end()) continue;
        std::FILE *f = std::fopen(p.c_str(), "rb");
        unsigned char h[18];
        bool core = f && std::fread(h, 1, sizeof h, f) == sizeof h &&
                    std::memcmp(h, "\177ELF", 4) == 0 && h[16] == 4 && h[17] == 0; // ET_CORE
        if (f) std::fclose(f);
        if (core) out.push_back(p);
    }
    std::fclose(maps);
    return out;
}

// The section (or subsection, for Mach-O segments) of sec that holds
// [addr, addr+len) at its load address, or an invalid section.
lldb::SBSection holding(lldb::SBTarget &target, lldb::SBSection sec, uint64_t addr, size_t len,
                        int depth)
{
    lldb::addr_t a = sec.GetLoadAddress(target);
    if (a == LLDB_INVALID_ADDRESS || addr < a || addr - a >= sec.GetByteSize()) return {};
    size_t n = sec.GetNumSubSections();
    for (size_t i = 0; i < n && depth < 4; i++) {
        lldb::SBSection sub = holding(target, sec.GetSubSectionAtIndex(i), addr, len, depth + 1);
        if (sub.IsValid()) return sub;
    }
    return len <= sec.GetByteSize() - (addr - a) ? sec : lldb::SBSection();
}

} // namespace

lldb::addr_t where(lldb::SBTarget &target, lldb::addr_t load, lldb::addr_t file)
{
    return load != LLDB_INVALID_ADDRESS || target.GetProcess().IsValid() ? load : file;
}

size_t pag_lldb_read_section(lldb::SBTarget &target, uint64_t addr, void *dst, size_t len,
                             lldb::SBError &err)
{
    uint32_t nmods = target.GetNumModules();
    for (uint32_t m = 0; m < nmods; m++) {
        lldb::SBModule mod = target.GetModuleAtIndex(m);
        size_t nsec = mod.GetNumSections();
        for (size_t i = 0; i < nsec; i++) {
            lldb::SBSection sec = holding(target, mod.GetSectionAtIndex(i), addr, len, 0);
            if (!sec.IsValid()) continue;
            lldb::SBData data = sec.GetSectionData(addr - sec.GetLoadAddress(target), len);
            lldb::SBError e;
            if (data.GetByteSize() != len || data.ReadRawData(e, 0, dst, len) != len) return 0;
            err.Clear();
            return len;
        }
    }
    return 0;
}

pag_err_t pag_lldb_core_check(char *msg, size_t len)
{
    try {
        // With several cores open (several targets) it is not known which one
        // is the selected target's: say nothing rather than guess.
        std::vector<std::string> cores = mapped_cores();
        if (cores.size() != 1) return PAG_OK;
        std::FILE *f = std::fopen(cores[0].c_str(), "rb");
        if (!f) return PAG_OK;
        pag_err_t e = PAG_OK;
        if (fseeko(f, 0, SEEK_END) == 0) {
            uint64_t size = static_cast<uint64_t>(ftello(f));
            e = pag_core_file_check(file_read, f, size, nullptr, msg, len);
        }
        std::fclose(f);
        return e == PAG_ERR_TRUNCATED ? e : PAG_OK;
    } catch (...) {
        return PAG_OK;
    }
}
