#!/usr/bin/env bash
# Cross-build determinism of the coding path. A second build of nmdl, as
# different as this machine allows (clang when present, else gcc; -O0; no
# -march, so fmaf is libm's software routine instead of an FMA instruction),
# must
#   - reproduce the golden hashes of the coder's frequencies, the inference
#     probabilities and the elementary functions (test_freq, test_infer,
#     test_dmath, built again there);
#   - decode this build's neural output byte for byte, run with 1 thread,
#     and have its own output decoded by this build.
# usage: cross_build.sh NMDL_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
nmdl_a=$1 src=$2 work=$3
mkdir -p "$work"
cc=gcc
command -v clang >/dev/null && cc=clang
CC=$cc cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Debug \
  -DNMDL_NATIVE=OFF -DNMDL_WERROR=ON >/dev/null
cmake --build "$work/build" -j"$(nproc)" \
  --target nmdl test_freq test_infer test_dmath >/dev/null
nmdl_b=$work/build/nmdl
echo "second build: $cc -O0 without -march"
for t in test_freq test_infer test_dmath; do
  "$work/build/tests/$t" > "$work/$t.log" 2>&1 || { cat "$work/$t.log"; exit 1; }
  grep -h -i "hash" "$work/$t.log" || true
done

cd "$work"
for i in $(seq 1 120); do printf 'line %d: the quick brown fox %d jumps\n' "$i" $((i % 7)); done > text
"$nmdl_a" compress -1 -q -f -T2 --no-fallback text -o a.nmdl
"$nmdl_b" compress -1 -q -f -T1 --no-fallback text -o b.nmdl
"$nmdl_b" info a.nmdl | grep -q "method *neural"
"$nmdl_b" decompress -q -f -T1 a.nmdl -o a.out && cmp text a.out
"$nmdl_a" decompress -q -f -T2 b.nmdl -o b.out && cmp text b.out
echo "each build decodes the other's neural output byte for byte"
