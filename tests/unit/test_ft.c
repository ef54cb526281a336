/* Free-threaded (Py_GIL_DISABLED) decoding on synthetic images (issue 15).
 *
 * Why this exists: no free-threaded CPython can be built on this project's
 * machines yet, so what free-threading changes for the decoder is checked
 * here on images shaped the way the target's own tables describe such a
 * build (synth_image.h, sy_init_ft): the free_threaded flag, a PyObject
 * header 16 bytes larger (ob_type at the table's pyobject.ob_type), that
 * build's str state bits, tagged code pointers, and thread-local bytecode.
 * Nothing here was run against a real 3.14t/3.15t process.
 *
 * Thread-local bytecode is the part that silently gives wrong lines: two
 * threads run the same code object, one on copy 0 (co_code_adaptive), one
 * on copy 2 (co_tlbc->entries[2]); each frame's line must come from its
 * instruction offset measured from its own copy.  The oracle is the image's
 * location table as synth_image.h builds it (unit u of a code object whose
 * first line is F is on line F+1+u/4), and each check also asserts that
 * measuring from co_code_adaptive would give another line, so the test
 * fails on a decoder that ignores tlbc_index.  Then the damaged cases: an
 * index past the array, a negative one, an unreadable or missing array, a
 * huge size, a NULL entry: the frame is kept with its line unknown and the
 * task counted as not fully decoded (exit 10), never a made-up line. */
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

#define NUNITS 64 /* code units of each code object (lines F+1 .. F+16) */

static uint64_t version_of(unsigned minor)
{
    return minor == 14 ? 0x030e0af0 : 0x030f02f0;
}

/* The line synth_image.h's location table gives code unit u (-1 outside). */
static int table_line(int first, int64_t u)
{
    return u >= 0 && u < NUNITS ? first + 1 + (int)(u / 4) : -1;
}

/* What a decoder that always measures from co_code_adaptive would print
 * for a frame at unit `unit` of copy `copy_base`. */
static int line_from_adaptive(sy_image_t *im, uint64_t code, int first, uint64_t copy_base,
                              unsigned unit)
{
    uint64_t ip = copy_base + 2 * (uint64_t)unit, adaptive = sy_code_adaptive(im, code);
    if (ip < adaptive) return -1;
    return table_line(first, (int64_t)((ip - adaptive) / 2));
}

static pag_snapshot_t *take(sy_image_t *im, pag_err_t *err)
{
    char msg[256];
    pag_session_t *s = pag_session_create_ex(&sy_accessors, im, err, msg, sizeof msg);
    if (!s) {
        fprintf(stderr, "session: %s\n", msg);
        return NULL;
    }
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

/* The image of every test below.  Thread A (native id 101, tlbc index 0)
 * runs task "a": Worker.run suspended at unit 9 of copy 0.  Thread B
 * (native id 202, tlbc index 2) runs task "b": Worker.run suspended at unit
 * 22 of copy 2, and task "c", running: its coroutine (Worker.run at unit 30
 * of copy 2) called crunch(), at unit 13 of crunch's copy 2. */
typedef struct ft_image {
    sy_image_t im;
    uint64_t work, crunch; /* code objects */
    uint64_t a, b, c;      /* coroutines of the three tasks */
    uint64_t sync_frame;   /* crunch's frame on thread B */
    uint64_t work_copy2, crunch_copy2;
} ft_image_t;

enum { FIRST_WORK = 40, FIRST_CRUNCH = 80, UNIT_A = 9, UNIT_B = 22, UNIT_C = 30, UNIT_SYNC = 13 };

static void build(ft_image_t *f, unsigned minor)
{
    sy_image_t *im = &f->im;
    sy_init_ft(im, minor, version_of(minor));
    f->work = sy_code(im, "Worker.run", "/app/w.py", FIRST_WORK, NUNITS);
    f->crunch = sy_code(im, "crunch", "/app/w.py", FIRST_CRUNCH, NUNITS);
    /* thread B's copies; entry 1 stays NULL (that thread never ran them) */
    f->work_copy2 = sy_tlbc_copy(im, f->work, 2, NUNITS);
    f->crunch_copy2 = sy_tlbc_copy(im, f->crunch, 2, NUNITS);
    uint64_t fut = sy_future(im);
    f->a = sy_coro(im, f->work, UNIT_A, fut); /* copy 0: sy_coro's default */
    f->b = sy_coro(im, f->work, 0, fut);
    sy_frame_on_copy(im, sy_coro_frame(im, f->b), f->work, 2, UNIT_B);
    f->c = sy_coro_type(im, im->t_coroutine, f->work, 0, 0, sy_state_executing(im));
    sy_frame_on_copy(im, sy_coro_frame(im, f->c), f->work, 2, UNIT_C);
    uint64_t ta = sy_task(im, sy_str(im, "a"), f->a);
    uint64_t tb = sy_task(im, sy_str(im, "b"), f->b);
    uint64_t tc = sy_task(im, sy_str(im, "c"), f->c);
    uint64_t th_a = sy_thread(im, 101), th_b = sy_thread(im, 202);
    sy_list(im, th_a + SY_TS_TASKS, &ta, 1);
    uint64_t lb[] = {tb, tc};
    sy_list(im, th_b + SY_TS_TASKS, lb, 2);
    /* thread B's stack: crunch (owned by the thread), then c's coroutine */
    uint64_t sf = sy_alloc(im, SY_FR_SIZE + 64);
    sy_w64(im, sf + SY_FR_EXE, f->crunch | 1); /* a deferred reference: tag bit 0 */
    sy_w8(im, sf + SY_FR_OWNER, 0);
    sy_w64(im, sf + SY_FR_PREV, sy_coro_frame(im, f->c));
    sy_frame_on_copy(im, sf, f->crunch, 2, UNIT_SYNC);
    sy_w64(im, th_b + SY_TS_FRAME, sf);
    sy_w64(im, th_b + SY_TS_RUNNING, tc);
    f->sync_frame = sf;
}

/* Each frame's line is its own copy's, and not co_code_adaptive's. */
static void test_two_copies(unsigned minor)
{
    ft_image_t f;
    build(&f, minor);
    sy_image_t *im = &f.im;
    const int want_a = table_line(FIRST_WORK, UNIT_A), want_b = table_line(FIRST_WORK, UNIT_B);
    const int want_c = table_line(FIRST_WORK, UNIT_C);
    const int want_sync = table_line(FIRST_CRUNCH, UNIT_SYNC);
    CHECK(want_a == 43 && want_b == 46 && want_c == 48 && want_sync == 84);
    /* measured from co_code_adaptive, thread B's lines would be others */
    CHECK(line_from_adaptive(im, f.work, FIRST_WORK, f.work_copy2, UNIT_B) != want_b);
    CHECK(line_from_adaptive(im, f.work, FIRST_WORK, f.work_copy2, UNIT_C) != want_c);
    CHECK(line_from_adaptive(im, f.crunch, FIRST_CRUNCH, f.crunch_copy2, UNIT_SYNC) != want_sync);
    pag_err_t err;
    pag_snapshot_t *s = take(im, &err);
    CHECK(err == PAG_OK && s);
    if (!s) goto out;
    CHECK(s->n_tasks == 3 && s->n_failed == 0 && s->n_inconsistent == 0 && s->n_warnings == 0);
    /* the names are str objects: the FT header and state bits are read right */
    const pag_task_t *a = by_name(s, "a"), *b = by_name(s, "b"), *c = by_name(s, "c");
    CHECK(a && b && c);
    if (!a || !b || !c) goto done;
    CHECK(a->stack.n == 1 && a->stack.frames[0].lineno == want_a &&
          !strcmp(a->stack.frames[0].qualname, "Worker.run") &&
          !strcmp(a->stack.frames[0].filename, "/app/w.py"));
    CHECK(b->stack.n == 1 && b->stack.frames[0].lineno == want_b);
    CHECK(c->stack.n == 1 && c->stack.frames[0].lineno == want_c && c->running);
    const pag_stack_t *rs = &c->running_stack;
    CHECK(rs->n == 2);
    if (rs->n == 2) {
        CHECK(!strcmp(rs->frames[0].qualname, "crunch") && rs->frames[0].lineno == want_sync);
        CHECK(!strcmp(rs->frames[1].qualname, "Worker.run") && rs->frames[1].lineno == want_c);
    }
    /* the two threads, each with its own tasks */
    int seen = 0;
    for (size_t i = 0; i < s->n_threads; i++) {
        if (s->threads[i].native_id == 101) seen += s->threads[i].n_tasks == 1;
        if (s->threads[i].native_id == 202) seen += s->threads[i].n_tasks == 2;
    }
    CHECK(seen == 2);
done:
    pag_snapshot_destroy(s);
out:
    sy_fini(im);
}

/* The same code unit on copy 0 and on copy 2 (the line cache is keyed by
 * instr_ptr): both frames get the line of that unit. */
static void test_same_offset_two_copies(unsigned minor)
{
    ft_image_t f;
    build(&f, minor);
    sy_frame_on_copy(&f.im, sy_coro_frame(&f.im, f.b), f.work, 2, UNIT_A);
    pag_err_t err;
    pag_snapshot_t *s = take(&f.im, &err);
    CHECK(err == PAG_OK && s);
    if (s) {
        const pag_task_t *a = by_name(s, "a"), *b = by_name(s, "b");
        CHECK(a && b && a->stack.n == 1 && b->stack.n == 1);
        if (a && b && a->stack.n == 1 && b->stack.n == 1)
            CHECK(a->stack.frames[0].lineno == table_line(FIRST_WORK, UNIT_A) &&
                  b->stack.frames[0].lineno == table_line(FIRST_WORK, UNIT_A));
        CHECK(s->n_failed == 0);
    }
    pag_snapshot_destroy(s);
    sy_fini(&f.im);
}

/* One damaged image: task "b" keeps its frame with the line unknown and
 * fails with `want_err` and `want_detail`; "a", on copy 0, is untouched;
 * `nfail` tasks fail (2 when the damage is Worker.run's array, which "c"
 * runs on too); the stderr line says so (exit 10). */
static void expect_damaged_b(ft_image_t *f, size_t nfail, pag_err_t want_err,
                             const char *want_detail, const char *what)
{
    pag_err_t err;
    pag_snapshot_t *s = take(&f->im, &err);
    CHECK(err == PAG_OK && s);
    if (!s) return;
    const pag_task_t *a = by_name(s, "a"), *b = by_name(s, "b");
    CHECK(a && b);
    if (a && b) {
        if (b->error != want_err || !b->error_detail || strcmp(b->error_detail, want_detail))
            fprintf(stderr, "%s (3.%u): got error %d \"%s\"\n", what, f->im.minor, b->error,
                    b->error_detail ? b->error_detail : "(none)");
        CHECK(b->error == want_err && b->error_detail && !strcmp(b->error_detail, want_detail));
        CHECK(b->stack.n == 1 && b->stack.frames[0].lineno == -1 &&
              !strcmp(b->stack.frames[0].qualname, "Worker.run"));
        CHECK(a->error == PAG_OK && a->stack.n == 1 &&
              a->stack.frames[0].lineno == table_line(FIRST_WORK, UNIT_A));
    }
    CHECK(s->n_failed == nfail);
    pag_options_t o;
    memset(&o, 0, sizeof o);
    o.format = PAG_FMT_TREE;
    char line[512];
    CHECK(pag_snapshot_note(s, &o, line, sizeof line) == PAG_EXIT_PARTIAL);
    char want[128];
    snprintf(want, sizeof want, "py-async-graph: warning: %zu task(s) could not be fully decoded",
             nfail);
    CHECK(!strcmp(line, want));
    pag_snapshot_destroy(s);
}

static void set_b_index(ft_image_t *f, int32_t idx)
{
    sy_w32(&f->im, sy_coro_frame(&f->im, f->b) + SY_FR_TLBC, (uint32_t)idx);
}

static void test_damage(unsigned minor)
{
    static const char past[] = "a thread-local bytecode index past its array";
    static const char neg[] = "a negative thread-local bytecode index";
    static const char unread[] = "unreadable thread-local bytecode array";
    static const char size[] = "a thread-local bytecode array of implausible size";
    static const char none[] = "a frame on a thread-local bytecode copy that does not exist";
    static const char noarr[] = "a code object without its thread-local bytecode array";
    ft_image_t f;
    uint64_t arr;
    /* an index past the array's size: 16 entries, index 16; then a size of 2 */
    build(&f, minor);
    set_b_index(&f, SY_TLBC_SIZE);
    expect_damaged_b(&f, 1, PAG_ERR_CORRUPT, past, "index == size");
    sy_fini(&f.im);
    build(&f, minor);
    sy_w64(&f.im, sy_tlbc_array(&f.im, f.work), 2);
    expect_damaged_b(&f, 2, PAG_ERR_CORRUPT, past, "size 2, index 2");
    sy_fini(&f.im);
    /* negative indexes */
    const int32_t negs[] = {-1, INT32_MIN};
    for (size_t i = 0; i < 2; i++) {
        build(&f, minor);
        set_b_index(&f, negs[i]);
        expect_damaged_b(&f, 1, PAG_ERR_CORRUPT, neg, "negative index");
        sy_fini(&f.im);
    }
    /* co_tlbc unreadable: pointing at unmapped memory, or at an array whose
     * size is readable and whose entries run past the end of memory */
    build(&f, minor);
    sy_w64(&f.im, f.work + f.im.hdr + SY_CODE_TLBC, 0x1000);
    expect_damaged_b(&f, 2, PAG_ERR_READ, unread, "unmapped co_tlbc");
    sy_fini(&f.im);
    build(&f, minor);
    arr = SY_BASE + SY_SIZE - 16; /* size, entries[0]; entries[2] lies past the end */
    sy_w64(&f.im, arr, 3);
    sy_w64(&f.im, arr + 8, sy_code_adaptive(&f.im, f.work));
    sy_w64(&f.im, f.work + f.im.hdr + SY_CODE_TLBC, arr);
    expect_damaged_b(&f, 2, PAG_ERR_READ, unread, "entries past the end");
    sy_fini(&f.im);
    /* co_tlbc NULL */
    build(&f, minor);
    sy_w64(&f.im, f.work + f.im.hdr + SY_CODE_TLBC, 0);
    expect_damaged_b(&f, 2, PAG_ERR_CORRUPT, noarr, "NULL co_tlbc");
    sy_fini(&f.im);
    /* a huge size, a negative one (as a Py_ssize_t), 0, one past the bound */
    const uint64_t sizes[] = {1ull << 40, (uint64_t)-1, 0, PAG_MAX_TLBC + 1ull};
    for (size_t i = 0; i < 4; i++) {
        build(&f, minor);
        sy_w64(&f.im, sy_tlbc_array(&f.im, f.work), sizes[i]);
        expect_damaged_b(&f, 2, PAG_ERR_CORRUPT, size, "bad size");
        sy_fini(&f.im);
    }
    /* a frame on copy 1, whose entry is NULL */
    build(&f, minor);
    set_b_index(&f, 1);
    expect_damaged_b(&f, 1, PAG_ERR_CORRUPT, none, "NULL entry");
    sy_fini(&f.im);
}

/* At the bound, and an array larger than the memory that holds it (only
 * the entry the frame names is read): the line is right. */
static void test_size_at_bound(unsigned minor)
{
    ft_image_t f;
    build(&f, minor);
    sy_w64(&f.im, sy_tlbc_array(&f.im, f.work), PAG_MAX_TLBC);
    pag_err_t err;
    pag_snapshot_t *s = take(&f.im, &err);
    CHECK(err == PAG_OK && s && s->n_failed == 0);
    const pag_task_t *b = s ? by_name(s, "b") : NULL;
    CHECK(b && b->stack.n == 1 && b->stack.frames[0].lineno == table_line(FIRST_WORK, UNIT_B));
    pag_snapshot_destroy(s);
    sy_fini(&f.im);
}

/* A damaged copy under a thread's running stack: shown with its line
 * unknown (the thread stacks carry no error of their own); the task's own
 * chain, on an undamaged copy, is still whole. */
static void test_damage_in_thread_stack(unsigned minor)
{
    ft_image_t f;
    build(&f, minor);
    sy_w32(&f.im, f.sync_frame + SY_FR_TLBC, 7); /* crunch has no copy 7 */
    pag_err_t err;
    pag_snapshot_t *s = take(&f.im, &err);
    CHECK(err == PAG_OK && s);
    const pag_task_t *c = s ? by_name(s, "c") : NULL;
    CHECK(c && c->error == PAG_OK && c->running_stack.n == 2);
    if (c && c->running_stack.n == 2) {
        CHECK(!strcmp(c->running_stack.frames[0].qualname, "crunch") &&
              c->running_stack.frames[0].lineno == -1);
        CHECK(c->running_stack.frames[1].lineno == table_line(FIRST_WORK, UNIT_C));
    }
    pag_snapshot_destroy(s);
    sy_fini(&f.im);
}

/* Set a field of the synthetic _Py_DebugOffsets by its name in the
 * version's field list (versions.c). */
static void set_field(sy_image_t *im, const char *name, uint64_t value)
{
    struct pag_errbuf eb = {{0}};
    pag_err_t e = PAG_OK;
    const pag_pyversion_t *v = pag__version_find(version_of(im->minor), &eb, &e);
    for (size_t i = 0; v && i < v->n_offsets; i++) {
        if (!strcmp(v->offsets[i].name, name)) {
            sy_w64(im, im->runtime + PAG_DEBUG_OFFSETS_HEADER + 8 * i, value);
            return;
        }
    }
    fprintf(stderr, "no field %s in 3.%u's list\n", name, im->minor);
    abort();
}

/* tlbc_index and co_tlbc are checked reads: an offset whose int32 or
 * pointer does not fit the declared struct is refused, naming the field. */
static void test_table_checks(unsigned minor)
{
    static const struct {
        const char *field;
        uint64_t value;
        const char *want;
    } cases[] = {
        {"interpreter_frame.tlbc_index", SY_FR_SIZE - 3,
         "debug offsets: interpreter_frame.tlbc_index (85) does not fit its struct (size 88)"},
        {"code_object.co_tlbc", SY_CODE_SIZE + SY_FT_HDR - 4,
         "debug offsets: code_object.co_tlbc (244) does not fit its struct (size 248)"},
    };
    for (size_t i = 0; i < 2; i++) {
        ft_image_t f;
        build(&f, minor);
        set_field(&f.im, cases[i].field, cases[i].value);
        pag_err_t err;
        char msg[256];
        pag_session_t *s = pag_session_create_ex(&sy_accessors, &f.im, &err, msg, sizeof msg);
        if (s || strcmp(msg, cases[i].want))
            fprintf(stderr, "3.%u %s: got \"%s\"\n", minor, cases[i].field, msg);
        CHECK(!s && err == PAG_ERR_CORRUPT && !strcmp(msg, cases[i].want));
        pag_session_destroy(s);
        sy_fini(&f.im);
    }
    /* a free-threaded table with no tlbc_index offset (0 is f_executable):
     * no frame's copy can be known, so the session refuses the table */
    for (int k = 0; k < 2; k++) {
        ft_image_t f;
        build(&f, minor);
        set_field(&f.im, k ? "code_object.co_tlbc" : "interpreter_frame.tlbc_index", 0);
        pag_err_t err;
        char msg[256] = "";
        pag_session_t *s = pag_session_create_ex(&sy_accessors, &f.im, &err, msg, sizeof msg);
        CHECK(!s && err == PAG_ERR_CORRUPT &&
              !strcmp(msg, k ? "debug offsets: a free-threaded table without code_object.co_tlbc"
                             : "debug offsets: a free-threaded table without "
                               "interpreter_frame.tlbc_index"));
        pag_session_destroy(s);
        sy_fini(&f.im);
    }
}

/* A GIL build's frames are never read for a tlbc_index: even with the
 * field's offset set in its table and an index written there, the line is
 * measured from co_code_adaptive, as before. */
static void test_gil_ignores_tlbc(unsigned minor)
{
    sy_image_t im;
    sy_init(&im, minor, version_of(minor));
    uint64_t code = sy_code(&im, "Worker.run", "/app/w.py", FIRST_WORK, NUNITS);
    uint64_t g = sy_coro(&im, code, UNIT_B, 0);
    sy_w32(&im, g + SY_GEN_FRAME + SY_FR_TLBC, 2);
    uint64_t t = sy_task(&im, sy_str(&im, "b"), g);
    uint64_t ts = sy_thread(&im, 7);
    sy_list(&im, ts + SY_TS_TASKS, &t, 1);
    set_field(&im, "interpreter_frame.tlbc_index", SY_FR_TLBC);
    set_field(&im, "code_object.co_tlbc", SY_CODE_TLBC);
    pag_err_t err;
    pag_snapshot_t *s = take(&im, &err);
    CHECK(err == PAG_OK && s && s->n_failed == 0 && s->n_tasks == 1);
    if (s && s->n_tasks == 1)
        CHECK(s->tasks[0].stack.n == 1 &&
              s->tasks[0].stack.frames[0].lineno == table_line(FIRST_WORK, UNIT_B));
    pag_snapshot_destroy(s);
    sy_fini(&im);
}

/* The whole command on the free-threaded image: the text a user sees. */
static void test_command(unsigned minor)
{
    ft_image_t f;
    build(&f, minor);
    const char *argv[] = {"--format", "tree"};
    pag_result_t r;
    int rc = pag_command_run(&sy_accessors, &f.im, 2, argv, &r);
    CHECK(rc == PAG_EXIT_OK && r.err_line == NULL && r.out_text);
    if (r.out_text) {
        CHECK(strstr(r.out_text, "Worker.run /app/w.py:43") != NULL); /* thread A, copy 0 */
        CHECK(strstr(r.out_text, "Worker.run /app/w.py:46") != NULL); /* thread B, copy 2 */
    }
    pag_result_free(&r);
    sy_fini(&f.im);
}

int main(void)
{
    for (unsigned minor = 14; minor <= 15; minor++) {
        test_two_copies(minor);
        test_same_offset_two_copies(minor);
        test_damage(minor);
        test_size_at_bound(minor);
        test_damage_in_thread_stack(minor);
        test_table_checks(minor);
        test_gil_ignores_tlbc(minor);
        test_command(minor);
    }
    if (failures) {
        fprintf(stderr, "test_ft: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_ft: all checks passed\n");
    return 0;
}
