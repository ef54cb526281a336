/* Cores that are not a plain ELF file on disk: compressed, or a stream.
 *
 * systemd-coredump, the default core handler on most distributions, keeps
 * its cores zstd-compressed (/var/lib/systemd/coredump/core.*.zst), and
 * `coredumpctl dump PID` writes one to a pipe.  The rest of the core reader
 * maps the core and reads it at random offsets, so such a core is first
 * streamed once, decompressed, into an unlinked temporary file in TMPDIR,
 * and the reader maps that.  A file, not memory: a core is as large as the
 * process was, and a file can use the disk.  Unlinked from the start
 * (O_TMPFILE), so nothing is left behind whatever happens to this process.
 *
 * The format is told by the magic bytes, never by the file name: zstd, lz4
 * (frame format), xz and gzip, each with the library that Debian's
 * elfutils already pulls in.  Concatenated frames/members are read on, as
 * the command-line tools do.  A stream that stops inside a frame is a
 * truncated core, and what was decompressed up to the cut is kept: a
 * kernel core (systemd-coredump's) puts its headers and notes first, so
 * the front of a cut core is often enough for a partial graph
 * (target_core.c decides).  Bad data is a corrupt core; a full disk is one
 * line naming TMPDIR and what was written. */
#include <errno.h>
#include <fcntl.h>
#include <lz4frame.h>
#include <lzma.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "core_stream.h"

enum { CHUNK = 1 << 20 };

typedef enum { PK_NONE, PK_ZSTD, PK_XZ, PK_GZIP, PK_LZ4, PK_BZIP2 } pack_t;

static const struct {
    const char *magic;
    size_t len;
    const char *name;
} packers[] = {
    [PK_ZSTD] = {"\x28\xb5\x2f\xfd", 4, "zstd"},
    [PK_XZ] = {"\xfd\x37\x7a\x58\x5a\x00", 6, "xz"},
    [PK_GZIP] = {"\x1f\x8b", 2, "gzip"},
    [PK_LZ4] = {"\x04\x22\x4d\x18", 4, "lz4"},
    [PK_BZIP2] = {"BZh", 3, "bzip2"},
};

static pack_t pack_of(const unsigned char *head, size_t n)
{
    for (size_t i = 1; i < sizeof packers / sizeof *packers; i++)
        if (n >= packers[i].len && memcmp(head, packers[i].magic, packers[i].len) == 0)
            return (pack_t)i;
    return PK_NONE;
}

const char *cli_core_packer(const unsigned char *head, size_t n)
{
    pack_t p = pack_of(head, n);
    return p == PK_NONE ? NULL : packers[p].name;
}

int cli_core_unpackable(const unsigned char *head, size_t n)
{
    pack_t p = pack_of(head, n);
    return p != PK_NONE && p != PK_BZIP2;
}

/* One spooling job: where the bytes come from, where they go, and the
 * one line when something goes wrong. */
typedef struct spool {
    int in, out;
    const char *name;   /* the core as the user named it, for messages */
    const char *tmpdir; /* where the temporary file lives */
    unsigned char *ibuf, *obuf;
    size_t ilen; /* bytes in ibuf */
    unsigned long long written, consumed;
    int eof;
    char *msg;
    size_t msglen;
} spool_t;

/* Wait for a pipe's first byte without burning CPU, saying once on stderr
 * what is awaited when nothing comes (a FIFO with no writer yet). */
static void wait_first(spool_t *s)
{
    struct pollfd p = {s->in, POLLIN, 0};
    if (poll(&p, 1, 2000) == 0) {
        fprintf(stderr, "py-async-graph: waiting for the core on %s\n", s->name);
        p.revents = 0;
        while (poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
    }
}

/* Refill the input buffer (keeping nothing: the decoders consume all). */
static int fill(spool_t *s)
{
    s->ilen = 0;
    while (!s->eof && s->ilen < CHUNK) {
        ssize_t r = read(s->in, s->ibuf + s->ilen, CHUNK - s->ilen);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) {
            struct pollfd p = {s->in, POLLIN, 0};
            poll(&p, 1, -1);
            continue;
        }
        if (r < 0) {
            snprintf(s->msg, s->msglen, "cannot read core %s: %s", s->name, strerror(errno));
            return -1;
        }
        if (r == 0) s->eof = 1;
        s->ilen += (size_t)r;
        if (r > 0) break; /* a pipe gives what it has: work on it */
    }
    s->consumed += s->ilen;
    return 0;
}

/* Write decoded bytes to the temporary file; a full disk is the one line. */
static int put(spool_t *s, const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n) {
        ssize_t w = write(s->out, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            int er = errno;
            struct statvfs vf;
            unsigned long long avail =
                fstatvfs(s->out, &vf) == 0 ? (unsigned long long)vf.f_bavail * vf.f_frsize : 0;
            if (er == ENOSPC || er == EDQUOT || er == EFBIG)
                snprintf(s->msg, s->msglen,
                         "no space in %s for the decompressed core %s: %llu MiB written, "
                         "%llu MiB free (set TMPDIR to a larger file system)",
                         s->tmpdir, s->name, s->written >> 20, avail >> 20);
            else
                snprintf(s->msg, s->msglen, "cannot write the decompressed core to %s: %s",
                         s->tmpdir, strerror(er));
            return -1;
        }
        p += w;
        n -= (size_t)w;
        s->written += (unsigned long long)w;
    }
    return 0;
}

/* The four decoders behind one step function, so that the loop that feeds
 * them, drains them and tells a truncated stream from a whole one is
 * written once.  step() decodes from in (*ilen bytes; on return, the bytes
 * it used) into out (*olen bytes of room; on return, the bytes it made) and
 * returns 1 when a frame (member, stream) has just ended, 0 inside one, -1
 * on bad data with *why set.  A next frame may follow an ended one. */
typedef struct codec {
    const char *name;
    void *(*create)(void);
    void (*destroy)(void *);
    int (*step)(void *z, const unsigned char *in, size_t *ilen, unsigned char *out, size_t *olen,
                int eof, const char **why);
} codec_t;

static void *zstd_create(void)
{
    return ZSTD_createDStream();
}
static void zstd_destroy(void *z)
{
    ZSTD_freeDStream(z);
}
static int zstd_step(void *z, const unsigned char *in, size_t *ilen, unsigned char *out,
                     size_t *olen, int eof, const char **why)
{
    (void)eof;
    ZSTD_inBuffer ib = {in, *ilen, 0};
    ZSTD_outBuffer ob = {out, *olen, 0};
    size_t r = ZSTD_decompressStream(z, &ob, &ib);
    *ilen = ib.pos;
    *olen = ob.pos;
    if (ZSTD_isError(r)) *why = ZSTD_getErrorName(r);
    return ZSTD_isError(r) ? -1 : r == 0;
}

static void *lz4_create(void)
{
    LZ4F_dctx *z = NULL;
    return LZ4F_isError(LZ4F_createDecompressionContext(&z, LZ4F_VERSION)) ? NULL : z;
}
static void lz4_destroy(void *z)
{
    LZ4F_freeDecompressionContext(z);
}
static int lz4_step(void *z, const unsigned char *in, size_t *ilen, unsigned char *out,
                    size_t *olen, int eof, const char **why)
{
    (void)eof;
    size_t r = LZ4F_decompress(z, out, olen, in, ilen, NULL);
    if (LZ4F_isError(r)) *why = LZ4F_getErrorName(r);
    return LZ4F_isError(r) ? -1 : r == 0;
}

static void *xz_create(void)
{
    lzma_stream *z = malloc(sizeof *z);
    if (!z) return NULL;
    *z = (lzma_stream)LZMA_STREAM_INIT;
    if (lzma_stream_decoder(z, UINT64_MAX, LZMA_CONCATENATED) == LZMA_OK) return z;
    free(z);
    return NULL;
}
static void xz_destroy(void *z)
{
    lzma_end(z);
    free(z);
}
static int xz_step(void *zp, const unsigned char *in, size_t *ilen, unsigned char *out,
                   size_t *olen, int eof, const char **why)
{
    lzma_stream *z = zp;
    z->next_in = in;
    z->avail_in = *ilen;
    z->next_out = out;
    z->avail_out = *olen;
    /* Concatenated .xz streams end only when told that the input has. */
    lzma_ret r = lzma_code(z, eof ? LZMA_FINISH : LZMA_RUN);
    *ilen -= z->avail_in;
    *olen -= z->avail_out;
    if (r == LZMA_STREAM_END) return 1;
    if (r == LZMA_OK || r == LZMA_BUF_ERROR) return 0; /* BUF_ERROR: no progress possible */
    *why = r == LZMA_MEM_ERROR      ? "out of memory"
           : r == LZMA_FORMAT_ERROR ? "not xz"
                                    : "invalid data";
    return -1;
}

typedef struct gz {
    z_stream z;
    int ended; /* a member ended: the next input starts a new one */
} gz_t;
static void *gz_create(void)
{
    gz_t *g = calloc(1, sizeof *g);
    if (g && inflateInit2(&g->z, 15 + 16) != Z_OK) { /* 16: gzip header and trailer */
        free(g);
        g = NULL;
    }
    return g;
}
static void gz_destroy(void *g)
{
    inflateEnd(&((gz_t *)g)->z);
    free(g);
}
static int gz_step(void *gp, const unsigned char *in, size_t *ilen, unsigned char *out,
                   size_t *olen, int eof, const char **why)
{
    gz_t *g = gp;
    (void)eof;
    if (g->ended && *ilen) inflateReset(&g->z);
    if (*ilen) g->ended = 0;
    g->z.next_in = (unsigned char *)in;
    g->z.avail_in = (uInt)(*ilen > UINT32_MAX ? UINT32_MAX : *ilen);
    g->z.next_out = out;
    g->z.avail_out = (uInt)*olen;
    size_t given = g->z.avail_in;
    int r = g->ended ? Z_BUF_ERROR : inflate(&g->z, Z_NO_FLUSH);
    *ilen = given - g->z.avail_in;
    *olen -= g->z.avail_out;
    if (r == Z_STREAM_END) g->ended = 1;
    if (r == Z_OK || r == Z_BUF_ERROR || r == Z_STREAM_END) return g->ended;
    *why = g->z.msg ? g->z.msg : "invalid data";
    return -1;
}

static const codec_t codecs[] = {
    [PK_ZSTD] = {"zstd", zstd_create, zstd_destroy, zstd_step},
    [PK_XZ] = {"xz", xz_create, xz_destroy, xz_step},
    [PK_GZIP] = {"gzip", gz_create, gz_destroy, gz_step},
    [PK_LZ4] = {"lz4", lz4_create, lz4_destroy, lz4_step},
};

/* Feed the decoder until the input ends and its output is drained.  The
 * input must end right after a frame: anything else is a cut stream. */
static pag_err_t decode(spool_t *s, const codec_t *c, void *z)
{
    size_t pos = 0;
    int ended = 0;
    for (;;) {
        if (pos == s->ilen && !s->eof) {
            if (fill(s)) return PAG_ERR_READ;
            pos = 0;
        }
        size_t il = s->ilen - pos, ol = CHUNK;
        const char *why = "invalid data";
        int r = c->step(z, s->ibuf + pos, &il, s->obuf, &ol, s->eof, &why);
        if (r < 0) {
            snprintf(s->msg, s->msglen,
                     "compressed core %s is corrupt after %llu compressed bytes (%s: %s)", s->name,
                     s->consumed - (s->ilen - pos), c->name, why);
            return PAG_ERR_CORRUPT;
        }
        if (put(s, s->obuf, ol)) return PAG_ERR_IO;
        pos += il;
        /* A call that did nothing says nothing about frames (zstd, asked
         * again after a frame, reports the next one as begun), unless it
         * ends the stream (xz ends only when told the input has). */
        if (il || ol || r == 1) ended = r;
        if (pos == s->ilen && s->eof && ol < CHUNK) break; /* all read, all drained */
        if (il == 0 && ol == 0 && pos < s->ilen) break;    /* stuck: cannot happen */
    }
    if (ended && pos == s->ilen) return PAG_OK;
    snprintf(s->msg, s->msglen,
             "compressed core %s is truncated: its %s stream stops inside a frame "
             "(%llu bytes decompressed)",
             s->name, c->name, s->written);
    return PAG_ERR_TRUNCATED;
}

static pag_err_t copy_plain(spool_t *s)
{
    do {
        if (put(s, s->ibuf, s->ilen)) return PAG_ERR_IO;
        if (fill(s)) return PAG_ERR_READ;
    } while (s->ilen);
    return PAG_OK;
}

/* An unlinked read-write file in TMPDIR (or /tmp). */
static int temp_file(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
    char path[4096];
    snprintf(path, sizeof path, "%s/py-async-graph-core.XXXXXX", dir);
    fd = mkstemp(path);
    if (fd >= 0) unlink(path);
    return fd;
}

pag_err_t cli_core_spool(int in, const char *name, int *out, cli_spool_info_t *info, char *msg,
                         size_t msglen)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    spool_t s = {.in = in, .out = -1, .name = name, .tmpdir = dir, .msg = msg, .msglen = msglen};
    s.ibuf = malloc(CHUNK);
    s.obuf = malloc(CHUNK);
    pag_err_t e = PAG_ERR_NOMEM;
    int keep = 0; /* give the file back */
    *out = -1;
    *msg = '\0';
    if (info) *info = (cli_spool_info_t){0};
    struct stat st;
    if (!s.ibuf || !s.obuf) goto done;
    if ((s.out = temp_file(dir)) < 0) {
        snprintf(msg, msglen, "cannot make a temporary file in %s for core %s: %s", dir, name,
                 strerror(errno));
        e = PAG_ERR_IO;
        goto done;
    }
    if (fstat(in, &st) == 0 && !S_ISREG(st.st_mode)) wait_first(&s);
    e = PAG_ERR_READ;
    if (fill(&s)) goto done;
    pack_t p = pack_of(s.ibuf, s.ilen);
    if (info) info->packer = p == PK_NONE || p == PK_BZIP2 ? NULL : codecs[p].name;
    if (p == PK_NONE || p == PK_BZIP2) {
        e = copy_plain(&s); /* the caller tells what it is, once it is a file */
    } else {
        void *z = codecs[p].create();
        e = z ? decode(&s, &codecs[p], z) : PAG_ERR_NOMEM;
        if (z) codecs[p].destroy(z);
    }
    /* a cut stream keeps its front: the caller may read it as a truncated core */
    keep = e == PAG_OK || e == PAG_ERR_TRUNCATED;
    if (keep && lseek(s.out, 0, SEEK_SET) != 0) {
        snprintf(msg, msglen, "cannot read the decompressed core %s back: %s", name,
                 strerror(errno));
        e = PAG_ERR_IO, keep = 0;
    }
done:
    if (e == PAG_ERR_NOMEM && !*msg) snprintf(msg, msglen, "out of memory");
    if (!keep && s.out >= 0) close(s.out);
    if (keep) *out = s.out;
    if (info) info->consumed = s.consumed, info->written = s.written;
    free(s.ibuf);
    free(s.obuf);
    return e;
}
