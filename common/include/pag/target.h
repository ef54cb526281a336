/* py-async-graph: how the core reaches a target process or core file.
 *
 * The core never touches the target itself.  A frontend (CLI, gdb, lldb)
 * fills in a pag_accessors and passes an opaque context pointer; the core
 * calls back through it to read bytes and to look names up.  This mirrors
 * libunwind's unw_accessors_t.
 */
#ifndef PAG_TARGET_H
#define PAG_TARGET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "pag/errors.h"

/* What a lookup asks for. */
typedef enum pag_lookup_kind {
    PAG_LOOKUP_SECTION = 1, /* an ELF section (".PyRuntime") or Mach-O "__DATA,PyRuntime" */
    PAG_LOOKUP_SYMBOL = 2,  /* a dynamic or static symbol ("_PyRuntime") */
} pag_lookup_kind_t;

/* One native frame of a thread (issue 14), as the frontend's unwinder
 * (elfutils, gdb's frame walk, lldb's SBFrame) reports it.  The core merges
 * these with the thread's Python frames and renders them; it never unwinds
 * itself.  A frame is named by a symbol only when pc lies inside that
 * symbol's [start, start + size): a stripped static function must come out as
 * module+0xoff, never as the exported symbol before it. */
typedef struct pag_native_frame {
    uint64_t pc;          /* the frame's pc; for a caller frame, the return address */
    uint64_t sp;          /* the stack pointer's value in this frame (for a caller frame, as
                             unwound: its callee's CFA); 0 if unknown.  The core finds
                             which native frame runs which Python frames by it */
    uint64_t module_base; /* load bias of the module that maps pc (pc - module_base is
                             the ELF address), when module is set */
    uint64_t sym_offset;  /* pc - the symbol's start, when function is set */
    const char *function; /* the symbol holding pc (see above), or NULL */
    const char *module;   /* path or file name of the module mapping pc, or NULL */
    const char *file;     /* source file from debug info, or NULL */
    int line;             /* its line, 0 when none */
    int reserved;
} pag_native_frame_t;

/* How many native frames the core asks for at most (issue 14's bound). */
#define PAG_MAX_NATIVE_FRAMES 1024

typedef struct pag_iov {
    uint64_t addr;
    size_t len;
    void *dst;
} pag_iov_t;

/* The accessors: libunwind's unw_accessors_t in shape.  The core copies
 * the struct when a session is created (pag_session_create_ex), so the
 * caller's struct may go out of scope afterwards; the context pointer and
 * whatever it points to must stay valid until pag_session_destroy. */
typedef struct pag_accessors {
    /* Read exactly len bytes at addr into dst.  Return PAG_OK, or
     * PAG_ERR_READ when any part is unreadable.  Required. */
    pag_err_t (*read)(void *ctx, uint64_t addr, size_t len, void *dst);

    /* Find the index-th match (0, 1, 2, ...) of a section or symbol across
     * all loaded modules, in any order.  Sections are asked for by their ELF
     * name (".PyRuntime", ".AsyncioDebug"); a Mach-O frontend maps that to
     * "__DATA,PyRuntime".  Sets the load address and size (0 if unknown).
     * Return PAG_ERR_NOT_FOUND once index passes the last match.  Required. */
    pag_err_t (*find)(void *ctx, pag_lookup_kind_t kind, const char *name, unsigned index,
                      uint64_t *addr, uint64_t *size);

    /* Optional: read many ranges at once (e.g. process_vm_readv).  Each
     * entry succeeds or the call fails as a whole; the core then falls back
     * to single reads. */
    pag_err_t (*readv)(void *ctx, const pag_iov_t *iov, size_t n);

    /* Optional: the file name of the module (executable or shared library)
     * that maps addr, for --info.  Return PAG_ERR_NOT_FOUND if none. */
    pag_err_t (*module_of)(void *ctx, uint64_t addr, char *name, size_t len);

    /* Optional (issue 14, --native): the native call stack of the thread
     * whose OS id is tid, innermost frame first.  Fill at most max records
     * of out and set *n.  The strings must stay valid until the next call
     * (the core copies them).  Return PAG_OK when the walk reached the
     * outermost frame or filled max records; PAG_ERR_TRUNCATED when the
     * unwinder had to stop early (the *n records are still used, and the
     * core says so in a note); PAG_ERR_NOT_FOUND when no thread has that id.
     * Called only while the target is stopped, once per thread per snapshot.
     * The core itself checks the bound and that each sp moves outward. */
    pag_err_t (*native_frames)(void *ctx, uint64_t tid, pag_native_frame_t *out, size_t max,
                               size_t *n);
} pag_accessors_t;

/* ---- Facts about files, for the debugger frontends (corefile.c) ---------
 *
 * A debugger may refuse or half-load a damaged core, or lose the list of
 * its shared libraries; these let a frontend say what the CLI says from
 * the files themselves.  The frontend reads the file (read: exactly len
 * bytes at offset off, PAG_OK or an error); the core decides. */
typedef pag_err_t (*pag_file_read_fn)(void *ctx, uint64_t off, size_t len, void *dst);

/* Is a core file of `size` bytes whole?  PAG_OK when it is an ELF core that
 * holds everything its headers promise; PAG_ERR_TRUNCATED with the CLI's
 * line in msg ("<name> is truncated (N of M bytes present)", name NULL:
 * "core file") when it is cut short; PAG_ERR_NOT_FOUND when it is not an
 * ELF core at all (nothing to say). */
PAG_API pag_err_t pag_core_file_check(pag_file_read_fn read, void *ctx, uint64_t size,
                                      const char *name, char *msg, size_t len);

/* An allocated section of an ELF file (".AsyncioDebug"), from its section
 * headers: the address it is linked at, its size, and whether the file is
 * position-independent (ET_DYN: add the base it was mapped at).
 * PAG_ERR_NOT_FOUND when the file has no such section or is not ELF. */
PAG_API pag_err_t pag_elf_find_section(pag_file_read_fn read, void *ctx, uint64_t size,
                                       const char *name, uint64_t *addr, uint64_t *sec_size,
                                       int *is_dyn);

/* The files a core maps, from its NT_FILE note: cb is called once per
 * mapping with its [start, end) address range, the file offset mapped at
 * start (bytes) and the path (valid during the call); a nonzero return
 * stops.  *count: the mappings seen.  PAG_ERR_NOT_FOUND when the file is
 * not an ELF core or holds no NT_FILE note. */
typedef int (*pag_mapping_fn)(void *cbctx, uint64_t start, uint64_t end, uint64_t offset,
                              const char *path);
PAG_API pag_err_t pag_core_file_mappings(pag_file_read_fn read, void *ctx, uint64_t size,
                                         pag_mapping_fn cb, void *cbctx, unsigned *count);

/* Is the executable the core's?  The core's executable is the NT_FILE
 * mapping that holds AT_PHDR (NT_AUXV); its build-id is read from the
 * core's own copy of its ELF header and notes, and compared with the
 * executable file's.  PAG_ERR_NOT_PYTHON with the CLI's line in msg
 * ("<exe_name> does not match the core (different build-id); the core's
 * executable is <path>") when they differ; PAG_OK when they match or the
 * core does not say. */
PAG_API pag_err_t pag_core_exe_check(pag_file_read_fn core_read, void *core_ctx, uint64_t core_size,
                                     pag_file_read_fn exe_read, void *exe_ctx, uint64_t exe_size,
                                     const char *exe_name, char *msg, size_t len);

#ifdef __cplusplus
}
#endif
#endif
