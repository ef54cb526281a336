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
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <climits>
#include <cstdlib>

#include "facts.h"

namespace
{

pag_err_t file_read(void *ctx, uint64_t off, size_t len, void *dst) noexcept
{
    std::FILE *f = static_cast<std::FILE *>(ctx);
    if (fseeko(f, static_cast<off_t>(off), SEEK_SET) != 0) return PAG_ERR_READ;
    return std::fread(dst, 1, len, f) == len ? PAG_OK : PAG_ERR_READ;
}

// Files this process (lldb) maps that start like an ELF core file.  Only
// Linux has /proc; the macOS dylib must not even hold the path (tests/macos
// checks it), and there lldb's Mach-O cores are not ELF anyway.
std::vector<std::string> mapped_cores()
{
    std::vector<std::string> out;
#if defined(__linux__)
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
#endif
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

// A file's bytes, for the core's readers (corefile.c).
struct File {
    std::FILE *f = nullptr;
    uint64_t size = 0;
    explicit File(const std::string &path) : f(std::fopen(path.c_str(), "rb"))
    {
        if (f && fseeko(f, 0, SEEK_END) == 0) size = static_cast<uint64_t>(ftello(f));
    }
    ~File()
    {
        if (f) std::fclose(f);
    }
};

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>; // [start, end), offset 0 first
struct Mapped {
    std::map<std::string, Ranges> files;
    std::map<std::string, uint64_t> base; // the start of each file's offset-0 mapping
};

int add_mapping(void *ctx, uint64_t start, uint64_t end, uint64_t offset, const char *path) noexcept
{
    try {
        Mapped *m = static_cast<Mapped *>(ctx);
        if (path[0] != '/') return 0;
        m->files[path].emplace_back(start, end);
        if (offset == 0 && !m->base.count(path)) m->base[path] = start;
        return m->files.size() > 100000;
    } catch (...) {
        return 1;
    }
}

std::string real(const char *path)
{
    char buf[PATH_MAX];
    return realpath(path, buf) ? buf : path;
}

} // namespace

void pag_lldb_add_unlisted(lldb::SBTarget &target, const char *name,
                           std::vector<std::pair<uint64_t, uint64_t>> &out)
{
    try {
        std::vector<std::string> cores = mapped_cores();
        if (cores.size() != 1) return;
        File core(cores[0]);
        Mapped m;
        unsigned n = 0;
        if (!core.f ||
            pag_core_file_mappings(file_read, core.f, core.size, add_mapping, &m, &n) != PAG_OK)
            return;
        std::vector<std::string> known;
        char path[PATH_MAX];
        for (uint32_t i = 0; i < target.GetNumModules(); i++)
            if (target.GetModuleAtIndex(i).GetFileSpec().GetPath(path, sizeof path) > 0)
                known.push_back(real(path));
        for (const auto &b : m.base) {
            if (std::find(known.begin(), known.end(), real(b.first.c_str())) != known.end())
                continue;
            File f(b.first);
            uint64_t a = 0, size = 0;
            int dyn = 0;
            if (!f.f ||
                pag_elf_find_section(file_read, f.f, f.size, name, &a, &size, &dyn) != PAG_OK)
                continue;
            if (dyn) a += b.second;
            // only where the file is really mapped
            for (const auto &r : m.files[b.first])
                if (r.first <= a && a + size <= r.second &&
                    std::find(out.begin(), out.end(), std::make_pair(a, size)) == out.end()) {
                    out.emplace_back(a, size);
                    break;
                }
        }
    } catch (...) {
    }
}

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

pag_err_t pag_lldb_core_check(const std::string &exe, char *msg, size_t len)
{
    try {
        // With several cores open (several targets) it is not known which one
        // is the selected target's: say nothing rather than guess.
        std::vector<std::string> cores = mapped_cores();
        if (cores.size() != 1) return PAG_OK;
        File core(cores[0]), file(exe);
        if (!core.f) return PAG_OK;
        pag_err_t e = pag_core_file_check(file_read, core.f, core.size, nullptr, msg, len);
        if (e == PAG_ERR_TRUNCATED) return e;
        if (!file.f) return PAG_OK;
        return pag_core_exe_check(file_read, core.f, core.size, file_read, file.f, file.size,
                                  exe.c_str(), msg, len);
    } catch (...) {
        return PAG_OK;
    }
}
