/* Grouping of a snapshot (group.c): what --group, --format summary and
 * --format collapsed fold together.  Private to common/src. */
#ifndef PAG_GROUP_H
#define PAG_GROUP_H

#include <stdio.h>

#include "pag/snapshot.h"

/* The await tree's shapes.  The kids of task a are the selected tasks that
 * a awaits (whose awaited_by names a), each once, in snapshot order: the
 * task children the tree hangs below a's innermost frame.  Two tasks have
 * the same shape when the subtrees the tree draws for them are identical
 * except for task names and ids: same kind, decode error, coroutine frames
 * (function, file, line) and, in order, the same shapes of kids.  A running
 * task, and a task on an await cycle, gets a shape of its own (never equal
 * to another), and so does every task whose subtree holds one. */
typedef struct pag__groups {
    size_t n;       /* snap->n_tasks */
    size_t *shape;  /* per task: its shape id, SIZE_MAX if not selected */
    size_t *unique; /* per shape id: 1 if it can never match another */
    size_t n_shapes;
    size_t *off, *kids; /* kids of a: kids[off[a] .. off[a+1]) */
} pag__groups_t;

pag_err_t pag__groups_build(const pag_snapshot_t *snap, const unsigned char *sel, pag__groups_t *g);
void pag__groups_free(pag__groups_t *g);

/* The suspension chains of --format summary and --format collapsed.  The
 * chain of a task is its frames, then its first awaiter's (awaited_by[0])
 * chain; it ends at a task that awaits nobody (or whose first awaiter is
 * not selected), or at the first task on a cycle of first awaiters, which
 * ends it with "[cycle]" (a task on such a cycle: itself, then "[cycle]").
 * Equal chains get equal ids.  With whole == 0 only each task's innermost
 * frame counts (summary: where it is suspended, and where each awaiter
 * is); with whole == 1 every frame of its stack (collapsed: the stack). */
#define PAG__CHAIN_ROOT SIZE_MAX        /* ends: a task that awaits nobody */
#define PAG__CHAIN_CYCLE (SIZE_MAX - 1) /* ends: a task on a first-awaiter cycle */

typedef struct pag__chain_node {
    size_t task;   /* the first task seen with this link (its frames) */
    size_t parent; /* the awaiter's chain id, or PAG__CHAIN_ROOT/_CYCLE */
    size_t depth;  /* links from here to the end, this one included */
} pag__chain_node_t;

typedef struct pag__chains {
    size_t *id; /* per task: its chain id, SIZE_MAX if not selected */
    pag__chain_node_t *nodes;
    size_t n_nodes, cap_nodes;
    size_t *slots; /* intern table: node ids + 1, 0 empty */
    size_t cap_slots;
    int whole;
} pag__chains_t;

pag_err_t pag__chains_build(const pag_snapshot_t *snap, const unsigned char *sel, int whole,
                            pag__chains_t *c);
void pag__chains_free(pag__chains_t *c);

/* A name pattern for a group of task names: the name itself when all are
 * equal, else the common prefix and suffix around one "*" (the prefix
 * without trailing digits, the suffix without leading ones: "conn-*", not
 * "conn-1*"), which matches every name of the group as a glob. */
typedef struct pag__pattern {
    const char *first;
    size_t first_len, pre, suf, min_len, n;
    int differ;
} pag__pattern_t;

void pag__pattern_add(pag__pattern_t *p, const char *name);
/* Write the pattern by the text formats' rule (pag__put_text). */
void pag__pattern_put(FILE *out, const pag__pattern_t *p);

/* Decimal with thousands separators: 4,812. */
void pag__put_count(FILE *out, uint64_t v);

#endif
