#!/usr/bin/env bash
# Line coverage of common/src and cli/ reached by the fuzzers' corpora, for
# the record in docs/architecture.md.  Builds both targets with clang's
# source-based coverage (no sanitizers), replays each corpus once, and
# prints llvm-cov's per-file table and the totals.
#
# usage: coverage.sh [DECODE_CORPUS_DIR [CORE_CORPUS_DIR]]
#   default: the committed corpora (tests/fuzz/corpus, tests/fuzz/core_corpus)
#   plus the regression inputs.  A grown corpus (run_fuzz.sh with
#   PAG_FUZZ_KEEP=DIR) gives the coverage of a long run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dcorp=${1:-$here/corpus}
ccorp=${2:-$here/core_corpus}
cc=$(command -v clang-16 || command -v clang)
prof=$(command -v llvm-profdata-16 || command -v llvm-profdata)
cov=$(command -v llvm-cov-16 || command -v llvm-cov)
read -r -a vers <<<"$(sed -n 's/^supported:[[:space:]]*//p' "$top/fixtures/python-versions")"
text=$(IFS=,; echo "${vers[*]}" | sed 's/,/, /g')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-g -O0 -std=gnu11 -D_GNU_SOURCE -DPAG_CACHE_SLOTS=16 -fsanitize=fuzzer
       -fprofile-instr-generate -fcoverage-mapping
       -DPAG_PY_VERSIONS_TEXT="\"$text\"" -DPAG_PY_VERSIONS_PROSE="\"$text\""
       -I"$top/common/include" -I"$top/common/src" -I"$top/cli")
"$cc" "${flags[@]}" "$top"/common/src/*.c "$here/fuzz_decode.c" -o "$work/decode"
"$cc" "${flags[@]}" "$top"/common/src/*.c "$top"/cli/target_core.c "$top"/cli/modules.c \
    "$top"/cli/elf_lookup.c "$top"/cli/core_stream.c "$top"/cli/native.c "$here/fuzz_core.c" \
    -ldw -lelf -lzstd -llz4 -llzma -lz -o "$work/core"
# each corpus into a directory of its own (libFuzzer replays a directory
# with -runs=0 and stops); the regressions too
mkdir -p "$work/d" "$work/c"
cp "$dcorp"/* "$here"/regressions/decode/* "$work/d/"
cp "$ccorp"/* "$here"/regressions/core/* "$work/c/"
LLVM_PROFILE_FILE="$work/d.profraw" "$work/decode" -runs=0 "$work/d" >/dev/null 2>&1
LLVM_PROFILE_FILE="$work/c.profraw" "$work/core" -runs=0 "$work/c" >/dev/null 2>&1
"$prof" merge -o "$work/d.profdata" "$work/d.profraw"
"$prof" merge -o "$work/c.profdata" "$work/c.profraw"
# one line per file: lines, missed, line coverage (llvm-cov report's columns 8-10)
show() {
    "$cov" report "$1" -instr-profile="$2" "${@:3}" 2>/dev/null |
        awk -v top="$top/" '$1 ~ /\.[ch]$/ || $1 == "TOTAL" {
            f = $1; sub(top, "", f); printf "  %-32s %6s lines %6s missed %8s\n", f, $8, $9, $10 }'
}
echo "decoder fuzzer ($(ls "$work/d" | wc -l) inputs): common/src"
show "$work/decode" "$work/d.profdata" "$top/common/src"
echo "core fuzzer ($(ls "$work/c" | wc -l) inputs): cli/ (and common/src as the core fuzzer reaches it)"
show "$work/core" "$work/c.profdata" "$top/cli"
