/* The per-version descriptors of common/src/versions.c: the table agrees
 * with the one list of supported versions (fixtures/python-versions, passed
 * in by CMake as PAG_TEST_PY_VERSIONS "3.14,3.15"), is consistent as a whole,
 * and drives the checks of both debug tables: a minor without a row is
 * refused (never decoded with another version's constants), an offset that
 * does not fit its declared struct is refused naming the field, and so is an
 * AsyncioDebug field out of bounds. */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "synth_image.h"

#ifndef PAG_TEST_PY_VERSIONS
#error "tests/unit.cmake passes PAG_TEST_PY_VERSIONS (fixtures/python-versions)"
#endif

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        if (strcmp((got), (want)) != 0) {                                                          \
            fprintf(stderr, "%s:%d: got \"%s\"\n    want \"%s\"\n", __FILE__, __LINE__, (got),     \
                    (want));                                                                       \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static uint64_t hexversion(unsigned minor)
{
    return minor == 14 ? 0x030e0af0 : 0x03000000u | (minor << 16) | 0x02f0;
}

/* The versions of the list, the table's texts and the error messages agree. */
static void test_list(void)
{
    char want_text[128] = "", want_prose[128] = "";
    char list[] = PAG_TEST_PY_VERSIONS;
    const char *item[16];
    size_t n = 0;
    for (char *p = strtok(list, ","); p && n < 16; p = strtok(NULL, ","))
        item[n++] = p;
    CHECK(n >= 1);
    for (size_t i = 0; i < n; i++) {
        strcat(want_text, i ? ", " : "");
        strcat(want_text, item[i]);
        strcat(want_prose, i == 0 ? "" : i + 1 == n ? " and " : ", ");
        strcat(want_prose, item[i]);
        /* each listed version has a row, found by its PY_VERSION_HEX */
        unsigned minor = 0;
        CHECK(sscanf(item[i], "3.%u", &minor) == 1);
        struct pag_errbuf eb = {{0}};
        pag_err_t e = PAG_OK;
        const pag_pyversion_t *v = pag__version_find(hexversion(minor), &eb, &e);
        CHECK(v && v->minor == minor && !strcmp(v->text, item[i]));
    }
    CHECK_STR(pag__versions_text(), want_text);
    CHECK_STR(pag__versions_prose(), want_prose);
    char msg[256];
    int r = pag__versions_selfcheck(msg, sizeof msg);
    if (r) fprintf(stderr, "selfcheck: %s\n", msg);
    CHECK(r == 0);
}

/* Index of a named field in a row's _Py_DebugOffsets list (its u64 slot is
 * at byte 24 + 8 * index of the table). */
static size_t field_index(unsigned minor, const char *name)
{
    struct pag_errbuf eb;
    pag_err_t e;
    const pag_pyversion_t *v = pag__version_find(hexversion(minor), &eb, &e);
    for (size_t i = 0; v && i < v->n_offsets; i++)
        if (!strcmp(v->offsets[i].name, name)) return i;
    fprintf(stderr, "no field %s in 3.%u\n", name, minor);
    failures++;
    return 0;
}

static pag_err_t bind(sy_image_t *im, char *msg, size_t len)
{
    pag_err_t err;
    pag_session_t *s = pag_session_create_ex(&sy_accessors, im, &err, msg, len);
    pag_session_destroy(s);
    return err;
}

/* A version with no row: unsupported (newer) or too old, with the texts the
 * frontends and the docs show, built from the table. */
static void test_unknown_minor(void)
{
    char msg[256], want[256];
    sy_image_t im;
    /* 3.16 laid out exactly like 3.15: must not be read with 3.15's rules */
    sy_init(&im, 15, 0x031000a1);
    CHECK(bind(&im, msg, sizeof msg) == PAG_ERR_UNSUPPORTED);
    snprintf(want, sizeof want,
             "the target runs CPython 3.16, newer than this py-async-graph understands (%s)",
             pag__versions_text());
    CHECK_STR(msg, want);
    sy_fini(&im);
    sy_init(&im, 14, 0x030d05f0);
    CHECK(bind(&im, msg, sizeof msg) == PAG_ERR_PYTHON_TOO_OLD);
    snprintf(want, sizeof want, "the target runs CPython 3.13; py-async-graph reads %s",
             pag__versions_prose());
    CHECK_STR(msg, want);
    sy_fini(&im);
    sy_init(&im, 14, 0x020700f0);
    CHECK(bind(&im, msg, sizeof msg) == PAG_ERR_PYTHON_TOO_OLD);
    sy_fini(&im);
    sy_init(&im, 15, 0x040000f0);
    CHECK(bind(&im, msg, sizeof msg) == PAG_ERR_UNSUPPORTED);
    CHECK(!strncmp(msg, "the target runs CPython 4.0, newer than", 39));
    sy_fini(&im);
}

/* One field of the image's _Py_DebugOffsets, by its name in the row. */
static void set_field(sy_image_t *im, const char *name, uint64_t value)
{
    struct pag_errbuf eb = {{0}};
    pag_err_t e = PAG_OK;
    const pag_pyversion_t *v = pag__version_find(hexversion(im->minor), &eb, &e);
    for (size_t i = 0; v && i < v->n_offsets; i++)
        if (!strcmp(v->offsets[i].name, name)) {
            sy_w64(im, im->runtime + PAG_DEBUG_OFFSETS_HEADER + 8 * i, value);
            return;
        }
    fprintf(stderr, "no field %s\n", name);
    abort();
}

/* The constants come from the target's row; the str bits from its build. */
static void test_consts(void)
{
    for (unsigned minor = 14; minor <= 15; minor++) {
        for (uint64_t ft = 0; ft <= 1; ft++) {
            sy_image_t im;
            sy_init(&im, minor, hexversion(minor));
            sy_w64(&im, im.runtime + 16, ft);
            if (ft) { /* a free-threaded table names its bytecode-copy fields */
                set_field(&im, "interpreter_frame.tlbc_index", 80);
                set_field(&im, "code_object.co_tlbc", 8);
            }
            pag_err_t err;
            pag_session_t *s = pag_session_create(&sy_accessors, &im, &err);
            CHECK(s && err == PAG_OK);
            if (s) {
                CHECK(s->ver && s->ver->minor == minor);
                CHECK(s->k.await_slot == (minor == 14 ? 1 : 2));
                CHECK(s->k.frame_yield_from == (minor == 14 ? -1 : 2));
                CHECK(s->k.frame_cleared == (minor == 14 ? 4 : 5));
                CHECK(s->k.has_base_frame == (minor == 15));
                CHECK(s->k.str_kind_shift == (ft ? 8u : 2u));
                CHECK(s->k.str_ascii_bit == (ft ? 12u : 6u));
                /* 3.14 has no compact_size in its table: asciiobject_size + 16 */
                CHECK(s->off.unicode.compact_size == SY_STR_COMPACT);
                CHECK(s->have_async && s->aoff.task.node == SY_T_NODE &&
                      s->aoff.thread.tasks_head == SY_TS_TASKS);
            }
            pag_session_destroy(s);
            sy_fini(&im);
        }
    }
}

/* One offset of the runtime table changed: refused, naming the field. */
static void expect_refused(unsigned minor, const char *field, uint64_t value, const char *want)
{
    char msg[256];
    sy_image_t im;
    sy_init(&im, minor, hexversion(minor));
    sy_w64(&im, im.runtime + 24 + 8 * field_index(minor, field), value);
    pag_err_t err = bind(&im, msg, sizeof msg);
    CHECK(err == PAG_ERR_CORRUPT);
    CHECK_STR(msg, want);
    sy_fini(&im);
}

static void test_fields_checked(void)
{
    /* the texts of before, byte for byte */
    expect_refused(14, "runtime_state.size", 8,
                   "debug offsets: runtime_state.interpreters_head (1024) does not fit its "
                   "struct (size 8)");
    expect_refused(15, "code_object.qualname", SY_CODE_SIZE - 4,
                   "debug offsets: code_object.qualname (228) does not fit its struct (size 232)");
    /* width from another field: a whole frame embedded at gi_iframe */
    expect_refused(14, "gen_object.size", 100,
                   "debug offsets: gen_object.gi_iframe (80) does not fit its struct (size 100)");
    /* slack: ob_digit may sit up to 8 bytes past sizeof; the message shows size + 8 */
    expect_refused(15, "long_object.ob_digit", 40,
                   "debug offsets: long_object.ob_digit (40) does not fit its struct (size 40)");
    /* offsets the decoder uses that were not checked before */
    expect_refused(15, "thread_state.base_frame", 500,
                   "debug offsets: thread_state.base_frame (500) does not fit its struct "
                   "(size 192)");
    expect_refused(14, "interpreter_frame.localsplus", 96,
                   "debug offsets: interpreter_frame.localsplus (96) does not fit its struct "
                   "(size 88)");
    /* a wrapped-around offset */
    expect_refused(15, "interpreter_frame.owner", (uint64_t)-1,
                   "debug offsets: interpreter_frame.owner (18446744073709551615) does not fit "
                   "its struct (size 88)");
    /* the plausibility checks are kept */
    expect_refused(15, "unicode_object.compact_size", 4096,
                   "debug offsets: implausible str or list-node layout");
    expect_refused(14, "pyobject.size", 72, "debug offsets: implausible PyObject size 72");
    /* a field nothing reads is not checked */
    char msg[256];
    sy_image_t im;
    sy_init(&im, 15, hexversion(15));
    sy_w64(&im, im.runtime + 24 + 8 * field_index(15, "dict_object.ma_keys"), 1u << 30);
    CHECK(bind(&im, msg, sizeof msg) == PAG_OK);
    sy_fini(&im);
}

/* One u64 of the AsyncioDebug table changed: the table is refused as
 * corrupt (asyncio is there, but cannot be trusted), not "not loaded". */
static void expect_async_refused(unsigned minor, unsigned slot, uint64_t value)
{
    sy_image_t im;
    sy_init(&im, minor, hexversion(minor));
    sy_w64(&im, im.asyncio + 8 * slot, value);
    pag_err_t err;
    pag_session_t *s = pag_session_create(&sy_accessors, &im, &err);
    CHECK(s && err == PAG_OK);
    if (s) {
        CHECK(!s->have_async && s->async_corrupt);
        char want[160];
        snprintf(want, sizeof want,
                 "the AsyncioDebug table at 0x%llx fails its checks against the runtime's debug "
                 "offsets",
                 (unsigned long long)im.asyncio);
        CHECK_STR(pag_session_errmsg(s), want);
        pag_snapshot_t *snap = NULL;
        CHECK(pag_snapshot_take(s, &snap) == PAG_ERR_CORRUPT && !snap);
    }
    pag_session_destroy(s);
    sy_fini(&im);
}

static void test_asyncio_checked(void)
{
    expect_async_refused(14, 5, SY_T_SIZE);        /* task_coro at the end of the task */
    expect_async_refused(15, 3, SY_T_SIZE);        /* task_is_task, 1 byte, just past it */
    expect_async_refused(15, 6, SY_T_SIZE - 8);    /* task_node: prev would be past the end */
    expect_async_refused(14, 8, SY_IS_SIZE - 8);   /* interp tasks_head: 16 bytes */
    expect_async_refused(15, 12, SY_TSI_SIZE - 8); /* thread tasks_head: 16 bytes */
    expect_async_refused(14, 7, SY_IS_SIZE + 8);   /* interp size != the runtime's */
    expect_async_refused(15, 9, SY_TS_SIZE - 8);   /* thread size < thread_state.size */
    expect_async_refused(15, 0, 8);                /* task size < PyObject */
    expect_async_refused(14, 1, (uint64_t)-8);     /* task_name wrapped around */
    /* at the edge, still accepted */
    sy_image_t im;
    sy_init(&im, 15, hexversion(15));
    sy_w64(&im, im.asyncio + 8 * 6, SY_T_SIZE - 16);
    pag_err_t err;
    pag_session_t *s = pag_session_create(&sy_accessors, &im, &err);
    CHECK(s && s->have_async && !s->async_corrupt);
    pag_session_destroy(s);
    sy_fini(&im);
}

int main(void)
{
    test_list();
    test_unknown_minor();
    test_consts();
    test_fields_checked();
    test_asyncio_checked();
    if (failures) {
        fprintf(stderr, "test_versions: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_versions: all checks passed\n");
    return 0;
}
