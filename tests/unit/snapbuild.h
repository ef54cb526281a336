/* Hand-built snapshots for the formatter unit tests: plain data, owned by
 * the test (never passed to pag_snapshot_destroy).  Tasks must be added
 * thread by thread (listed ones first), as the decoder lays them out. */
#ifndef PAG_TEST_SNAPBUILD_H
#define PAG_TEST_SNAPBUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pag/command.h"
#include "pag/snapshot.h"

pag_err_t pag__snapshot_find_cycles(pag_snapshot_t *snap);

static inline void *sb_xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static inline void sb_init(pag_snapshot_t *s)
{
    memset(s, 0, sizeof *s);
    s->py_version = 0x030e0af0; /* 3.14.10 */
    s->asyncio_loaded = 1;
}

static inline size_t sb_thread(pag_snapshot_t *s, uint64_t native_id, int is_main)
{
    s->threads = sb_xrealloc(s->threads, (s->n_threads + 1) * sizeof *s->threads);
    pag_thread_t *t = &s->threads[s->n_threads];
    memset(t, 0, sizeof *t);
    t->native_id = native_id;
    t->tstate = native_id ? 0x7f0000100000ull + native_id * 0x1000 : 0;
    t->is_main = is_main;
    t->running_task = SIZE_MAX;
    t->first_task = s->n_tasks;
    return s->n_threads++;
}

/* thread == SIZE_MAX: an unlisted awaiter */
static inline size_t sb_node(pag_snapshot_t *s, size_t thread, uint64_t addr, const char *name,
                             int is_task)
{
    s->tasks = sb_xrealloc(s->tasks, (s->n_tasks + 1) * sizeof *s->tasks);
    pag_task_t *t = &s->tasks[s->n_tasks];
    memset(t, 0, sizeof *t);
    t->addr = addr;
    t->is_task = is_task;
    t->listed = thread != SIZE_MAX;
    t->name = name;
    t->thread = thread;
    if (thread != SIZE_MAX) s->threads[thread].n_tasks++;
    return s->n_tasks++;
}

static inline size_t sb_task(pag_snapshot_t *s, size_t thread, uint64_t addr, const char *name)
{
    return sb_node(s, thread, addr, name, 1);
}

static inline void sb_push(pag_stack_t *st, const char *q, const char *f, int line,
                           pag_frame_kind_t k)
{
    st->frames = sb_xrealloc(st->frames, (st->n + 1) * sizeof *st->frames);
    st->frames[st->n].qualname = q;
    st->frames[st->n].filename = f;
    st->frames[st->n].lineno = line;
    st->frames[st->n].kind = k;
    st->n++;
}

/* innermost first */
static inline void sb_frame(pag_snapshot_t *s, size_t task, const char *q, const char *f, int line)
{
    sb_push(&s->tasks[task].stack, q, f, line, PAG_FRAME_ASYNC);
}

static inline void sb_await(pag_snapshot_t *s, size_t task, size_t awaiter)
{
    pag_task_t *t = &s->tasks[task];
    t->awaited_by = sb_xrealloc(t->awaited_by, (t->n_awaited_by + 1) * sizeof(size_t));
    t->awaited_by[t->n_awaited_by++] = awaiter;
}

static inline void sb_running(pag_snapshot_t *s, size_t task)
{
    s->tasks[task].running = 1;
    if (s->tasks[task].thread != SIZE_MAX) s->threads[s->tasks[task].thread].running_task = task;
}

static inline void sb_finish(pag_snapshot_t *s)
{
    s->n_failed = 0;
    for (size_t i = 0; i < s->n_tasks; i++)
        s->n_failed += s->tasks[i].error != PAG_OK;
    if (pag__snapshot_find_cycles(s) != PAG_OK) {
        fprintf(stderr, "find_cycles failed\n");
        exit(2);
    }
}

static inline void sb_free(pag_snapshot_t *s)
{
    for (size_t i = 0; i < s->n_tasks; i++) {
        free(s->tasks[i].stack.frames);
        free(s->tasks[i].running_stack.frames);
        free(s->tasks[i].awaited_by);
    }
    for (size_t i = 0; i < s->n_cycles; i++)
        free(s->cycles[i].nodes);
    free(s->cycles);
    free(s->tasks);
    free(s->threads);
    memset(s, 0, sizeof *s);
}

/* Render into a malloc'd string. */
static inline char *sb_render(const pag_snapshot_t *s, const pag_options_t *o, pag_err_t *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m) exit(2);
    *err = pag_render(s, o, NULL, m);
    fclose(m);
    return buf;
}

static inline pag_options_t sb_opts(pag_format_t f)
{
    pag_options_t o;
    memset(&o, 0, sizeof o);
    o.format = f;
    return o;
}

static int sb_failures;

static inline void sb_expect_text(const char *what, const char *got, const char *want)
{
    if (strcmp(got ? got : "", want) == 0) {
        printf("ok   %s\n", what);
        return;
    }
    sb_failures++;
    printf("FAIL %s\n--- want ---\n%s--- got ---\n%s------------\n", what, want, got ? got : "");
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond)                                                                                  \
            printf("ok   %s\n", #cond);                                                            \
        else {                                                                                     \
            sb_failures++;                                                                         \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                                 \
        }                                                                                          \
    } while (0)

#endif
