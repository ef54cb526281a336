/* py-async-graph CLI: the table of files mapped into a target.
 *
 * A live process lists its mappings in /proc/PID/maps, a core in its
 * NT_FILE note; both are grouped into the same table of modules (one per
 * mapped file), and both targets answer the core's find() from it the same
 * way: each module's ELF file, opened and checked on first use by the
 * target's own open callback, searched in table order.  Building it is
 * linear in the number of mappings (paths hashed, arrays grown
 * geometrically), whatever a crafted core lists.
 */
#ifndef PAG_CLI_MODULES_H
#define PAG_CLI_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include "elf_lookup.h"

/* The most mappings a target may list (the kernel's default max_map_count
 * is 65,530); the rest are ignored. */
#define CLI_MAX_MAPPINGS (1u << 21)

#define CLI_NONE SIZE_MAX /* no module / no mapping */

typedef struct cli_map {
    uint64_t start, end, pgoff; /* pgoff in bytes */
    size_t mod;
    size_t next; /* the module's next mapping, or CLI_NONE */
} cli_map_t;

/* A mapping in address order (the index behind cli_modtab_mod_at). */
typedef struct cli_span {
    uint64_t start, end;
    size_t map; /* index in cli_modtab_t.maps */
} cli_span_t;

/* One mapped file. */
typedef struct cli_mod {
    char *path; /* as recorded (live: " (deleted)" stripped); the table's */
    size_t pathlen;
    uint64_t hash;       /* of (path, device, inode), kept for rehashing */
    unsigned dmaj, dmin; /* device and inode from /proc/PID/maps; 0 in a core */
    uint64_t ino;
    int have_base;
    uint64_t base, base_end; /* the lowest mapping at file offset 0 */
    size_t maps;             /* its mappings: the first, then cli_map_t.next */
    /* core: libdwfl saw an ELF image here; its build-id as the core's own
     * memory holds it (bidlen 0: none there) */
    int dwfl_known;
    unsigned char bid[64];
    int bidlen;
    /* its file, opened and checked on first use (tried) by the target */
    int tried;
    int fd;
    Elf *elf;
    uint64_t bias;
} cli_mod_t;

/* Find and check the file of module m (index mi): on success set m->elf,
 * m->fd and m->bias; leave m->elf NULL when there is no usable file. */
typedef void (*cli_mod_open_fn)(void *owner, cli_mod_t *m, size_t mi);

/* Where the table keeps its paths: chunks of 64 KiB, freed together. */
typedef struct cli_chunk {
    struct cli_chunk *next;
    char data[];
} cli_chunk_t;

typedef struct cli_modtab {
    cli_mod_t *mods;
    size_t nmods, capmods;
    cli_map_t *maps; /* in the order listed */
    size_t nmaps, capmaps;
    size_t *slots; /* hash of (path, device, inode): module index + 1, 0 empty */
    size_t nslots;
    cli_span_t *byaddr;  /* the mappings by start address, built by cli_modtab_mod_at */
    int overlap;         /* some mappings overlap (a crafted core): search in order */
    cli_chunk_t *chunks; /* the paths */
    char *chunk_at;
    size_t chunk_left;
    cli_mod_open_fn open;
    void *owner;
} cli_modtab_t;

void cli_modtab_init(cli_modtab_t *t, cli_mod_open_fn open, void *owner);
/* Close every module's file and free the table. */
void cli_modtab_free(cli_modtab_t *t);

/* The module of this file, added when new.  CLI_NONE when out of memory or
 * when the table holds CLI_MAX_MAPPINGS mappings. */
size_t cli_modtab_intern(cli_modtab_t *t, const char *path, size_t len, unsigned dmaj,
                         unsigned dmin, uint64_t ino);

/* Record a mapping of module mi (its base is the lowest one at offset 0).
 * 0, or -1 when out of memory or full. */
int cli_modtab_add_map(cli_modtab_t *t, size_t mi, uint64_t start, uint64_t end, uint64_t pgoff);

/* Module mi's ELF file (opened on the first call), or NULL. */
Elf *cli_modtab_elf(cli_modtab_t *t, size_t mi);

/* pag_accessors_t.find over every module, in table order. */
pag_err_t cli_modtab_find(cli_modtab_t *t, pag_lookup_kind_t kind, const char *name, unsigned index,
                          uint64_t *addr, uint64_t *size);

/* The module mapped at addr (the first listed, if mappings overlap), or
 * CLI_NONE.  Call once the table is complete. */
size_t cli_modtab_mod_at(cli_modtab_t *t, uint64_t addr);

/* path as one line of text in buf (len bytes): newline, tab, CR as \n,
 * \t, \r and other control characters as \xNN.  A core records any bytes
 * as a path; printed raw they would break the one error line.  Returns buf. */
const char *cli_path_text(const char *path, char *buf, size_t len);

/* pag_accessors_t.module_of: the path of the module mapped at addr (as
 * cli_path_text gives it). */
pag_err_t cli_modtab_module_of(cli_modtab_t *t, uint64_t addr, char *name, size_t len);

/* A bounded set of strings: the directories a target's files are listed
 * in but that do not exist, so that a core listing 160,000 files under one
 * absent directory costs one failed open(), not 160,000.  Past
 * CLI_STRSET_SLOTS / 2 strings it takes no more (a miss costs a syscall). */
#define CLI_STRSET_SLOTS 8192u
typedef struct cli_strset {
    char **slots;
    size_t n;
} cli_strset_t;
int cli_strset_has(const cli_strset_t *s, const char *str, size_t len);
void cli_strset_add(cli_strset_t *s, const char *str, size_t len);
void cli_strset_free(cli_strset_t *s);

#endif
