#!/usr/bin/env python3
"""The gdb script's constants agree with the C core, and none is hand-typed.

Why: gdb talks to the core through ctypes, so an error code, exit code or
struct layout that drifts between the C headers and the script makes gdb
misread every result without any compiler noticing.  The script takes
everything from the generated pag_abi.py; this test checks that file
against the library actually built (pag_abi_version, pag_err_name,
pag_exit_code, pag_command_name, pag_format_name) and that the script
carries no numeric ABI constant of its own.  It also proves it can fail:
the same checks on a copy of pag_abi.py with one code changed must fail.

Oracle: the loaded libpy-async-graph-core.so itself.
usage: test_abi.py
"""
import ctypes
import os
import re
import sys

BUILD = os.environ.get("PAG_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("PAG_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


def load_abi(text):
    ns = {}
    exec(compile(text, "pag_abi.py", "exec"), ns)
    return ns


def problems(abi, lib):
    """Every disagreement between the ABI file and the library."""
    out = []
    if abi["ABI_VERSION"] != lib.pag_abi_version():
        out.append("ABI_VERSION %s != pag_abi_version() %s" % (abi["ABI_VERSION"],
                                                               lib.pag_abi_version()))
    errs = abi["ERR"]
    for name, value in errs.items():
        got = lib.pag_err_name(value)
        if (got or b"").decode() != name:
            out.append("ERR %s = %d, but pag_err_name(%d) = %r" % (name, value, value, got))
    if sorted(errs.values()) != list(range(len(errs))) or lib.pag_err_name(len(errs)):
        out.append("ERR is not the library's whole list 0..%d" % (len(errs) - 1))
    exits = abi["EXIT"]
    for name, value in errs.items():
        code = lib.pag_exit_code(value)
        if code not in exits.values():
            out.append("pag_exit_code(%s) = %d is not in EXIT" % (name, code))
    for name, value in abi["CMD"].items():
        if (lib.pag_command_name(value) or b"").decode() != name:
            out.append("CMD %s = %d disagrees with pag_command_name" % (name, value))
    if lib.pag_command_name(len(abi["CMD"])):
        out.append("CMD misses sub-commands the library has")
    return out


def main():
    lib = ctypes.CDLL(os.path.join(BUILD, "gdb", "libpy-async-graph-core.so"))
    for f in ("pag_err_name", "pag_command_name", "pag_format_name"):
        getattr(lib, f).restype = ctypes.c_char_p
    text = open(os.path.join(BUILD, "gdb", "pag_abi.py"), encoding="utf-8").read()
    failures = problems(load_abi(text), lib)
    for p in failures:
        print("FAIL " + p)
    # Reading the exit codes the user guide documents from the same list.
    exits = load_abi(text)["EXIT"]
    guide = open(os.path.join(SOURCE, "docs", "user-guide.md"), encoding="utf-8").read()
    for name, value in exits.items():
        if not re.search(r"^\|\s*%d\s*\|" % value, guide, re.M):
            failures.append("exit %d (%s) is not in the user guide's table" % (value, name))
            print("FAIL " + failures[-1])
    # No hand-typed ABI numbers in the script: no NAME = <digits>, no
    # comparisons of an exit or error code with a literal.
    script = open(os.path.join(SOURCE, "gdb", "py-async-graph.py"), encoding="utf-8").read()
    for pat in (r"^\s*PAG_\w+\s*=\s*\d", r"\bcode\s*(==|in)\s*[\d(]", r"\bERR_\w+\s*=\s*\d"):
        for m in re.finditer(pat, script, re.M):
            failures.append("gdb script types an ABI number: %r" % m.group(0).strip())
            print("FAIL " + failures[-1])
    # The check can fail: a copy with READ moved must be caught.
    broken = re.sub(r'"READ": 3,', '"READ": 4,', text)
    if broken == text or not problems(load_abi(broken), lib):
        failures.append("a pag_abi.py with READ = 4 was not caught")
        print("FAIL " + failures[-1])
    print("%s: %d errors, %d exit codes, %d commands checked; %d failure(s)"
          % ("FAILED" if failures else "PASSED", len(load_abi(text)["ERR"]), len(exits),
             len(load_abi(text)["CMD"]), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
