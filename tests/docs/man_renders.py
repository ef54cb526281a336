#!/usr/bin/env python3
"""The man page renders cleanly: `MANWIDTH=80 man --warnings -l` exits 0 with
nothing on stderr (groff's warnings go there), has the usual sections, and no
line of the rendered text outside the EXAMPLES is wider than 80 columns.
A file given on the command line is checked instead (for the installed copy).

usage: man_renders.py [MANPAGE]
"""
import re
import shutil
import sys

import docstest as dt


def main():
    c = dt.Checker("docs.man")
    path = sys.argv[1] if len(sys.argv) > 1 else dt.MAN
    if not shutil.which("man"):
        dt.pagtest.fail("man is not installed (apt-get install man-db)")
    rc, out, err = dt.render_man(path, width=80)
    c.check(rc == 0, "man -l exits 0 (rc=%s)" % rc)
    c.check(err.strip() == "", "no warnings on stderr: %r" % err[:2000])
    for sec in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES",
                "SEE ALSO"):
        c.check(("\n%s\n" % sec) in out, "section %s rendered" % sec)
    c.check(re.search(r"NAME\n\s+py-async-graph\s+-\s+show\s+the\s+asyncio", out) is not None,
            "NAME line (whatis) rendered")
    body = out.split("\nEXAMPLES\n")[0]
    wide = [l for l in body.splitlines() if len(l) > 80]
    c.check(not wide, "lines over 80 columns before EXAMPLES: %r" % wide[:3])
    c.finish()


if __name__ == "__main__":
    main()
