#!/usr/bin/env bash
# Cross-build determinism of the coding path, over builds and instruction
# sets. Besides this build (A: the default is baseline code that picks AVX2
# or AVX-512 kernels at run time, model/isa.h), two more are made:
#   B  as different as this machine allows: clang when present, else gcc;
#      -O0; baseline code (fmaf is libm's routine in the portable variant);
#   C  gcc -O3 -march=native (NMDL_NATIVE=ON), the tuned build.
# Each must
#   - reproduce the golden hashes of the coder's frequencies, the inference
#     probabilities and the elementary functions (test_freq, test_infer,
#     test_dmath built again there), on every variant this CPU runs
#     (forced with NMDL_ISA);
#   - decode the others' neural output byte for byte: a text is compressed
#     by A (its default variant, 2 threads), B (portable, 1 thread) and C
#     (default, 2 threads), and each file is decoded by A on every variant,
#     by B and by C. B and C fix the budget (--bits 3): the LLC estimate and
#     budget search, which never reach the decoder, took B over five minutes.
# usage: cross_build.sh NMDL_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
mkdir -p "$3"
nmdl_a=$(realpath "$1") src=$(realpath "$2") work=$(realpath "$3")
cc=gcc
command -v clang >/dev/null && cc=clang

build() { # build DIR CC [cmake options...]
  local dir=$1 c=$2
  shift 2
  CC=$c cmake -S "$src" -B "$dir" -DNMDL_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)" \
    --target nmdl test_freq test_infer test_dmath >/dev/null
}
build "$work/b" "$cc" -DCMAKE_BUILD_TYPE=Debug -DNMDL_NATIVE=OFF
build "$work/c" gcc -DCMAKE_BUILD_TYPE=Release -DNMDL_NATIVE=ON
nmdl_b=$work/b/nmdl nmdl_c=$work/c/nmdl

# The variants this CPU runs: a test forced onto one it lacks exits 77.
isas=()
for isa in portable avx2 avx512; do
  rc=0
  NMDL_ISA=$isa "$work/b/tests/test_infer" > "$work/probe.log" 2>&1 || rc=$?
  case $rc in
    0) isas+=("$isa") ;;
    77) echo "$isa: not run by this CPU, not covered" ;;
    *) cat "$work/probe.log"; exit 1 ;;
  esac
done

run_test() { # run_test BUILD TEST ISA [ARGS...]
  local b=$1 t=$2 isa=$3 log=$work/$1-$2-$3.log
  shift 3
  NMDL_ISA=$isa "$work/$b/tests/$t" "$@" > "$log" 2>&1 || { cat "$log"; exit 1; }
  echo "$b $t $isa: passed $(grep -h -i -o "hash [0-9a-f]*" "$log" | tr '\n' ' ')"
}
echo "B: $cc -O0, baseline; C: gcc -O3 -march=native"
for b in b c; do
  run_test "$b" test_freq portable
  run_test "$b" test_dmath portable
  for isa in "${isas[@]}"; do
    run_test "$b" test_infer "$isa"
    run_test "$b" test_dmath "$isa" golden_outputs
  done
done

cd "$work"
for i in $(seq 1 120); do printf 'line %d: the quick brown fox %d jumps\n' "$i" $((i % 7)); done > text
"$nmdl_a" compress -1 -q -f -T2 --no-fallback text -o a.nmdl
NMDL_ISA=portable "$nmdl_b" compress -1 --bits 3 -q -f -T1 --no-fallback text -o b.nmdl
"$nmdl_c" compress -1 --bits 3 -q -f -T2 --no-fallback text -o c.nmdl
for f in a b c; do
  "$nmdl_b" info $f.nmdl | grep "method *neural" > /dev/null
  for isa in "${isas[@]}"; do
    NMDL_ISA=$isa "$nmdl_a" decompress -q -f -T2 $f.nmdl -o $f.a-$isa
    cmp text $f.a-$isa
  done
  NMDL_ISA=portable "$nmdl_b" decompress -q -f -T1 $f.nmdl -o $f.b
  cmp text $f.b
  "$nmdl_c" decompress -q -f -T2 $f.nmdl -o $f.c
  cmp text $f.c
done
echo "A on ${isas[*]}, B and C each decode the others' neural output byte for byte"
