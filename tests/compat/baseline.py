#!/usr/bin/env python3
"""Build the pre-refactor tree (the compat baseline) once, outside any build tree.

Why: the compat test (compare_builds.py) proves the output of the current
tree is byte-identical to the tree before the issue-13 refactor.  That needs
a build of the old commit next to the build under test.  It is made from
`git archive <commit>` of this very repository (so a clean clone with its
history is enough), into

    ~/.cache/py-async-graph/baseline-<commit>/src            the archived tree
    ~/.cache/py-async-graph/baseline-<commit>/build-<TYPE>   cmake -DCMAKE_BUILD_TYPE=<TYPE>

($PAG_CACHE replaces ~/.cache/py-async-graph) and reused while its stamp file
says it was finished.  A file lock serialises concurrent runs (ctest -j, or
several worktrees on one machine).  No git, no repository, or a clone
without the commit (a shallow one) is a FAILURE with the reason: a compat
test that cannot build its baseline has not shown anything.

usage: baseline.py [--commit HASH] [--build-type TYPE] [--no-lldb] [--source DIR]
prints the baseline build directory on stdout (progress on stderr).
"""

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The last commit before the issue-13 refactor ("bench: RESULTS.md and
# results.json from one full run at a984ae7").  Pinned in full: a short hash
# could become ambiguous as history grows.
BASELINE_COMMIT = "d30fbe50c23cb4b6b9ae52374d8257f52d9412cf"

STAMP = ".pag-baseline-complete"
# What the comparison needs from a baseline build.
PRODUCTS = ("py-async-graph", os.path.join("gdb", "py-async-graph.py"))
LLDB_PRODUCT = os.path.join("lldb", "libpy-async-graph-lldb.so")


class BaselineError(Exception):
    """The baseline cannot be had; the message says why (never a skip)."""


def cache_root():
    return os.environ.get("PAG_CACHE",
                          os.path.join(os.path.expanduser("~"), ".cache", "py-async-graph"))


def source_dir():
    return os.path.abspath(os.environ.get("PAG_SOURCE_DIR", os.path.join(HERE, "..", "..")))


def log(msg):
    print("baseline: " + msg, file=sys.stderr, flush=True)


def _git(src, *args, **kw):
    return subprocess.run(["git", "-C", src] + list(args), capture_output=True, **kw)


def check_commit(src, commit):
    """The commit must be in this repository; say exactly what is missing."""
    if not shutil.which("git"):
        raise BaselineError("git is not installed: the compat test builds its baseline "
                            "(commit %s) with `git archive` (apt-get install git)" % commit)
    p = _git(src, "rev-parse", "--git-dir")
    if p.returncode != 0:
        raise BaselineError("%s is not a git checkout (%s): the compat test needs the "
                            "repository with its history to build baseline commit %s; "
                            "clone it instead of unpacking an archive"
                            % (src, p.stderr.decode(errors="replace").strip(), commit))
    p = _git(src, "cat-file", "-e", commit + "^{commit}")
    if p.returncode != 0:
        shallow = _git(src, "rev-parse", "--is-shallow-repository").stdout.decode().strip()
        raise BaselineError("baseline commit %s is not in the repository at %s%s" % (
            commit, src, " (a shallow clone: run `git fetch --unshallow`)"
            if shallow == "true" else " (fetch the full history of the main branch)"))


def _extract(src, commit, dest):
    """git archive COMMIT | tar -x into dest, atomically (a temp dir renamed)."""
    tmp = dest + ".tmp-%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    arch = subprocess.Popen(["git", "-C", src, "archive", "--format=tar", commit],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tar = subprocess.run(["tar", "-x", "-C", tmp], stdin=arch.stdout, capture_output=True)
    arch.stdout.close()
    aerr = arch.stderr.read().decode(errors="replace")
    arc = arch.wait()
    if arc != 0 or tar.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BaselineError("git archive %s | tar -x failed: %s %s" % (
            commit, aerr.strip(), tar.stderr.decode(errors="replace").strip()))
    os.rename(tmp, dest)


def _clean_env():
    env = dict(os.environ)
    for k in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP"):
        env.pop(k, None)
    return env


def ensure(commit=BASELINE_COMMIT, build_type="RelWithDebInfo", lldb=True, src=None, jobs=2):
    """Return the build directory of the baseline, building it if needed."""
    src = src or source_dir()
    check_commit(src, commit)
    full = _git(src, "rev-parse", commit + "^{commit}").stdout.decode().strip()
    if full != commit:
        log("%s is commit %s" % (commit, full))
        commit = full
    root = os.path.join(cache_root(), "baseline-" + commit)
    os.makedirs(root, exist_ok=True)
    tree = os.path.join(root, "src")
    build = os.path.join(root, "build-%s%s" % (build_type or "default", "" if lldb else "-nolldb"))
    products = PRODUCTS + ((LLDB_PRODUCT,) if lldb else ())

    def complete():
        if not os.path.exists(os.path.join(build, STAMP)):
            return False
        with open(os.path.join(build, STAMP)) as f:
            if f.read().split()[:1] != [commit]:
                return False
        return all(os.path.exists(os.path.join(build, p)) for p in products)

    if complete():
        log("reusing %s" % build)
        return build
    with open(os.path.join(root, ".lock"), "w") as lock:
        t0 = time.monotonic()
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be building it right now
        if time.monotonic() - t0 > 1:
            log("waited %.0f s for another run's build" % (time.monotonic() - t0))
        if complete():
            log("reusing %s" % build)
            return build
        if not os.path.isdir(tree):
            log("git archive %s -> %s" % (commit[:12], tree))
            _extract(src, commit, tree)
        logdir = os.path.join(root, "logs")
        os.makedirs(logdir, exist_ok=True)
        steps = [("configure", ["cmake", "-S", tree, "-B", build,
                                "-DCMAKE_BUILD_TYPE=" + build_type,
                                "-DPAG_BUILD_LLDB=" + ("ON" if lldb else "OFF")]),
                 ("build", ["cmake", "--build", build, "-j%d" % jobs])]
        for name, argv in steps:
            logf = os.path.join(logdir, "%s-%s.log" % (os.path.basename(build), name))
            log("%s: %s (log: %s)" % (name, " ".join(argv), logf))
            t0 = time.monotonic()
            with open(logf, "wb") as out:
                p = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=_clean_env())
            if p.returncode != 0:
                with open(logf, "rb") as f:
                    tail = f.read()[-3000:].decode(errors="replace")
                raise BaselineError("baseline %s of %s failed (exit %d); last output:\n%s\n"
                                    "(full log: %s)" % (name, commit[:12], p.returncode, tail, logf))
            log("%s done in %.0f s" % (name, time.monotonic() - t0))
        missing = [p for p in products if not os.path.exists(os.path.join(build, p))]
        if missing:
            raise BaselineError("baseline build %s lacks %s" % (build, ", ".join(missing)))
        with open(os.path.join(build, STAMP), "w") as f:
            f.write("%s %s\n" % (commit, build_type))
    return build


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--commit", default=BASELINE_COMMIT)
    ap.add_argument("--build-type", default="RelWithDebInfo")
    ap.add_argument("--no-lldb", action="store_true")
    ap.add_argument("--source", default=None, help="the repository (default: this tree)")
    a = ap.parse_args()
    try:
        print(ensure(a.commit, a.build_type, not a.no_lldb, a.source))
    except BaselineError as e:
        print("FAIL: " + str(e), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
