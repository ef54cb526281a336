/* Decoder tests on synthetic memory images (no process involved): a task
 * list, an awaited_by set, location tables, string kinds, both table
 * versions, and corrupt images that must fail cleanly and boundedly. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "pag/command.h"
#include "synth_image.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static pag_snapshot_t *take(sy_image_t *im, pag_err_t *err)
{
    char msg[256];
    pag_session_t *s = pag_session_create_ex(&sy_accessors, im, err, msg, sizeof msg);
    if (!s) return NULL;
    pag_snapshot_t *snap = NULL;
    *err = pag_snapshot_take(s, &snap);
    pag_session_destroy(s);
    return snap;
}

static const pag_task_t *by_name(const pag_snapshot_t *s, const char *name)
{
    for (size_t i = 0; i < s->n_tasks; i++)
        if (s->tasks[i].name && !strcmp(s->tasks[i].name, name)) return &s->tasks[i];
    return NULL;
}

/* main (Task-1) -> TaskGroup-like parent of "worker" and "other";
 * "other" is awaited by a set {main, worker}; "worker" awaits a Future. */
static void test_graph(unsigned minor)
{
    sy_image_t im;
    sy_init(&im, minor, minor == 14 ? 0x030e0af0 : 0x030f02f0);
    uint64_t c_main = sy_code(&im, "main", "/app/x.py", 10, 64);
    uint64_t c_work = sy_code(&im, "Worker.run", "/app/x.py", 30, 64);
    uint64_t c_leaf = sy_code(&im, "helper.<locals>.leaf", "/app/y.py", 50, 64);
    uint64_t fut = sy_future(&im);
    uint64_t leaf = sy_coro(&im, c_leaf, 9, fut);  /* line 50+1+2 = 53 */
    uint64_t work = sy_coro(&im, c_work, 4, leaf); /* line 30+1+1 = 32 */
    uint64_t mainc = sy_coro(&im, c_main, 0, 0);   /* line 11 */
    uint64_t t_main = sy_task(&im, sy_long(&im, 1), mainc);
    uint64_t t_work = sy_task(&im, sy_str(&im, "worker"), work);
    uint32_t uni[] = {'z', 'a', 0x17c, 0xf3, 0x142, 'w'}; /* "zażółw": UCS-2 kind */
    uint64_t t_other = sy_task(&im, sy_str32(&im, uni, 6), sy_coro(&im, c_leaf, 1, 0));
    sy_awaited_by(&im, t_work, t_main);
    uint64_t ws[] = {t_main, t_work};
    sy_awaited_by_set(&im, t_other, ws, 2);
    uint64_t ts = sy_thread(&im, 4242);
    uint64_t list[] = {t_main, t_work, t_other};
    sy_list(&im, ts + SY_TS_TASKS, list, 3);

    pag_err_t err;
    pag_snapshot_t *s = take(&im, &err);
    CHECK(err == PAG_OK && s);
    if (!s) goto out;
    CHECK(s->asyncio_loaded);
    CHECK(s->n_tasks == 3);
    CHECK(s->n_threads == 2); /* the thread, then the orphan list */
    CHECK(s->threads[0].native_id == 4242 && s->threads[0].n_tasks == 3 && s->threads[0].is_main);
    CHECK(s->threads[1].native_id == 0 && s->threads[1].n_tasks == 0);
    CHECK(s->n_failed == 0 && s->n_cycles == 0 && s->n_inconsistent == 0);
    const pag_task_t *m = by_name(s, "Task-1"), *w = by_name(s, "worker");
    const pag_task_t *o = by_name(s, "za\xc5\xbc\xc3\xb3\xc5\x82w");
    CHECK(m && w && o);
    if (!m || !w || !o) goto done;
    CHECK(m->addr == t_main && m->listed && m->is_task && m->n_awaited_by == 0);
    CHECK(m->stack.n == 1 && !strcmp(m->stack.frames[0].qualname, "main") &&
          m->stack.frames[0].lineno == 11 && m->stack.frames[0].kind == PAG_FRAME_ASYNC);
    CHECK(w->stack.n == 2);
    if (w->stack.n == 2) {
        CHECK(!strcmp(w->stack.frames[0].qualname, "helper.<locals>.leaf"));
        CHECK(!strcmp(w->stack.frames[0].filename, "/app/y.py"));
        CHECK(w->stack.frames[0].lineno == 53);
        CHECK(!strcmp(w->stack.frames[1].qualname, "Worker.run") &&
              w->stack.frames[1].lineno == 32);
    }
    CHECK(w->n_awaited_by == 1 && s->tasks[w->awaited_by[0]].addr == t_main);
    CHECK(o->n_awaited_by == 2);
    if (o->n_awaited_by == 2) {
        CHECK(s->tasks[o->awaited_by[0]].addr == t_main); /* set-slot order */
        CHECK(s->tasks[o->awaited_by[1]].addr == t_work);
    }
    CHECK(pag_snapshot_find(s, t_work) == (size_t)(w - s->tasks));
    CHECK(pag_snapshot_find(s, 12345) == SIZE_MAX);
done:
    pag_snapshot_destroy(s);
out:
    sy_fini(&im);
}

/* A Future waiter (not in any list) and a cycle a -> b -> a. */
static void test_future_and_cycle(void)
{
    sy_image_t im;
    sy_init(&im, 15, 0x030f02f0);
    uint64_t c = sy_code(&im, "f", "/f.py", 1, 16);
    uint64_t fut = sy_future(&im);
    uint64_t ta = sy_task(&im, sy_str(&im, "a"), sy_coro(&im, c, 0, 0));
    uint64_t tb = sy_task(&im, sy_str(&im, "b"), sy_coro(&im, c, 0, 0));
    uint64_t tc = sy_task(&im, sy_str(&im, "c"), sy_coro(&im, c, 0, 0));
    sy_awaited_by(&im, ta, tb);
    sy_awaited_by(&im, tb, ta);
    sy_awaited_by(&im, tc, fut);
    sy_awaited_by(&im, fut, tb); /* the future is itself awaited by b */
    uint64_t ts = sy_thread(&im, 7);
    uint64_t list[] = {ta, tb, tc};
    sy_list(&im, ts + SY_TS_TASKS, list, 3);
    pag_err_t err;
    pag_snapshot_t *s = take(&im, &err);
    CHECK(err == PAG_OK && s);
    if (!s) goto out;
    CHECK(s->n_tasks == 4);
    size_t fi = pag_snapshot_find(s, fut);
    CHECK(fi == 3);
    if (fi == 3) {
        CHECK(!s->tasks[fi].is_task && !s->tasks[fi].listed && s->tasks[fi].name == NULL);
        CHECK(s->tasks[fi].n_awaited_by == 1 && s->tasks[s->tasks[fi].awaited_by[0]].addr == tb);
    }
    CHECK(s->n_cycles == 1);
    pag_snapshot_destroy(s);
out:
    sy_fini(&im);
}

/* A running task: the thread's frames down to the task's coroutine. */
static void test_running(unsigned minor)
{
    sy_image_t im;
    sy_init(&im, minor, minor == 14 ? 0x030e0af0 : 0x030f02f0);
    uint64_t c_task = sy_code(&im, "busy", "/b.py", 100, 32);
    uint64_t c_sync = sy_code(&im, "block_here", "/b.py", 200, 32);
    uint64_t coro = sy_coro_type(&im, im.t_coroutine, c_task, 8, 0, sy_state_executing(&im));
    uint64_t t = sy_task(&im, sy_str(&im, "busy"), coro);
    uint64_t ts = sy_thread(&im, 99);
    uint64_t list[] = {t};
    sy_list(&im, ts + SY_TS_TASKS, list, 1);
    /* sync frame (owned by the thread) whose previous is the coroutine's frame */
    uint64_t f = sy_alloc(&im, SY_FR_SIZE + 64);
    sy_w64(&im, f + SY_FR_EXE, c_sync);
    sy_w64(&im, f + SY_FR_IP, c_sync + SY_CODE_ADAPT + 2 * 5); /* line 202 */
    sy_w8(&im, f + SY_FR_OWNER, 0);
    sy_w64(&im, f + SY_FR_PREV, coro + SY_GEN_FRAME);
    /* an event-loop frame below the task that must not be shown */
    uint64_t below = sy_alloc(&im, SY_FR_SIZE);
    sy_w64(&im, below + SY_FR_EXE, c_sync);
    sy_w64(&im, coro + SY_GEN_FRAME + SY_FR_PREV, below);
    sy_w64(&im, ts + SY_TS_FRAME, f);
    sy_w64(&im, ts + SY_TS_RUNNING, t);
    pag_err_t err;
    pag_snapshot_t *s = take(&im, &err);
    CHECK(err == PAG_OK && s);
    if (!s) goto out;
    CHECK(s->n_tasks == 1 && s->tasks[0].running && s->threads[0].running_task == 0);
    const pag_stack_t *rs = &s->tasks[0].running_stack;
    CHECK(rs->n == 2);
    if (rs->n == 2) {
        CHECK(!strcmp(rs->frames[0].qualname, "block_here") && rs->frames[0].lineno == 202 &&
              rs->frames[0].kind == PAG_FRAME_SYNC);
        CHECK(!strcmp(rs->frames[1].qualname, "busy") && rs->frames[1].lineno == 103 &&
              rs->frames[1].kind == PAG_FRAME_ASYNC);
    }
    CHECK(s->tasks[0].stack.n == 1); /* executing: only the outermost frame, like ps/pstree */
    pag_snapshot_destroy(s);
out:
    sy_fini(&im);
}

static void test_versions(void)
{
    static const struct {
        uint64_t v;
        unsigned minor;
        pag_err_t want;
    } cases[] = {
        {0x030d05f0, 14, PAG_ERR_PYTHON_TOO_OLD},
        {0x031000a1, 15, PAG_ERR_UNSUPPORTED},
        {0x040000f0, 15, PAG_ERR_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sy_image_t im;
        sy_init(&im, cases[i].minor, cases[i].v);
        pag_err_t err;
        char msg[256];
        pag_session_t *s = pag_session_create_ex(&sy_accessors, &im, &err, msg, sizeof msg);
        if (!(!s && err == cases[i].want && msg[0]))
            fprintf(stderr, "case %zu: err %d msg %s\n", i, err, msg);
        CHECK(!s && err == cases[i].want && msg[0]);
        pag_session_destroy(s);
        sy_fini(&im);
    }
    /* no cookie */
    sy_image_t im;
    sy_init(&im, 14, 0x030e0af0);
    memcpy(sy_ptr(&im, im.runtime), "ydebugpy", 8);
    pag_err_t err;
    pag_session_t *s = pag_session_create(&sy_accessors, &im, &err);
    CHECK(!s && err == PAG_ERR_PYTHON_TOO_OLD); /* the symbol exists but has no cookie */
    sy_fini(&im);
    /* an offset outside its declared struct */
    sy_init(&im, 14, 0x030e0af0);
    sy_w64(&im, im.runtime + 24, 8); /* runtime_state.size = 8 < interpreters_head */
    s = pag_session_create(&sy_accessors, &im, &err);
    CHECK(!s && err == PAG_ERR_CORRUPT);
    sy_fini(&im);
    /* no asyncio table: an empty graph, not an error */
    sy_init(&im, 14, 0x030e0af0);
    im.hide_asyncio = 1;
    pag_snapshot_t *snap = take(&im, &err);
    CHECK(err == PAG_OK && snap && !snap->asyncio_loaded && snap->n_tasks == 0);
    pag_snapshot_destroy(snap);
    sy_fini(&im);
}

static void test_corrupt(void)
{
    sy_image_t im;
    sy_init(&im, 14, 0x030e0af0);
    uint64_t c = sy_code(&im, "f", "/f.py", 1, 16);
    uint64_t t[4];
    for (int i = 0; i < 4; i++) {
        char n[16];
        snprintf(n, sizeof n, "t%d", i);
        t[i] = sy_task(&im, sy_str(&im, n), sy_coro(&im, c, 0, 0));
    }
    uint64_t ts = sy_thread(&im, 1);
    sy_list(&im, ts + SY_TS_TASKS, t, 4);
    /* 1: the list loops back into its middle (t3.next -> t1) */
    sy_w64(&im, t[3] + SY_T_NODE, t[1] + SY_T_NODE);
    /* 2: t1's awaited_by set claims a huge mask */
    uint64_t set = sy_alloc(&im, SY_SET_SIZE);
    sy_w64(&im, set + SY_SET_MASK, (1ull << 40) - 1);
    sy_w64(&im, set + SY_SET_USED, 3);
    sy_w64(&im, set + SY_SET_TABLE, set);
    sy_w64(&im, t[1] + SY_T_AB, set);
    sy_w8(&im, t[1] + SY_T_ISSET, 1);
    /* 3: t2's name claims 2^39 characters */
    uint64_t nm = sy_str(&im, "x");
    sy_w64(&im, nm + SY_STR_LEN, 1ull << 39);
    sy_w64(&im, t[2] + SY_T_NAME, nm);
    pag_err_t err;
    pag_snapshot_t *s = take(&im, &err);
    CHECK(err == PAG_OK && s);
    if (s) {
        CHECK(s->n_tasks == 4);
        CHECK(s->n_inconsistent >= 1 && s->n_warnings >= 1);
        CHECK(s->tasks[1].error == PAG_ERR_CORRUPT);
        CHECK(s->tasks[0].error == PAG_OK && !strcmp(s->tasks[0].name, "t0"));
        CHECK(s->tasks[3].error == PAG_OK);
        pag_snapshot_destroy(s);
    }
    /* 4: a NULL link in the middle; 5: coroutines awaiting each other */
    sy_w64(&im, t[1] + SY_T_NODE, 0);
    uint64_t c1 = sy_coro(&im, c, 0, 0), c2 = sy_coro(&im, c, 0, c1);
    sy_w64(&im, c1 + SY_GEN_FRAME + SY_FR_LOCALS + 8 * 2, c2);
    sy_w8(&im, c1 + SY_GEN_STATE, (uint8_t)-1);
    sy_w64(&im, t[0] + SY_T_CORO, c1);
    s = take(&im, &err);
    CHECK(err == PAG_OK && s);
    if (s) {
        CHECK(s->n_tasks == 2 && s->n_inconsistent >= 1);
        CHECK(s->tasks[0].error == PAG_ERR_CORRUPT && s->tasks[0].stack.n == 2);
        pag_snapshot_destroy(s);
    }
    /* 6: memory ends in the middle of the graph */
    im.fail_reads_above = (int)(t[2] - SY_BASE);
    s = take(&im, &err);
    CHECK((err == PAG_OK && s) || err == PAG_ERR_READ);
    pag_snapshot_destroy(s);
    sy_fini(&im);
}

/* Set a field of the synthetic _Py_DebugOffsets by its name in the
 * version's field list (versions.c), so the test follows the list. */
static void set_field(sy_image_t *im, const char *name, uint64_t value)
{
    struct pag_errbuf eb = {{0}};
    pag_err_t e = PAG_OK;
    const pag_pyversion_t *v =
        pag__version_find(im->minor == 14 ? 0x030e0af0 : 0x030f02f0, &eb, &e);
    for (size_t i = 0; v && i < v->n_offsets; i++) {
        if (!strcmp(v->offsets[i].name, name)) {
            sy_w64(im, im->runtime + PAG_DEBUG_OFFSETS_HEADER + 8 * i, value);
            return;
        }
    }
    fprintf(stderr, "no field %s in 3.%u's list\n", name, im->minor);
    abort();
}

/* One task named by `name` (a str object) on one thread: each is read
 * through pag__read_str, which copies the str's header into a buffer. */
static void one_named_task(sy_image_t *im, uint64_t name)
{
    uint64_t c = sy_code(im, "f", "/f.py", 1, 16);
    uint64_t t = sy_task(im, name, sy_coro(im, c, 0, 0));
    uint64_t ts = sy_thread(im, 7);
    sy_list(im, ts + SY_TS_TASKS, &t, 1);
}

/* Take a snapshot of an image with two fields changed; the session must
 * refuse it as corrupt with `want`, or (want NULL) read the task. */
static void str_case(unsigned minor, const char *f1, uint64_t v1, const char *f2, uint64_t v2,
                     int legacy, const char *want)
{
    sy_image_t im;
    sy_init(&im, minor, minor == 14 ? 0x030e0af0 : 0x030f02f0);
    one_named_task(&im, legacy ? sy_str_legacy(&im, "legacy-name") : sy_str(&im, "a-name"));
    set_field(&im, f1, v1);
    if (f2) set_field(&im, f2, v2);
    pag_err_t err;
    char msg[256];
    pag_session_t *s = pag_session_create_ex(&sy_accessors, &im, &err, msg, sizeof msg);
    if (want) {
        CHECK(!s && err == PAG_ERR_CORRUPT);
        pag_snapshot_t *snap = NULL;
        if (s) pag_snapshot_take(s, &snap); /* before the fix: the read past the buffer */
        pag_snapshot_destroy(snap);
        if (strcmp(msg, want) != 0)
            fprintf(stderr, "3.%u %s=%llu: got \"%s\"\n    want \"%s\"\n", minor, f1,
                    (unsigned long long)v1, msg, want);
        CHECK(!strcmp(msg, want));
    } else {
        CHECK(s && err == PAG_OK);
        pag_snapshot_t *snap = NULL;
        if (s) CHECK(pag_snapshot_take(s, &snap) == PAG_OK && snap && snap->n_tasks == 1);
        pag_snapshot_destroy(snap);
    }
    pag_session_destroy(s);
    sy_fini(&im);
}

/* Issue 18, defect 1: a str's state and length are read from the copied
 * PyASCIIObject header (asciiobject_size bytes of a 128-byte buffer), but
 * were checked only against unicode_object.size (up to 1 MiB).  state = 128
 * read past the stack buffer (a crash; ASan: stack-buffer-overflow), state =
 * asciiobject_size read bytes never copied (output changed from run to run).
 * Every field read from a copied header must lie inside the bytes copied. */
static void test_str_header(void)
{
    for (unsigned minor = 14; minor <= 15; minor++) {
        str_case(minor, "unicode_object.size", 1u << 20, "unicode_object.state", 128, 0,
                 "debug offsets: unicode_object.state (128) does not fit the 40 bytes "
                 "(unicode_object.asciiobject_size) read");
        str_case(minor, "unicode_object.state", SY_STR_ASCII, NULL, 0, 0,
                 "debug offsets: unicode_object.state (40) does not fit the 40 bytes "
                 "(unicode_object.asciiobject_size) read");
        str_case(minor, "unicode_object.length", SY_STR_ASCII - 4, NULL, 0, 0,
                 "debug offsets: unicode_object.length (36) does not fit the 40 bytes "
                 "(unicode_object.asciiobject_size) read");
        /* at the edge of the copied header: accepted */
        str_case(minor, "unicode_object.length", SY_STR_ASCII - 8, "unicode_object.state",
                 SY_STR_ASCII - 4, 0, NULL);
        /* a header longer than the buffer it is copied into */
        str_case(minor, "unicode_object.size", 1u << 20, "unicode_object.asciiobject_size", 4096, 0,
                 minor == 14 /* compact_size follows: 4112 */
                     ? "debug offsets: unicode_object.asciiobject_size (4096) makes a copy "
                       "larger than the decoder's 128-byte buffer"
                     : "debug offsets: implausible str or list-node layout");
        /* copies of other structs into fixed buffers */
        str_case(minor, "code_object.size", 8192, NULL, 0, 0,
                 "debug offsets: code_object.size (8192) makes a copy larger than the "
                 "decoder's 4096-byte buffer");
        str_case(minor, "interpreter_frame.size", 2048, "gen_object.size", 4000, 0,
                 "debug offsets: interpreter_frame.size (2048) makes a copy larger than the "
                 "decoder's 1024-byte buffer");
        str_case(minor, "set_object.size", 1025, NULL, 0, 0,
                 "debug offsets: set_object.size (1025) makes a copy larger than the "
                 "decoder's 1024-byte buffer");
        str_case(minor, "bytes_object.size", 1024, "bytes_object.ob_size", 60, 0,
                 "debug offsets: bytes_object.ob_size (60) makes a copy larger than the "
                 "decoder's 64-byte buffer");
        str_case(minor, "unicode_object.state", SY_STR_STATE, NULL, 0, 1, NULL); /* unchanged */
    }
    /* the first interpreter where interpreters_head says it is cannot be
     * read ("xdebugpy" taken as a pointer): a wrong offset, exit 8 (the
     * mutation test found exit 13 here) */
    for (unsigned minor = 14; minor <= 15; minor++)
        str_case(minor, "runtime_state.interpreters_head", 0, NULL, 0, 0,
                 "debug offsets: runtime_state.interpreters_head (0) gives 0x7970677562656478, "
                 "which cannot be read: not an interpreter");
    /* thread_state.interp, read from each copied thread state since the
     * runtime-without-interpreter check: checked in the list, so a value near
     * 2^64 can no longer wrap the bound written at the point of use */
    for (unsigned minor = 14; minor <= 15; minor++)
        str_case(minor, "thread_state.interp", UINT64_MAX - 3, NULL, 0, 0,
                 "debug offsets: thread_state.interp (18446744073709551612) does not fit its "
                 "struct (size 192)");
    /* 3.15's compact_size near 2^64: compact_size + 8 wrapped to a small copy
     * length, and a legacy str's data pointer was read at hdr - 1 */
    str_case(15, "unicode_object.compact_size", UINT64_MAX, NULL, 0, 1,
             "debug offsets: implausible str or list-node layout");
    str_case(15, "unicode_object.compact_size", UINT64_MAX - 7, NULL, 0, 1,
             "debug offsets: implausible str or list-node layout");
}

/* A torn back link (found by the table mutation test with llist_node.prev
 * changed): exit 10, and the one stderr line says why in every format --
 * before, no line at all (JSON keeps its warnings to itself, and a torn
 * link warns nothing). */
static void test_inconsistent_note(void)
{
    sy_image_t im;
    sy_init(&im, 15, 0x030f02f0);
    uint64_t c = sy_code(&im, "f", "/f.py", 1, 16);
    uint64_t t[2] = {sy_task(&im, sy_str(&im, "a"), sy_coro(&im, c, 0, 0)),
                     sy_task(&im, sy_str(&im, "b"), sy_coro(&im, c, 0, 0))};
    uint64_t ts = sy_thread(&im, 1);
    sy_list(&im, ts + SY_TS_TASKS, t, 2);
    sy_w64(&im, t[1] + SY_T_NODE + 8, t[1] + SY_T_NODE); /* b.prev -> b, not a */
    pag_err_t err;
    pag_snapshot_t *s = take(&im, &err);
    CHECK(err == PAG_OK && s && s->n_inconsistent == 1 && s->n_failed == 0 && s->n_warnings == 0);
    for (int f = 0; s && pag_format_name(f); f++) {
        const char *argv[] = {"--format", pag_format_name(f)};
        pag_options_t o;
        char line[512], eb[256];
        CHECK(pag_options_parse(2, argv, 0, &o, eb, sizeof eb) == PAG_OK);
        CHECK(pag_snapshot_note(s, &o, line, sizeof line) == PAG_EXIT_PARTIAL);
        CHECK(!strcmp(line, "py-async-graph: warning: 1 inconsistent link(s) in the target's "
                            "task or thread lists: the output may be incomplete"));
    }
    pag_snapshot_destroy(s);
    sy_fini(&im);
}

/* Exercise the location table decoder with each entry form. */
int pag__linetable_line(const uint8_t *tab, size_t len, int firstlineno, uint64_t addrq);
static void test_linetable(void)
{
    const uint8_t tab[] = {
        0x80 | (0 << 3) | 1,  0x05,                    /* SHORT, 2 units, line 10 */
        0x80 | (11 << 3) | 0, 1,           2,          /* ONE_LINE1, 1 unit, line 11 */
        0x80 | (13 << 3) | 2, 0x06,                    /* NO_COLUMNS +3, 3 units, line 14 */
        0x80 | (15 << 3) | 0,                          /* NONE, 1 unit */
        0x80 | (14 << 3) | 0, 0x05,        0,    1, 1, /* LONG -2, line 12 */
        0x80 | (13 << 3) | 0, 0x40 | 0x08, 0x01, /* NO_COLUMNS varint: u = 8 | 1<<6 = 72 -> +36 */
    };
    CHECK(pag__linetable_line(tab, sizeof tab, 10, 0) == 10);
    CHECK(pag__linetable_line(tab, sizeof tab, 10, 1) == 10);
    CHECK(pag__linetable_line(tab, sizeof tab, 10, 2) == 11);
    CHECK(pag__linetable_line(tab, sizeof tab, 10, 5) == 14);
    CHECK(pag__linetable_line(tab, sizeof tab, 10, 6) == -1);
    CHECK(pag__linetable_line(tab, sizeof tab, 10, 7) == 12);
    CHECK(pag__linetable_line(tab, sizeof tab, 10, 8) == 48);
    CHECK(pag__linetable_line(tab, sizeof tab, 10, 99) == -1);
    CHECK(pag__linetable_line(tab, 3, 10, 2) == -1); /* cut short */
}

int main(void)
{
    test_graph(14);
    test_graph(15);
    test_future_and_cycle();
    test_running(14);
    test_running(15);
    test_versions();
    test_corrupt();
    test_str_header();
    test_inconsistent_note();
    test_linetable();
    if (failures) {
        fprintf(stderr, "test_decode: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_decode: all checks passed\n");
    return 0;
}
