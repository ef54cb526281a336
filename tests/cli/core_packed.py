"""Compressed cores and cores from a stream read like the plain core.

usage: core_packed.py FIXTURE VERSION
       core_packed.py cut FIXTURE VERSION [--sweep]

One gcore core of a live fixture is the oracle: its output in every format.
Then, for zstd, lz4, xz and gzip (compressed by the real command-line tools,
once as one frame and once as two concatenated frames), the compressed file
given as --core, the same piped into `--core -`, and the plain core written
into a FIFO after the CLI has started, must give the same bytes (JSON: the
same with "source" removed, and source.core naming what the user gave).
A gcore core's compressed stream cut short is exit 12 with a "truncated"
line and nothing else (gcore writes its notes after the memory, so the
front of the core names no file); bad
compressed data is exit 8; a file system too small for the decompressed
core (a 1 MiB tmpfs in a private mount namespace) is exit 1 with one line
naming TMPDIR; no run leaves a file in TMPDIR.

`cut` (issue 15: a cut stream gives a partial graph): a kernel core of the
fixture (systemd-coredump, which writes .zst cores, stores kernel cores:
program headers and notes first, then memory in address order), compressed
by each tool and cut at 50 % and at 90 % of the compressed size.  Every cut
is exit 12 with exactly one stderr line naming the cut.  Where a graph is
printed, its tasks are the whole core's: each task that decoded is the
same JSON object as in the whole core's output and each graph block
without an error is byte-identical to the whole core's block; the others
are counted in JSON "failed" and in the line.  A cut inside the headers
(the first 4 KiB of the compressed file) prints nothing; a cut in the last 2
bytes (the end mark or checksum) prints the whole graph.  --sweep cuts at
every 2 % from 50 % to 98 % instead (not registered: see the report).
Needs a writable /proc/sys/kernel/core_pattern, restored at once; else
exits 77 and says why.
"""
import json
import os
import pty
import resource
import shutil
import signal
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
            "a zstd gcore core cut in half: exit 12, one line, no graph", "exit %s: %s" % (rc, err))
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

PATTERN = "/proc/sys/kernel/core_pattern"


def kernel_core(fx, d):
    """The kernel's core of the fixture (SIGABRT), with core_pattern
    pointed at d only while the kernel writes it."""
    old = open(PATTERN).read()
    path = os.path.join(d, "core.%d" % fx.pid)
    try:
        with open(PATTERN, "w") as f:
            f.write(os.path.join(d, "core.%p"))
        os.kill(fx.pid, signal.SIGABRT)
        fx.proc.wait(timeout=120)  # the kernel has written the core once it is reaped
    finally:
        with open(PATTERN, "w") as f:
            f.write(old)
    return path if os.path.exists(path) else None


def blocks(graph):
    """format_call_graph text: one block per top-level task, by its first line."""
    out = {}
    for b in graph.split("\n\n"):
        if b.strip():
            out.setdefault(b.split("\n", 1)[0], []).append(b.rstrip("\n"))
    return out


def check_cut(c, what, packer, rc, out, err, jrc, jout, jerr, whole, stats):
    """One cut: exit 12, one line naming the cut, and a graph that is a
    part of the whole core's, its damage counted."""
    lines = err.splitlines()
    c.check(rc == 12 and jrc == 12, "%s: exit 12" % what, "exit %s/%s: %s" % (rc, jrc, err))
    c.check(len(lines) == 1 and len(jerr.splitlines()) == 1,
            "%s: exactly one stderr line" % what, err + jerr)
    c.check("is truncated" in err and ("%s stream" % packer) in err,
            "%s: the line names the cut %s stream" % (what, packer), err)
    if not out:
        c.check(not jout, "%s: no graph, no JSON either" % what, jout[:500])
        stats.append("%s: no graph (%s)" % (what, err.strip()[:160]))
        return
    c.check("the graph is partial" in err, "%s: the line says the graph is partial" % what, err)
    j, wj = json.loads(jout), json.loads(whole["json"])
    full = {t["id"]: t for t in wj["tasks"]}
    bad = [t["id"] for t in j["tasks"] if t["id"] not in full]
    c.check(not bad, "%s: every task is one of the whole core's" % what, " ".join(bad))
    failed = [t for t in j["tasks"] if t["error"] is not None]
    c.check(j["failed"] == len(failed), "%s: JSON failed counts the undecoded tasks" % what,
            "failed=%s, %d with an error" % (j["failed"], len(failed)))
    if failed:
        c.check("%d task(s) could not be fully decoded" % len(failed) in err,
                "%s: the line counts the undecoded tasks" % what, err)
    for t in j["tasks"]:
        if t["error"] is None and t["id"] in full:
            c.check(t == full[t["id"]], "%s: decoded task %s is the whole core's" % (what, t["name"]),
                    "cut:   %s\nwhole: %s" % (json.dumps(t)[:1500], json.dumps(full[t["id"]])[:1500]))
    wb = blocks(whole["graph"])
    for head, bs in blocks(out).items():
        for b in bs:
            if "Error:" not in b:
                c.check(b in wb.get(head, []), "%s: graph block %r is the whole core's" % (what, head),
                        "cut:\n%s\nwhole:\n%s" % (b, "\n".join(wb.get(head, []))))
    stats.append("%s: graph of %d of %d tasks, %d undecoded" % (
        what, len(j["tasks"]), len(wj["tasks"]), len(failed)))


def cut_main(fixture, version, sweep):
    c = Checker("cut compressed cores %s/%s" % (fixture, version))
    try:
        with open(PATTERN) as f0:
            old = f0.read()
        with open(PATTERN, "w") as f0:
            f0.write(old)
    except OSError as e:
        print("SKIP: %s is not writable here (%s); cannot make the kernel write a core" %
              (PATTERN, e))
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="pag-cut-")
    os.chmod(work, 0o1777)  # the kernel writes the core as the fixture's user
    tmp = os.path.join(work, "tmp")
    os.mkdir(tmp)
    env = dict(os.environ, TMPDIR=tmp)
    stats = []
    # inherited by the fixture: set before it starts
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    try:
        with pagtest.Fixture(fixture, version) as fx:
            core = kernel_core(fx, work)
        if not c.check(core is not None, "the kernel wrote the fixture's core"):
            c.finish()
        whole = {}
        for f in ("graph", "json"):
            rc, whole[f], err = cli(["--format", f, "--core", core], env=env)
            c.check(rc == 0 and not err, "the whole kernel core: %s, exit 0" % f, err)
        cuts = range(50, 99, 2) if sweep else (50, 90)
        for name in PACKERS:
            packed = os.path.join(work, "core." + name)
            compress(name, core, packed)
            data = open(packed, "rb").read()
            cut = os.path.join(work, "cut." + name)
            for pc in cuts:
                open(cut, "wb").write(data[:len(data) * pc // 100])
                what = "%s cut at %d %%" % (name, pc)
                rc, out, err = cli(["--format", "graph", "--core", cut], env=env)
                jrc, jout, jerr = cli(["--format", "json", "--core", cut], env=env)
                check_cut(c, what, name, rc, out, err, jrc, jout, jerr, whole, stats)
                if pc == cuts[-1] and name == "zstd":
                    prc, pout, perr = piped(cut, ["--format", "graph", "--core", "-"], env)
                    c.check(prc == rc and pout == out and perr == err.replace(cut, "(standard input)"),
                            "%s piped into --core -: the same graph and line" % what,
                            "exit %s\n%s" % (prc, perr))
            # a cut in the end mark or checksum: the whole core, unchecked
            open(cut, "wb").write(data[:-2])
            rc, out, err = cli(["--format", "graph", "--core", cut], env=env)
            c.one_error_line(rc, err, 12, "%s cut in its last 2 bytes" % name,
                             "its end and checksum are missing")
            c.check(out == whole["graph"], "%s cut in its last 2 bytes: the whole graph" % name,
                    out[:1500])
            # a cut inside the headers: nothing to read, the spooler's line
            open(cut, "wb").write(data[:4096])
            rc, out, err = cli(["--format", "graph", "--core", cut], env=env)
            c.one_error_line(rc, err, 12, "%s cut inside the headers" % name, "is truncated")
            c.check(out == "", "%s cut inside the headers: no graph" % name, out[:500])
            os.unlink(cut)
            os.unlink(packed)
            check_tmp_empty(c, tmp, name + " cuts")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # the layout decides which cuts keep enough, but a kernel core's front
    # holds its runtime: some cut must give a graph, or none is ever read
    c.check(any("graph of" in line for line in stats), "some cut gives a partial graph",
            "\n".join(stats))
    for line in stats:
        print("measured: " + line)
    c.finish()


def main():
    if sys.argv[1] == "cut":
        cut_main(sys.argv[2], sys.argv[3], "--sweep" in sys.argv[4:])
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
