#!/usr/bin/env python3
"""--version shows the project version (from CMake) and the CPython versions
the core reads (fixtures/python-versions); the debuggers' help names the same ones;
3.13 is refused by a real 3.13 process; the README lists the same versions and
keeps exactly two set-up commands; the man page header carries the version.

usage: version.py PROJECT_VERSION
"""
import re
import subprocess
import sys
import time

import docstest as dt

# fixtures/python-versions, the one list (common/src/versions.c must agree: unit_test_versions)
PY_VERSIONS = tuple(dt.pagtest.VERSIONS)


def main():
    want = sys.argv[1]
    c = dt.Checker("docs.version")
    rc, out, err = dt.cli(["--version"])
    c.check(rc == 0, "--version exits 0 (rc=%s %r)" % (rc, err))
    c.check(out == "py-async-graph %s (reads CPython %s)\n" % (want, ", ".join(PY_VERSIONS)),
            "--version text: %r" % out)
    rc2, out2, _ = dt.cli(["-V"])
    c.check(rc2 == 0 and out2 == out, "-V == --version")
    usage = dt.debugger_usage()
    c.check(all(v in usage for v in PY_VERSIONS), "debugger help names 3.14 and 3.15")

    readme = dt.read(dt.README)
    sup = readme.split("## Supported targets", 1)
    c.check(len(sup) == 2, "README has a 'Supported targets' section")
    if len(sup) == 2:
        sec = sup[1].split("\n## ", 1)[0]
        listed = sorted(set(re.findall(r"\*\*(3\.\d+)\*\*", sec)))
        c.check(listed == list(PY_VERSIONS), "README's supported versions %r == %r"
                % (listed, PY_VERSIONS))
        c.check("3.13" in sec and "refused" in sec, "README says 3.13 is refused")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    cmds = [l for l in (blocks[0].splitlines() if blocks else []) if l.strip()]
    c.check(len(cmds) == 2 and cmds[0].startswith("bash scripts/demo.sh")
            and cmds[1].startswith("bash scripts/test.sh"),
            "README's first code block is exactly the two set-up commands: %r" % cmds)
    c.check('"py-async-graph %s"' % want in dt.read(dt.MAN), "man page .TH carries version %s" % want)

    # Every list of supported versions the docs type ("3.14/3.15", "3.14 and
    # 3.15", ...) names exactly the one list, so a new version cannot be
    # added to fixtures/python-versions with stale docs.
    lists = 0
    for path in (dt.README, dt.GUIDE, dt.MAN, dt.os.path.join(dt.SOURCE_DIR, "docs", "architecture.md"),
                 dt.os.path.join(dt.SOURCE_DIR, "docs", "developing.md")):
        text = dt.read(path)
        for m in re.finditer(r"3\.1[4-9](?:(?:, | and |/| or |, or )3\.1[4-9])+", text):
            lists += 1
            named = tuple(re.findall(r"3\.\d+", m.group(0)))
            line = text.count("\n", 0, m.start()) + 1
            c.check(named == PY_VERSIONS, "%s:%d names %r, the supported versions are %r"
                    % (dt.os.path.basename(path), line, m.group(0), PY_VERSIONS))
    c.check(lists >= 5, "found the docs' version lists (%d)" % lists)

    # The refusal is real: a live CPython 3.13 process.
    try:
        py313 = dt.pagtest.python_for("3.13")
    except FileNotFoundError as e:
        dt.pagtest.fail(str(e))
    p = subprocess.Popen([py313, "-c", "import asyncio, sys, time; print(1, flush=True); time.sleep(120)"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        p.stdout.readline()
        rc, out, err = dt.cli([str(p.pid)])
        c.check(rc == 6 and "3.13" in err and all(v in err for v in PY_VERSIONS),
                "3.13 refused with exit 6 naming the supported versions: rc=%s %r" % (rc, err))
    finally:
        p.kill()
        p.wait()
    c.finish()


if __name__ == "__main__":
    main()
