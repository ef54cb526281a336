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
} pag_accessors_t;

#ifdef __cplusplus
}
#endif
#endif
