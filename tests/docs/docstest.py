"""Shared helpers of the docs tests (tests/docs/*.py, host Python 3.11).

Why: the documentation claims things about the program -- its options, its
version, where `cmake --install` puts each file.  These tests take the
program's own answers (`--help`, the parser's errors, `--version`, the core
library's debugger usage text, the installed tree) as the oracle and check
the docs against them, so a changed option or path fails a test instead of
leaving a stale page.
"""
import ctypes
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pagtest  # noqa: E402

SOURCE_DIR = pagtest.SOURCE_DIR
BUILD_DIR = pagtest.BUILD_DIR
DOCS = os.path.join(SOURCE_DIR, "docs")
MAN = os.path.join(DOCS, "py-async-graph.1")
GUIDE = os.path.join(DOCS, "user-guide.md")
README = os.path.join(SOURCE_DIR, "README.md")


class Checker:
    """Collects failures; finish() prints them all and exits 1 if any."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failures.append(what)
            print("FAIL: " + what, flush=True)
        return ok

    def finish(self):
        if self.failures:
            print("%s: %d check(s) failed, %d passed" % (self.name, len(self.failures), self.passed))
            sys.exit(1)
        if self.passed == 0:
            print("%s: nothing was checked" % self.name)
            sys.exit(1)
        print("%s: all %d checks passed" % (self.name, self.passed))
        sys.exit(0)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def cli(args, timeout=60):
    path = pagtest.cli_path()
    if not os.path.exists(path):
        pagtest.fail("the CLI is not built: %s" % path)
    return pagtest.run([path] + list(args), timeout=timeout)


def core_lib():
    return os.path.join(BUILD_DIR, "gdb", "libpy-async-graph-core.so")


def debugger_usage():
    """pag_usage(0): the help text the gdb and lldb commands print."""
    lib = ctypes.CDLL(core_lib())
    lib.pag_usage.restype = ctypes.c_char_p
    lib.pag_usage.argtypes = [ctypes.c_uint]
    return lib.pag_usage(0).decode("utf-8")


_OPT_LINE = re.compile(r"^\s{2,}(?:(-[A-Za-z]), )?(--[a-z][a-z-]*)\b")


def options_of(usage):
    """[(short or None, long)] for every option line of a --help text."""
    out = []
    for line in usage.splitlines():
        m = _OPT_LINE.match(line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def formats():
    """The format names, from the parser's own error for an unknown one."""
    rc, out, err = cli(["-f", "no-such-format", "1"])
    m = re.search(r"\(([a-z, ]+) or ([a-z]+)\)", err)
    if rc != 2 or not m:
        pagtest.fail("cannot get the format list from: rc=%s %r" % (rc, err))
    return [f.strip() for f in m.group(1).split(",")] + [m.group(2)]


def format_table():
    """The format names in the library's own table (pag_format_name)."""
    lib = ctypes.CDLL(os.path.join(BUILD_DIR, "gdb", "libpy-async-graph-core.so"))
    lib.pag_format_name.restype = ctypes.c_char_p
    names = []
    while lib.pag_format_name(len(names)):
        names.append(lib.pag_format_name(len(names)).decode())
    return names


def has_token(text, tok):
    """tok appears as a whole option token (not part of a longer option)."""
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(tok), text) is not None


def render_man(path, width=80, extra_env=None):
    """(rc, stdout, stderr) of `man --warnings -l PATH` at MANWIDTH=width."""
    env = pagtest.clean_env({"MANWIDTH": str(width), "LC_ALL": "C.UTF-8", "MANPAGER": "cat",
                             "PAGER": "cat"})
    if extra_env:
        env.update(extra_env)
    return pagtest.run(["man", "--warnings", "-l", path], env=env, timeout=60)
