#!/usr/bin/env python3
"""The macOS plugin, cross-built on Linux with zig (cmake/zig-*-macos.cmake)
and checked as a Mach-O file (check_dylib.py).

  --arch aarch64|x86_64   configure (first run) and build the core and the
                          plugin in $PAG_BUILD_DIR/macos/<arch>, then check
                          lldb/libpy-async-graph-lldb.dylib
  --universal             llvm-lipo the two into one universal dylib
                          ($PAG_BUILD_DIR/macos/libpy-async-graph-lldb.dylib)
                          and check both of its slices

The first cross build of an arch takes minutes: zig builds libc++ and
compiler-rt for it once (in ~/.cache/zig); later runs only rebuild what
changed.  A missing zig fails with the way to install it.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gdb"))

import pagtest  # noqa: E402
from gdbtest import Checker  # noqa: E402
import check_dylib  # noqa: E402
import machoimage  # noqa: E402

ARCH = {"aarch64": "arm64", "x86_64": "x86_64"}
DYLIB = "libpy-async-graph-lldb.dylib"


def step(argv, log, timeout=3000):
    with open(log, "a") as f:
        f.write("$ %s\n" % " ".join(argv))
        f.flush()
        rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, timeout=timeout,
                            env=pagtest.clean_env()).returncode
    if rc != 0:
        tail = open(log, errors="replace").read()[-3000:]
        pagtest.fail("%s exited %d (log %s):\n%s" % (" ".join(argv[:4]), rc, log, tail))


def cross_build(arch):
    top = os.path.join(pagtest.BUILD_DIR, "macos")
    bdir = os.path.join(top, arch)
    os.makedirs(bdir, exist_ok=True)
    log = os.path.join(top, "%s.log" % arch)
    open(log, "w").close()
    if not os.path.exists(os.path.join(bdir, "CMakeCache.txt")):
        step(["cmake", "-S", pagtest.SOURCE_DIR, "-B", bdir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
              "-DCMAKE_TOOLCHAIN_FILE=%s" % os.path.join(pagtest.SOURCE_DIR, "cmake",
                                                         "zig-%s-macos.cmake" % arch)], log)
    step(["cmake", "--build", bdir, "--target", "pag_lldb", "-j2"], log)
    return os.path.join(bdir, "lldb", DYLIB)


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--arch", choices=sorted(ARCH))
    g.add_argument("--universal", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(machoimage.zig()):
        pagtest.fail("zig is not installed at %s: run scripts/setup.sh (it installs zig "
                     "from npm into the cache) or set PAG_ZIG" % machoimage.zig())
    if a.arch:
        chk = Checker("macos cross %s" % a.arch)
        path = cross_build(a.arch)
        chk.true("the cross build made %s" % path, os.path.exists(path))
        check_dylib.check(chk, path, ARCH[a.arch])
        chk.finish()

    chk = Checker("macos universal")
    top = os.path.join(pagtest.BUILD_DIR, "macos")
    thin = [os.path.join(top, arch, "lldb", DYLIB) for arch in sorted(ARCH)]
    for p in thin:
        if not os.path.exists(p):
            pagtest.fail("%s is missing: run the macos.cross.* tests first" % p)
    lipo = check_dylib.tool("llvm-lipo")
    fat = os.path.join(top, DYLIB)
    check_dylib.run([lipo, "-create", "-output", fat] + thin)
    archs = check_dylib.run([lipo, "-archs", fat]).split()
    chk.eq("llvm-lipo -archs of the universal dylib", ["arm64", "x86_64"], sorted(archs))
    with open(fat, "rb") as f:
        magic = f.read(4)
    chk.eq("a fat Mach-O file (FAT_MAGIC 0xcafebabe)", b"\xca\xfe\xba\xbe", magic)
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("arm64", "x86_64"):
            one = os.path.join(tmp, arch, DYLIB)
            os.makedirs(os.path.dirname(one))
            check_dylib.run([lipo, fat, "-thin", arch, "-output", one])
            src = thin[0] if arch == "arm64" else thin[1]
            chk.true("the %s slice is the %s build, byte for byte" % (arch, arch),
                     open(one, "rb").read() == open(src, "rb").read())
            check_dylib.check(chk, one, arch)
    chk.finish()


if __name__ == "__main__":
    main()
