"""Task names no terminal line holds as they are (fixtures/oddnames.py): lone
surrogates, newlines, tabs, other control characters, "" -- issue 18, items
9, 11, 12 and 15 -- on the live process, or on its gcore core with --core.

usage: oddnames.py VERSION [--core]

Oracles:
  * the fixture's own names and asyncio.format_call_graph() texts (JSON
    names, graph byte for byte);
  * CPython's own `ps`/`pstree` code (tests/cli/oddnames_oracle.py, run under
    the fixture's interpreter) on CPython's own reading: `table` and `tree`
    are its text with what it reads wrong replaced by the fixture's truth and
    every name written by the user guide's rule (text_rule), encoded as
    CPython 3.15 writes it (surrogateescape); and every line CPython prints
    right (the name read right, nothing the rule changes) is byte-identical
    to CPython's line;
  * the places where CPython is wrong, as the user guide describes them: it
    prints a newline raw (a row split in two), it cuts a name at 255
    characters, 3.14 loses the line of a code object whose
    location table is over 4 KiB, 3.15's `ps` dies on a lone surrogate other
    than U+DC80..DCFF;
  * `--task` with each name as its bytes (what a shell passes), as repr()
    (what graph prints), and "" selects exactly that task.
"""
import argparse
import json
import os
import subprocess

from clitest import Checker, pagtest
from textrule import text_rule

HERE = os.path.dirname(os.path.abspath(__file__))


def enc(s):
    return s.encode("utf-8", "surrogateescape")


def cli(args, timeout=180):
    """The CLI with these arguments (str or bytes): (rc, stdout, stderr) bytes."""
    p = subprocess.run([pagtest.cli_path()] + [a if isinstance(a, bytes) else str(a) for a in args],
                       capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def fixes_of(oracle):
    """What oddnames_oracle.py replaces in CPython's reading: every task's
    name, and each function's (file, line) from the fixture's stacks."""
    frames = {}
    for t in oracle["tasks"]:
        for qual, fn, line in t["stack"]:
            frames.setdefault(qual, (fn, line))
    return {"names": {t["id"]: t["name"] for t in oracle["tasks"]}, "frames": frames}


def cpython_oracle(fx, version):
    path = os.path.join(fx.dir, "fixes.json")
    with open(path, "w", encoding="ascii") as f:
        json.dump(fixes_of(fx.oracle), f)
    rc, out, err = pagtest.run([pagtest.python_for(version), os.path.join(HERE, "oddnames_oracle.py"),
                                fx.pid, path], timeout=120)
    if rc != 0:
        pagtest.fail("oddnames_oracle.py exited %s:\n%s" % (rc, err[-3000:]))
    return json.loads(out)


def right_names(fx, cp, version):
    """Ids of the tasks whose name CPython reads right and prints right."""
    right = set()
    for t in fx.oracle["tasks"]:
        n = t["name"]
        if cp["read"]["names"].get(t["id"]) == n and text_rule(n) == n:
            right.add(t["id"])
    return right


def check_cpython_right(c, fx, cp, version, table, tree):
    """Where CPython is right, our lines are its lines, byte for byte."""
    right = right_names(fx, cp, version)
    by_id = {t["id"]: t for t in fx.oracle["tasks"]}
    raw_rows = {}
    for line in cp["cpython"]["ps"].split("\n")[2:]:
        raw_rows.setdefault(line[11:31].strip(), line)
    n = 0
    for line in table.decode("utf-8", "surrogateescape").split("\n")[2:-1]:
        tid, aid = line[11:31].strip(), line.split()[-1]
        if tid in right and (aid == "0x0" or aid in right):
            n += 1
            c.check(raw_rows.get(tid) == line, "table row of %r is CPython's row" % by_id[tid]["name"],
                    "--- ours ---\n%s\n--- cpython ---\n%s" % (line, raw_rows.get(tid)))
    c.check(n >= 3, "at least 3 table rows CPython prints right (got %d)" % n)
    wrong = ["(T) " + text_rule(t["name"]) for t in fx.oracle["tasks"] if t["id"] not in right]
    read = {f[0]: f for f in cp["read"]["frames"]}
    for qual, (fn, line) in fixes_of(fx.oracle)["frames"].items():
        if read.get(qual) != [qual, fn, line]:
            wrong.append(" %s %s:%s" % (qual, text_rule(fn), line))
    raw_lines = set(cp["cpython"]["pstree"].split("\n"))
    n = 0
    for line in tree.decode("utf-8", "surrogateescape").split("\n")[:-1]:
        if not any(line.endswith("── " + w) for w in wrong):
            n += 1
            c.check(line in raw_lines, "tree line %r is in CPython's pstree" % line)
    c.check(n >= 10, "at least 10 tree lines CPython prints right (got %d)" % n)


def check_cpython_wrong(c, fx, cp, version):
    """The user guide's account of where CPython's tools go wrong."""
    names = fx.oracle["expect"]["names"]
    ids = {t["name"]: t["id"] for t in fx.oracle["tasks"]}
    read = cp["read"]["names"]
    c.check("line1\nline2" in cp["cpython"]["ps"] and "line1\nline2" in cp["cpython"]["pstree"],
            "CPython's ps and pstree print the newline of a name raw (a row split in two)")
    long_ = names["long"]
    cut = 255
    c.check(len(long_) > cut and read.get(ids[long_]) == long_[:cut],
            "%s cuts the %d-character name at %d characters" % (version, len(long_), cut),
            repr(read.get(ids[long_])))
    big = [f for f in cp["read"]["frames"] if f[0] == "big_linetable_leaf"]
    want = fixes_of(fx.oracle)["frames"]["big_linetable_leaf"][1]
    c.check(fx.oracle["expect"]["big_linetable"] > 4096, "the big location table is over 4 KiB")
    if version == "3.14":
        c.check(big and big[0][2] is None, "3.14 reads no line for a location table over 4 KiB", big)
    else:
        c.check(big and big[0][2] == want, "3.15 reads line %s there" % want, big)
    if version != "3.14":
        rc, out, err = pagtest.cpython_tool(version, "ps", fx.pid)
        c.check(rc != 0 and "UnicodeEncodeError" in err and "\\ud800" in err,
                "CPython %s's ps dies on the lone surrogate U+D800" % version, err[-600:])


def expected_tasks(doc):
    """--format tasks, built from our own JSON by the user guide's rule."""
    lines = ["%-18s %-10s %-9s R %-24s WHERE" % ("ID", "THREAD", "STATE", "NAME")]
    for t in doc["tasks"]:
        if t["kind"] != "task":
            continue
        st = t["running_stack"] if t["running"] and t.get("running_stack") else t["stack"]
        where = "-"
        if st:
            f = st[0]
            where = "%s %s:%s" % (text_rule(f["function"]), text_rule(f["file"]), f["line"])
        thread = "-" if t["thread"] is None else str(t["thread"])
        name = "-" if t["name"] is None else text_rule(t["name"])
        lines.append("%-18s %-10s %-9s %s %-24s %s" % (t["id"], thread, t["state"],
                                                      "*" if t["running"] else "-", name, where))
    return enc("\n".join(lines) + "\n")


def check_formats(c, fx, cp, target, where):
    o = fx.oracle
    rc, table, err = cli(["--format", "table"] + target)
    c.check(rc == 0 and table == enc(cp["fixed"]["ps"]),
            "%s: table is CPython's ps with the guide's rule for names" % where,
            "--- ours ---\n%s--- expected ---\n%s" % (table.decode("utf-8", "backslashreplace"),
                                                      cp["fixed"]["ps"]))
    rc, tree, err = cli(["--format", "tree"] + target)
    c.check(rc == 0 and tree == enc(cp["fixed"]["pstree"]),
            "%s: tree is CPython's pstree with the guide's rule for names" % where,
            "--- ours ---\n%s--- expected ---\n%s" % (tree.decode("utf-8", "backslashreplace"),
                                                      cp["fixed"]["pstree"]))
    rc, out, err = cli(["--format", "json"] + target)
    doc = {"tasks": []}
    try:
        doc = json.loads(out.decode("utf-8"))  # strict: the JSON is valid UTF-8
    except ValueError as e:
        c.check(False, "%s: json is valid UTF-8 and parses" % where, str(e))
    mine = {t["id"]: t for t in doc["tasks"]}
    for t in o["tasks"]:
        c.check(mine.get(t["id"], {}).get("name") == t["name"],
                "%s: json name of %s is %r" % (where, t["id"], t["name"]),
                repr(mine.get(t["id"], {}).get("name")))
    files = {f["file"] for t in doc["tasks"] for f in t.get("stack") or []}
    c.check(o["expect"]["odd_file"] in files, "%s: json keeps the file name's surrogate" % where)
    rc, out, err = cli(["--format", "tasks"] + target)
    c.check(rc == 0 and out == expected_tasks(doc), "%s: tasks: one line per task, by the rule" % where,
            "--- ours ---\n%s--- expected ---\n%s" % (out.decode("utf-8", "backslashreplace"),
                                                      expected_tasks(doc).decode("utf-8", "backslashreplace")))
    c.check(out.count(b"\n") == 1 + len(o["tasks"]), "%s: tasks has %d lines" % (where, 1 + len(o["tasks"])))
    for t in o["tasks"]:
        rc, out, err = cli(["--format", "graph", "--task", t["id"]] + target)
        c.check(rc == 0 and out == (t["graph"].rstrip("\n") + "\n").encode("utf-8"),
                "%s: graph of %r is format_call_graph's" % (where, t["name"]),
                "--- ours ---\n%s--- oracle ---\n%s" % (out.decode("utf-8", "backslashreplace"), t["graph"]))
    return table, tree


def task_forms(name):
    """The --task arguments that must select a task called `name`."""
    forms = [("repr", enc(repr(name)))]
    try:
        forms.insert(0, ("bytes", enc(name)))
    except UnicodeEncodeError:  # a surrogate surrogateescape cannot write
        forms.insert(0, ("surrogatepass bytes", name.encode("utf-8", "surrogatepass")))
    return forms


def check_task_option(c, fx, target, where):
    for t in fx.oracle["tasks"]:
        for how, arg in task_forms(t["name"]):
            rc, out, err = cli(["--format", "tasks", "--task", arg] + target)
            lines = out.split(b"\n")
            c.check(rc == 0 and len(lines) == 3 and lines[1].startswith(t["id"].encode() + b" "),
                    "%s: --task <%s of %r> selects just that task" % (where, how, t["name"]),
                    "rc=%s\n%s%s" % (rc, out.decode("utf-8", "backslashreplace"), err.decode("utf-8", "backslashreplace")))
    rc, out, err = cli(["--format", "tasks", "--task", "no\nsuch\ttask"] + target)
    c.check(rc == 9 and err == b"py-async-graph: no such task: no task matches --task no\\nsuch\\ttask\n",
            "%s: a --task with a newline that matches nothing: one error line, escaped" % where, repr(err))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("version")
    ap.add_argument("--core", action="store_true", help="also read a gcore core of the fixture")
    a = ap.parse_args()
    c = Checker("oddnames %s/%s" % ("core" if a.core else "live", a.version))
    with pagtest.Fixture("oddnames", a.version) as fx:
        cp = cpython_oracle(fx, a.version)
        if a.core:
            core = fx.gcore()
            try:
                target = ["--core", core]
                check_formats(c, fx, cp, target, "core")
                check_task_option(c, fx, target, "core")
            finally:
                os.unlink(core)
        else:
            table, tree = check_formats(c, fx, cp, [fx.pid], "live")
            check_task_option(c, fx, [fx.pid], "live")
            check_cpython_right(c, fx, cp, a.version, table, tree)
            check_cpython_wrong(c, fx, cp, a.version)
    c.finish()


if __name__ == "__main__":
    main()
