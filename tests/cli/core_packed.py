"""Compressed cores and cores from a stream read like the plain core.

usage: core_packed.py FIXTURE VERSION

One gcore core of a live fixture is the oracle: its output in every format.
Then, for zstd, lz4, xz and gzip (compressed by the real command-line tools,
once as one frame and once as two concatenated frames), the compressed file
given as --core, the same piped into `--core -`, and the plain core written
into a FIFO after the CLI has started, must give the same bytes (JSON: the
same with "source" removed, and source.core naming what the user gave).
A compressed core cut short is exit 12 with a "truncated" line; bad
compressed data is exit 8; a file system too small for the decompressed
core (a 1 MiB tmpfs in a private mount namespace) is exit 1 with one line
naming TMPDIR; no run leaves a file in TMPDIR.
"""
import json
import os
import pty
import shutil
import subprocess
import sys
import tempfile
import time

from clitest import Checker, json_without_source, pagtest

FORMATS = ["tree", "table", "graph", "json", "tasks"]
PACKERS = {  # name -> compress command (stdin to stdout)
    "zstd": ["zstd", "-q", "-c", "-3"],
    "lz4": ["lz4", "-q", "-c"],
    "xz": ["xz", "-c", "-0", "-T1"],
    "gzip": ["gzip", "-c", "-1"],
}


def cli(args, stdin=None, env=None, timeout=300):
    p = subprocess.run([pagtest.cli_path()] + args, stdin=stdin, capture_output=True,
                       env=env, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), \
        p.stderr.decode("utf-8", "surrogateescape")


def piped(path, args, env):
    """cat PATH | py-async-graph ARGS: the core comes through a real pipe."""
    cat = subprocess.Popen(["cat", path], stdout=subprocess.PIPE)
    try:
        return cli(args, stdin=cat.stdout, env=env)
    finally:
        cat.stdout.close()
        cat.wait()


def compress(packer, src, dst, split=False):
    """Compress src into dst; split: as two frames/members, concatenated."""
    data = open(src, "rb").read()
    parts = [data[:len(data) // 3], data[len(data) // 3:]] if split else [data]
    with open(dst, "wb") as out:
        for part in parts:
            out.write(subprocess.run(PACKERS[packer], input=part, capture_output=True,
                                     check=True).stdout)


def same(c, what, want, got):
    for f in FORMATS:
        wrc, wout, werr = want[f]
        grc, gout, gerr = got(f)
        if f == "json" and wrc == 0 and grc == 0:
            eq = json_without_source(wout) == json_without_source(gout)
        else:
            eq = wout == gout
        c.check(wrc == grc and eq and werr == gerr, "%s: %s equals the plain core" % (what, f),
                "exit %s vs %s\n--- plain ---\n%s%s--- this ---\n%s%s" %
                (wrc, grc, wout[:1500], werr, gout[:1500], gerr))


def check_tmp_empty(c, tmp, what):
    left = os.listdir(tmp)
    c.check(not left, "%s: nothing left in TMPDIR" % what, " ".join(left))


def fifo_run(c, core, tmp, env):
    """The CLI opens a FIFO with no writer yet: it must not block in open(),
    says once that it waits, and reads the core when it comes."""
    fifo = os.path.join(tmp, "..", "core.fifo")
    os.mkfifo(fifo)
    try:
        p = subprocess.Popen([pagtest.cli_path(), "--format", "tree", "--core", fifo],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        time.sleep(3)
        c.check(p.poll() is None, "FIFO: the CLI waits for a writer")
        with open(fifo, "wb") as w:
            w.write(open(core, "rb").read())
        out, err = p.communicate(timeout=120)
        return p.returncode, out.decode("utf-8", "surrogateescape"), \
            err.decode("utf-8", "surrogateescape")
    finally:
        os.unlink(fifo)


def damaged(c, packed, tmp, env):
    data = open(packed, "rb").read()
    cut = os.path.join(tmp, "..", "cut.zst")
    open(cut, "wb").write(data[:len(data) // 2])
    rc, out, err = cli(["--core", cut], env=env)
    c.check(rc == 12 and len(err.splitlines()) == 1 and "truncated" in err and out == "",
            "a zstd core cut in half: exit 12, one line", "exit %s: %s" % (rc, err))
    bad = bytearray(data)
    for i in range(len(bad) // 2, len(bad) // 2 + 64):
        bad[i] ^= 0x5A
    badf = os.path.join(tmp, "..", "bad.zst")
    open(badf, "wb").write(bytes(bad))
    rc, out, err = cli(["--core", badf], env=env)
    c.check(rc == 8 and len(err.splitlines()) == 1 and "corrupt" in err and out == "",
            "a zstd core with bad bytes: exit 8, one line", "exit %s: %s" % (rc, err))
    for f in (cut, badf):
        os.unlink(f)
    check_tmp_empty(c, tmp, "damaged")


def disk_full(c, packed, tmp):
    """TMPDIR on a 1 MiB tmpfs: the decompressed core does not fit."""
    if not shutil.which("unshare"):
        pagtest.fail("unshare (util-linux) is needed for the disk-full case")
    script = ("mkdir -p %s/small && mount -t tmpfs -o size=1m tmpfs %s/small && "
              "TMPDIR=%s/small %s --core %s; rc=$?; ls -A %s/small; exit $rc") % (
                  tmp, tmp, tmp, pagtest.cli_path(), packed, tmp)
    p = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, timeout=300)
    out, err = p.stdout.decode(), p.stderr.decode()
    if p.returncode != 1 and "unshare" in err:
        pagtest.fail("cannot make a private mount namespace here: " + err.strip())
    c.check(p.returncode == 1 and len(err.splitlines()) == 1 and "no space in" in err and
            "small" in err and out == "",
            "decompressing onto a full file system: exit 1, one line naming TMPDIR, nothing left",
            "exit %s\nstdout: %s\nstderr: %s" % (p.returncode, out, err))


def tty_stdin(c):
    """`--core -` with a terminal as standard input: refused, not read."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run([pagtest.cli_path(), "--core", "-"], stdin=slave, capture_output=True,
                           timeout=30)
    finally:
        os.close(slave)
        os.close(master)
    err = p.stderr.decode()
    c.check(p.returncode == 2 and "terminal" in err and len(err.splitlines()) == 1,
            "--core - from a terminal: exit 2, one line", "exit %s: %s" % (p.returncode, err))


def main():
    fixture, version = sys.argv[1], sys.argv[2]
    c = Checker("packed cores %s/%s" % (fixture, version))
    work = tempfile.mkdtemp(prefix="pag-packed-")
    tmp = os.path.join(work, "tmp")
    os.mkdir(tmp)
    env = dict(os.environ, TMPDIR=tmp)
    try:
        with pagtest.Fixture(fixture, version) as fx:
            core = fx.gcore()
            plain = {f: cli(["--format", f, "--core", core], env=env) for f in FORMATS}
            c.check(plain["tree"][0] == 0, "the plain core is read", plain["tree"][2])
            for name in PACKERS:
                for split in (False, True):
                    what = "%s%s" % (name, " (two frames)" if split else "")
                    packed = os.path.join(work, "core." + name)
                    compress(name, core, packed, split)
                    same(c, what + " --core FILE", plain,
                         lambda f: cli(["--format", f, "--core", packed], env=env))
                    rc, out, _ = cli(["--format", "json", "--core", packed], env=env)
                    c.check(rc == 0 and json.loads(out)["source"].get("core") == packed,
                            what + ": JSON source names the compressed file")
                    same(c, what + " piped into --core -", plain,
                         lambda f: piped(packed, ["--format", f, "--core", "-"], env))
                    check_tmp_empty(c, tmp, what)
                    if name == "zstd" and not split:
                        damaged(c, packed, tmp, env)
                        disk_full(c, packed, work)
                    os.unlink(packed)
            same(c, "plain core piped into --core -", plain,
                 lambda f: piped(core, ["--format", f, "--core", "-"], env))
            with open(core, "rb") as f0:
                same(c, "plain core as standard input (a file)", plain,
                     lambda f: (f0.seek(0), cli(["--format", f, "--core", "-"], stdin=f0, env=env))[1])
            rc, out, err = fifo_run(c, core, tmp, env)
            c.check(rc == 0 and out == plain["tree"][1] and "waiting for the core on" in err and
                    len(err.splitlines()) == 1,
                    "a FIFO: waits, says so once, then the same tree", "exit %s\n%s" % (rc, err))
            check_tmp_empty(c, tmp, "FIFO")
            tty_stdin(c)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
