#!/usr/bin/env bash
# Build one of the two libFuzzer targets with clang (ASan + UBSan), replay
# its regression inputs (each must pass), then fuzz it for a bounded time
# over a copy of its committed corpus.
#
# usage: run_fuzz.sh [decode|core] SECONDS      (run_fuzz.sh SECONDS: decode)
#   decode  fuzz_decode.c: the decoder, formatters, options (common/src)
#   core    fuzz_core.c: the CLI's core-file reader (cli/target_core.c,
#           cli/modules.c, cli/elf_lookup.c, cli/core_stream.c: compressed
#           inputs are decompressed as for --core) and the decoder over it
# Environment:
#   PAG_FUZZ_ARTIFACTS  where a finding is written (default: the current dir)
#   PAG_FUZZ_KEEP       a directory: keep the grown corpus there (for the
#                       coverage record, tests/fuzz/coverage.sh)
set -euo pipefail
target=decode
if [ $# -ge 1 ] && { [ "$1" = decode ] || [ "$1" = core ]; }; then target=$1; shift; fi
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cc=$(command -v clang-16 || command -v clang || true)
if [ -z "$cc" ]; then echo "run_fuzz: clang-16 is missing (apt-get install clang-16)"; exit 1; fi
# The supported versions, as common/CMakeLists.txt passes them to the core.
read -r -a vers <<<"$(sed -n 's/^supported:[[:space:]]*//p' "$top/fixtures/python-versions")"
text=$(IFS=,; echo "${vers[*]}" | sed 's/,/, /g')
prose=${vers[-1]}
[ ${#vers[@]} -gt 1 ] && prose="$(IFS=,; echo "${vers[*]:0:${#vers[@]}-1}" | sed 's/,/, /g') and ${vers[-1]}"
# a symbolized report names the line of a finding
sym=$(command -v llvm-symbolizer-16 || command -v llvm-symbolizer || true)
[ -n "$sym" ] && export ASAN_SYMBOLIZER_PATH="$sym"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-g -O1 -std=gnu11 -D_GNU_SOURCE -DPAG_CACHE_SLOTS=16
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -DPAG_PY_VERSIONS_TEXT="\"$text\"" -DPAG_PY_VERSIONS_PROSE="\"$prose\""
       -I"$top/common/include" -I"$top/common/src")
if [ "$target" = decode ]; then
    "$cc" "${flags[@]}" "$top"/common/src/*.c "$here/fuzz_decode.c" -o "$work/fuzz"
    corpus=$here/corpus
    regress=("$here"/regressions/decode/*)
else
    "$cc" "${flags[@]}" -I"$top/cli" "$top"/common/src/*.c "$top"/cli/target_core.c \
        "$top"/cli/modules.c "$top"/cli/elf_lookup.c "$top"/cli/core_stream.c "$top"/cli/native.c \
        "$here/fuzz_core.c" \
        -ldw -lelf -lzstd -llz4 -llzma -lz -o "$work/fuzz"
    corpus=$here/core_corpus
    regress=("$here"/regressions/core/*)
fi
mkdir -p "$work/corpus"
cp "$corpus"/* "$work/corpus/"
# Regression inputs: every crash ever found stays here and must now pass
# (files only: a directory argument would make libFuzzer fuzz it).
if [ -e "${regress[0]}" ]; then
    if ! "$work/fuzz" -runs=0 "${regress[@]}" >"$work/replay" 2>&1; then
        sed -n '/ERROR: \|runtime error:/,$p' "$work/replay" | head -n 80
        echo "run_fuzz: $target: a regression input fails again"
        exit 1
    fi
    echo "run_fuzz: $target: ${#regress[@]} regression inputs replayed, no finding"
fi
# Findings go to $PAG_FUZZ_ARTIFACTS (default: the current directory) so that
# a CI failure leaves the input behind; the whole sanitizer report is printed.
art=${PAG_FUZZ_ARTIFACTS:-$PWD}
mkdir -p "$art"
rc=0
"$work/fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=1048576 -print_final_stats=1 -artifact_prefix="$art/" \
    "$work/corpus" >"$work/log" 2>&1 || rc=$?
if [ "$rc" != 0 ] || grep -qE 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error:' "$work/log"; then
    sed -n '/ERROR: \|runtime error:/,$p' "$work/log" | head -n 80
    echo "run_fuzz: $target: FINDING (exit $rc); input saved under $art/"
    exit 1
fi
if [ -n "${PAG_FUZZ_KEEP:-}" ]; then
    mkdir -p "$PAG_FUZZ_KEEP"
    cp "$work"/corpus/* "$PAG_FUZZ_KEEP"/
fi
grep -E '^stat::|Done [0-9]+ runs' "$work/log" | tail -n 8
echo "run_fuzz: $target: ${secs}s with no finding; corpus: $(ls "$work/corpus" | wc -l) inputs"
