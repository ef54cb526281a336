"""Browser tests (issue 16): --format html in a real headless Chromium, and
--format collapsed loaded into speedscope.

Why: a page can be valid HTML and still show nothing, or ask the network
for a script.  Debian's chromium, driven by puppeteer-core (tests/browser/
page.js; both pinned in package.json, installed by scripts/setup.sh into
the cache), opens the file and the test compares what the page shows with
oracles from the same target:
  explorer FIXTURE VERSION [--core]
      no request but the page itself and no script error; the header's
      totals are summary's; the root groups and counts are the --group
      tree's root lines; the cycle alerts are the tree's "possible
      deadlock" lines, every cycle member is marked in the opened tree and
      every running task is marked and announced; a search for a function
      of the fixture finds exactly the JSON's tasks with that function,
      file or name; a click on a task shows the --format graph text of it;
      the file costs at most 200 bytes per task;
  big N  fixtures/big_service.py at N tasks: as above for the root groups,
      and the first view (navigation start to the drawn root groups, best
      of 3 loads) under 2 s for N <= 100,000; a 1,000,000-task file opens;
  speedscope FIXTURE VERSION
      speedscope's sandwich view of the collapsed output lists every frame
      with the total and self counts the JSON's paths give.
Without chromium or the node packages the test fails (setup.sh installs
them); it never skips into a pass.
pag-test-formats: html collapsed
"""

import collections
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "group"))
import pagtest as pt  # noqa: E402
import check_group as cg  # noqa: E402  (chains and labels, the same rules)

FAILS = []
check = cg.check


def node_modules():
    """The cache directory setup.sh installed the pinned packages into."""
    d = os.environ.get("PAG_BROWSER_NODE_MODULES")
    if not d:
        lock = os.path.join(HERE, "package-lock.json")
        import hashlib
        h = hashlib.sha256(open(lock, "rb").read()).hexdigest()[:12]
        d = os.path.join(pt.CACHE_DIR, "browser-" + h, "node_modules")
    if not os.path.isdir(os.path.join(d, "puppeteer-core")):
        pt.fail("puppeteer-core is not installed in %s (run scripts/setup.sh)" % d)
    return d


def browse(mode, *args, timeout=900, screenshot=None):
    if not shutil.which("chromium"):
        pt.fail("chromium is not installed (scripts/setup.sh installs Debian's chromium)")
    env = dict(os.environ, NODE_PATH=node_modules())
    if screenshot:
        env["PAG_SCREENSHOT"] = screenshot
    rc, out, err = pt.run(["node", os.path.join(HERE, "page.js"), mode] + list(args),
                          timeout=timeout, env=env)
    try:
        res = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        pt.fail("page.js printed no result (rc %s):\n%s\n%s" % (rc, out[-3000:], err[-3000:]))
    if "fatal" in res:
        pt.fail("page.js: " + res["fatal"])
    check(res["requests"] == [], "no network request (%d)" % len(res["requests"]),
          "\n".join(res["requests"][:10]))
    check(res["errors"] == [], "no script error", "\n".join(res["errors"][:10]))
    return res


def root_groups(grouped):
    out = []
    for line in grouped.split("\n"):
        if line.startswith("\u2514\u2500\u2500 "):
            lab = line[4:]
            j = lab.find(cg.TIMES)
            out.append((lab[:j], lab[j:]) if j >= 0 else (lab, ""))
    return out


def cli(target, *args):
    return cg.cli(target, *args)


def check_page(res, js, grouped, summary, plain):
    head = summary.split("\n")[0][len("summary: "):]
    check(res["head"].split(" \u2014 ")[0] == "py-async-graph: " + head,
          "header totals are summary's: %r" % head, res["head"])
    got = [(r["label"], r["count"]) for r in res["roots"]]
    want = root_groups(grouped)
    check(got == want, "root groups and counts are the --group tree's (%d)" % len(want),
          "want %s\ngot %s" % (want[:20], got[:20]))
    cycles = [ln for ln in plain.split("\n") if ln.startswith("possible deadlock: ")]
    check(res["cycles"] == cycles, "cycle alerts are the tree's lines (%d)" % len(cycles),
          "want %s\ngot %s" % (cycles, res["cycles"]))
    for t in js["tasks"]:
        if t.get("running") and t.get("name"):
            check(any(a.startswith("running: " + t["name"]) for a in res["running"]),
                  "running task %r announced" % t["name"], str(res["running"]))


def explorer(a):
    with pt.Fixture(a.fixture, a.version) as fx:
        target = ["--core", fx.gcore()] if a.core else [str(fx.pid)]
        html = os.path.join(fx.dir, "tasks.html")
        cli(target, "--format", "html", "-o", html)
        js = json.loads(cli(target, "--format", "json"))
        grouped, plain = cli(target, "--group"), cli(target)
        summary = cli(target, "--format", "summary")
        page = open(html, encoding="utf-8").read()
        data = page.split('<script id="pag-data" type="application/json">')[1].split("</script>")[0]
        per = len(data.encode("utf-8")) / max(1, len(js["tasks"]))
        ours = [t for t in js["tasks"] if t.get("stack") and "/fixtures/" in t["stack"][0]["file"]]
        common = collections.Counter(t["stack"][0]["function"] for t in ours).most_common(1)
        q = common[0][0] if common else "main"
        named = [t for t in js["tasks"] if t.get("name") and t["kind"] == "task"]
        # a cycle member or a running task has the richest graph text
        pick = [t for t in named if t.get("running")] + \
            [t for t in named if any(t["id"] in cy for cy in js["cycles"])] + ours + named
        click = pick[0]["id"]
        res = browse("explorer", html, json.dumps({"search": q, "click": click, "expand": 8}))
        check_page(res, js, grouped, summary, plain)
        # the template's fixed ~12 KB aside (the big test counts the whole file)
        check(per <= 200, "the snapshot data: %.1f bytes per task (<= 200)" % per)
        ql = q.lower()
        want = [t["id"] for t in js["tasks"]
                if (t.get("name") and ql in t["name"].lower()) or
                any(ql in (f["function"] + " " + f["file"]).lower() for f in t.get("stack") or [])]
        check(res["hits"] == want[:200], "search %r finds the JSON's %d tasks" % (q, len(want)),
              "want %s\ngot %s" % (want, res["hits"]))
        rc, g, err = pt.run([pt.cli_path()] + target + ["--format", "graph", "--task", click])
        check(res.get("graph") == g.rstrip("\n"), "click %s shows its graph text" % click,
              "want:\n%s\ngot:\n%s" % (g, res.get("graph")))
        members = {t["name"] for cy in js["cycles"] for t in js["tasks"] if t["id"] in cy}
        marked = {m[4:].replace(" [cycle]", "") for m in res.get("marked_cycle", [])}
        check(members <= marked, "cycle members marked in the tree: %s" % sorted(members),
              str(sorted(marked)))
        runs = {t["name"] for t in js["tasks"] if t.get("running") and t.get("name")}
        marked = {m[4:] for m in res.get("marked_running", [])}
        check(runs <= marked, "running tasks marked in the tree: %s" % sorted(runs),
              str(sorted(marked)))


def big(a):
    n = a.big
    with pt.Fixture("big_service", a.version, args=["--tasks", str(n)],
                    ready_timeout=120 + n / 2000.0) as fx:
        target = [str(fx.pid)]
        html = os.path.join(a.keep or fx.dir, "big_service-%d.html" % n)
        cli(target, "--format", "html", "-o", html)
        grouped, plain = cli(target, "--group"), cli(target)
        summary = cli(target, "--format", "summary")
        js = {"tasks": [], "cycles": []}  # the JSON checks are check_group's
        per = os.path.getsize(html) / n
        check(per <= 200, "%d tasks: %.1f bytes per task (<= 200)" % (n, per))
        shot = os.path.join(a.keep, "big_service-%d.png" % n) if a.keep else None
        res = browse("explorer", html, json.dumps({"loads": 3 if n <= 100000 else 1}),
                     screenshot=shot)
        check_page(res, js, grouped, summary, plain)
        print("first view %d ms (script %d ms), load %d ms" % (
            res["first_view_ms"], res["script_ms"], res["load_ms"]))
        if n <= 100000:
            check(res["first_view_ms"] < 2000, "%d tasks: first view in %d ms (< 2 s)" %
                  (n, res["first_view_ms"]))


def speedscope(a):
    with pt.Fixture(a.fixture, a.version) as fx:
        target = [str(fx.pid)]
        col = os.path.join(fx.dir, "%s.collapsed" % a.fixture)
        cli(target, "--format", "collapsed", "-o", col)
        js = json.loads(cli(target, "--format", "json"))
        index = os.path.join(node_modules(), "speedscope", "dist", "release", "index.html")
        res = browse("speedscope", index, col)
        # what speedscope's sandwich view shows: per frame, the tasks whose
        # stack holds it (total) and those whose stack ends in it (self)
        total, self_ = collections.Counter(), collections.Counter()
        for stack, cnt in cg.collapsed_expect(js).items():
            frames = stack.split(";")
            for f in set(frames):
                total[f] += cnt
            self_[frames[-1]] += cnt
        rows = {}
        lines = res["text"].split("\n")
        for i, ln in enumerate(lines):
            m = re.match(r"^\t(.+)$", ln)
            if m and i >= 2 and re.match(r"^\d+ \(", lines[i - 2]) and re.match(r"^\t\d+ \(", lines[i - 1]):
                rows[m.group(1)] = (int(lines[i - 2].split()[0]), int(lines[i - 1].split()[0]))
        want = {f: (total[f], self_[f]) for f in total}
        check(rows == want, "speedscope shows the %d frames with the JSON's counts" % len(want),
              "want %s\ngot %s" % (sorted(want.items()), sorted(rows.items())))


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["explorer", "big", "speedscope"])
    ap.add_argument("fixture", nargs="?", default="big_service")
    ap.add_argument("version", nargs="?", default="3.14")
    ap.add_argument("--core", action="store_true")
    ap.add_argument("--big", type=int, default=100000)
    ap.add_argument("--keep", default=None, help="write the big file and its screenshot here")
    a = ap.parse_args()
    {"explorer": explorer, "big": big, "speedscope": speedscope}[a.mode](a)
    print("FAILED: %d" % len(cg.FAILS) if cg.FAILS else "all passed")
    sys.exit(1 if cg.FAILS else 0)


if __name__ == "__main__":
    main()
