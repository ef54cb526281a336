#!/usr/bin/env python3
"""Every row of the format table has a test, and the docs list every format.

Why: a format appended to common/include/pag/formats.h reaches --format,
--help, the renderer table and the fuzzer by itself; nothing would notice
that no test checks its output.  Test files name the formats they check
with a "pag-test-formats:" marker, which tests/CMakeLists.txt turns into
CTest labels format-<name>.  This asks the built library for its formats
(pag_format_name) and CTest for the tests of each label, and fails for a
format with none.  It proves it can fail: a label no test has must count 0.

Oracle: the library's own format table and CTest's own test list.
usage: formats_tested.py
"""
import re
import subprocess
import sys

import docstest as dt

BUILD = dt.BUILD_DIR


def tests_labelled(label):
    p = subprocess.run(["ctest", "-N", "-L", "^%s$" % re.escape(label)], cwd=BUILD,
                       capture_output=True, text=True, timeout=120)
    m = re.search(r"Total Tests: (\d+)", p.stdout)
    return int(m.group(1)) if p.returncode == 0 and m else -1


def main():
    formats = dt.format_table()
    bad = 0
    print("formats in the library's table: %s" % " ".join(formats))
    if not formats:
        print("FAIL no formats found")
        bad += 1
    for f in formats:
        n = tests_labelled("format-" + f)
        ok = n > 0
        bad += not ok
        print("%s format %s: %d test(s) labelled format-%s" % ("ok  " if ok else "FAIL", f, n, f))
    if tests_labelled("format-no-such-format") != 0:
        print("FAIL the label query does not come back empty for an unknown format")
        bad += 1
    print("FAILED" if bad else "PASSED")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
