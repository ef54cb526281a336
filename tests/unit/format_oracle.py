#!/usr/bin/env python3
# Byte-for-byte oracle for the tree, table and graph formats: the scenarios
# written by test_format_oracle are rendered by our core and by CPython's
# own asyncio.tools / asyncio.graph code running in a real 3.14 or 3.15
# interpreter (format_oracle_inner.py); every file must be identical.
# Exit 77 (skip) with a reason when that interpreter has not been fetched.
import argparse
import difflib
import glob
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))


def find_python(version):
    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "lib"))
    try:
        import pagtest  # noqa: E402

        p = pagtest.python_for(version)
        if p:
            return p
    except Exception as e:  # the helper may not know this version yet
        print(f"pagtest.python_for({version!r}) failed: {e}")
    p = os.path.expanduser(f"~/.cache/py-async-graph/bin/python{version}")
    return p if os.access(p, os.X_OK) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--dumper", required=True)
    ap.add_argument("--scenarios", type=int, default=150)
    a = ap.parse_args()
    py = find_python(a.version)
    if not py:
        print(f"SKIP: no CPython {a.version} interpreter fetched yet "
              f"(fixtures/fetch-pythons.sh fills ~/.cache/py-async-graph)")
        return 77
    ver = subprocess.run([py, "-c", "import sys; print(sys.version_info[:2])"],
                         capture_output=True, text=True)
    if ver.returncode != 0:
        print(f"SKIP: {py} does not run: {ver.stderr.strip()}")
        return 77
    with tempfile.TemporaryDirectory(prefix="pag-oracle-") as d:
        subprocess.run([a.dumper, "--dump", d, str(a.scenarios)], check=True)
        r = subprocess.run([py, os.path.join(HERE, "format_oracle_inner.py"), d])
        if r.returncode != 0:
            print("FAIL: the CPython side failed")
            return 1
        failures = 0
        checked = 0
        for ref in sorted(glob.glob(os.path.join(d, "*.cpython"))):
            ours = ref[: -len(".cpython")]
            with open(ref, "rb") as f:
                want = f.read()
            with open(ours, "rb") as f:
                got = f.read()
            checked += 1
            if want != got:
                failures += 1
                if failures <= 5:
                    print(f"FAIL {os.path.basename(ours)} differs from CPython {a.version}:")
                    for line in difflib.unified_diff(
                            want.decode("utf-8", "replace").splitlines(True),
                            got.decode("utf-8", "replace").splitlines(True),
                            "cpython", "py-async-graph"):
                        sys.stdout.write(line)
        print(f"{checked} file(s) compared with CPython {a.version}, {failures} differ")
        return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
