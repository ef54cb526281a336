/* libFuzzer target for the CLI's core-file reader (cli/target_core.c,
 * cli/modules.c): ELF and program headers, PT_LOAD segments, the notes
 * (NT_PRPSINFO, NT_AUXV, NT_FILE, NT_PRSTATUS as libdwfl reads it), the
 * module table and the checks of the files a core names.
 *
 * Why: a core file is the one input the CLI takes whole from an untrusted
 * source, and issue 18 found a quadratic NT_FILE parse by hand; the
 * decoder fuzzer never reaches this code.  The input is the core file
 * itself.  It is served through a memfd as /proc/self/fd/N, so the reader
 * runs exactly as for --core (stat, open, libelf's mmap, pread).  After
 * cli_core_open, the accessors are used as the decoder would: find the
 * tables, read at the segments' and the modules' addresses, module_of,
 * problems, and a --info and a json run of the command.  The input's size
 * modulo 4 chooses among --exe (wrong, missing) and --sysroot /
 * --lib-search-path, so that every way of locating a file is taken.
 *
 * The files a core names are opened read-only if they are regular files
 * (those of the real seeds are on this machine, so the build-id and
 * layout checks run too).  Seeds: tests/fuzz/core_corpus, made from real
 * gcore cores by shrink_core.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "modules.h"
#include "target.h"

/* Read where the core's own program headers say memory is: the start of
 * each PT_LOAD, the end of its file part (the rest comes from the mapped
 * file), and a few odd places; at most 64 segments. */
static void read_around(const cli_target_t *t, const uint8_t *data, size_t size)
{
    char buf[8192], name[256];
    static const uint64_t odd[] = {0, 0x400000, 0x7f0000000000ull, ~0ull - 7};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        (void)t->acc.read(t->ctx, odd[i], 8, buf);
        (void)t->acc.module_of(t->ctx, odd[i], name, sizeof name);
    }
    uint64_t phoff;
    uint16_t phent, phnum;
    if (size < 64) return;
    memcpy(&phoff, data + 0x20, 8);
    memcpy(&phent, data + 0x36, 2);
    memcpy(&phnum, data + 0x38, 2);
    for (uint64_t i = 0; i < phnum && i < 64 && phent >= 56; i++) {
        uint64_t at = phoff + i * phent, va, filesz;
        if (phoff > size || at > size - 56) break;
        memcpy(&va, data + at + 16, 8);
        memcpy(&filesz, data + at + 32, 8);
        (void)t->acc.read(t->ctx, va, 64, buf);
        (void)t->acc.read(t->ctx, va + filesz - 8, sizeof buf, buf);
        (void)t->acc.module_of(t->ctx, va, name, sizeof name);
    }
}

static void use_target(cli_target_t *t, const uint8_t *data, size_t len)
{
    uint64_t addr, size;
    char buf[4096], name[256];
    static const struct {
        pag_lookup_kind_t kind;
        const char *name;
    } look[] = {{PAG_LOOKUP_SYMBOL, "_PyRuntime"},
                {PAG_LOOKUP_SECTION, ".PyRuntime"},
                {PAG_LOOKUP_SECTION, ".AsyncioDebug"},
                {PAG_LOOKUP_SYMBOL, "_Py_Version"}};
    for (size_t i = 0; i < sizeof look / sizeof *look; i++) {
        for (unsigned k = 0; k < 4; k++) {
            if (t->acc.find(t->ctx, look[i].kind, look[i].name, k, &addr, &size) != PAG_OK) break;
            (void)t->acc.read(t->ctx, addr, sizeof buf, buf); /* may cross into the file */
            (void)t->acc.read(t->ctx, addr, 8, buf);
            (void)t->acc.module_of(t->ctx, addr, name, sizeof name);
        }
    }
    read_around(t, data, len);
    if (t->problems) (void)t->problems(t->ctx);
}

/* A compressed input is decompressed into a temporary file, as --core
 * does (cli/core_stream.c): a few bytes of zstd can stand for gigabytes.
 * Files this process writes are capped, so such an input meets the "no
 * space" path instead of filling the disk. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    struct rlimit r = {64u << 20, 64u << 20};
    setrlimit(RLIMIT_FSIZE, &r);
    signal(SIGXFSZ, SIG_IGN);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-core", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    /* the input's size picks the file options too: none, a wrong --exe
     * (this fuzzer, an ELF file of another layout), --sysroot and
     * --lib-search-path, or an --exe that does not exist */
    static const char *const extra[4][4] = {
        {"--format", "json"},
        {"--exe", "/proc/self/exe"},
        {"--sysroot", "/nonexistent-root", "--lib-search-path", "/usr/lib::/lib"},
        {"--exe", "/nonexistent/python3"},
    };
    const char *argv[6] = {"--core", path};
    int argc = 2;
    for (int i = 0; i < 4 && extra[size % 4][i]; i++)
        argv[argc++] = extra[size % 4][i];
    pag_options_t o;
    char msg[512];
    if (pag_options_parse(argc, argv, PAG_OPT_TARGET, &o, msg, sizeof msg) != PAG_OK) abort();
    cli_target_t t;
    if (cli_core_open(&o, &t, msg, sizeof msg) == PAG_OK) {
        use_target(&t, data, size);
        /* the decoder over this target: what --core --info / json does */
        pag_result_t res;
        static const char *const info[] = {"--info"}, *const json[] = {"--format", "json"};
        pag_command_run(&t.acc, t.ctx, 1, info, &res);
        pag_result_free(&res);
        pag_command_run(&t.acc, t.ctx, 2, json, &res);
        pag_result_free(&res);
        if (size & 4) { /* issue 14: the CLI's unwinder (libdwfl) over the same core */
            static const char *const native[] = {"--native", "--all-threads", "-f", "json"};
            pag_command_run(&t.acc, t.ctx, 4, native, &res);
            pag_result_free(&res);
        }
        t.release(t.ctx);
        t.close(t.ctx);
    } else if (!msg[0] || strchr(msg, '\n')) {
        abort(); /* a failure is one line, always */
    }
    close(fd);
    return 0;
}
