"""The user guide's rule for a string from the target in the text formats
(tree, table, tasks), written here independently of the C code it checks
(common/src/format_common.c, pag__put_text).  Standard library only: the
oracles that use it run under the fixtures' CPython 3.14/3.15 as well as
under the host's Python.
"""


def text_rule(s):
    """A target string as tree/table/tasks print it: U+DC80..U+DCFF stay
    (written with surrogateescape they are their original byte, as CPython
    3.15's ps writes them), other lone surrogates and U+2028/U+2029 become
    \\uXXXX, tab/newline/CR \\t \\n \\r, the other C0 and C1 controls and
    DEL \\xNN; a backslash stays as it is.  Columns are padded by len() of
    the result, as CPython pads its own text."""
    out = []
    for ch in s:
        c = ord(ch)
        if 0xDC80 <= c <= 0xDCFF:
            out.append(ch)
        elif 0xD800 <= c <= 0xDFFF or c in (0x2028, 0x2029):
            out.append("\\u%04x" % c)
        elif ch in "\t\n\r":
            out.append({"\t": "\\t", "\n": "\\n", "\r": "\\r"}[ch])
        elif c < 0x20 or 0x7F <= c < 0xA0:
            out.append("\\x%02x" % c)
        else:
            out.append(ch)
    return "".join(out)
