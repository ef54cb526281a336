#!/usr/bin/env python3
"""Every option of `py-async-graph --help` (and of the debuggers' help, the
core's pag_usage(0)) and every output format appears in the man page (as
rendered by man) and in the user guide, the guide shows each option in an
example command, and the man page's OPTIONS section documents no option the
program does not have.

Oracle: the CLI's own --help and the parser's error listing the formats.
usage: options_documented.py
"""
import re

import docstest as dt


def man_option_tokens(roff):
    """Options named in the .TP heads of the man page's OPTIONS section."""
    sec = roff.split("\n.SH OPTIONS", 1)[1].split("\n.SH ", 1)[0]
    lines = sec.splitlines()
    toks = set()
    for i, line in enumerate(lines):
        if i and lines[i - 1].startswith(".TP") and line.startswith(".B"):
            for t in re.findall(r"(?<![\w\\])(?:\\-){1,2}[A-Za-z][a-z\\-]*", line):
                toks.add(t.replace("\\-", "-").rstrip("-"))
    return toks


def main():
    c = dt.Checker("docs.options")
    rc, helptext, err = dt.cli(["--help"])
    c.check(rc == 0 and "usage:" in helptext, "--help works (rc=%s, %r)" % (rc, err))
    cli_opts = dt.options_of(helptext)
    c.check(len(cli_opts) >= 10, "found the options in --help: %r" % cli_opts)
    dbg_opts = dt.options_of(dt.debugger_usage())
    c.check(len(dbg_opts) >= 5, "found the options in the debuggers' help: %r" % dbg_opts)
    c.check(set(dbg_opts) <= set(cli_opts),
            "debugger options are a subset of the CLI's: %r" % (set(dbg_opts) - set(cli_opts)))
    fmts = dt.formats()
    table = dt.format_table()
    c.check(len(table) >= 6 and fmts == table,
            "the parser's formats %r are the library's format table %r" % (fmts, table))

    rc, man, merr = dt.render_man(dt.MAN, width=250)
    c.check(rc == 0 and "SYNOPSIS" in man, "man -l renders (rc=%s)" % rc)
    guide = dt.read(dt.GUIDE)
    # Lines of the guide that run the CLI (shell examples and table cells).
    examples = [l for l in guide.splitlines() if re.search(r"(^|[`$] ?)py-async-graph ", l)]

    for short, lng in sorted(set(cli_opts) | set(dbg_opts), key=lambda o: o[1]):
        for tok in filter(None, (short, lng)):
            c.check(dt.has_token(man, tok), "man page (rendered) names %s" % tok)
            c.check(dt.has_token(guide, tok), "user guide names %s" % tok)
        c.check(any(dt.has_token(l, lng) or (short and dt.has_token(l, short)) for l in examples),
                "user guide has an example command using %s" % lng)
    c.check(dt.has_token(man, "PID") and "PID" in guide, "PID documented")
    for f in fmts:
        c.check(re.search(r"^\s+%s\s" % f, man, re.M) is not None,
                "man page lists format %r as an item" % f)
        c.check("### `%s`" % f in guide, "user guide has a section for format %r" % f)

    known = {lng for _, lng in cli_opts} | {s for s, _ in cli_opts if s}
    documented = man_option_tokens(dt.read(dt.MAN))
    c.check(len(documented) >= len(known) - 2, "parsed the man page's option heads: %r" % documented)
    for tok in sorted(documented - known):
        c.check(False, "man page documents %s, which --help does not have" % tok)
    c.finish()


if __name__ == "__main__":
    main()
