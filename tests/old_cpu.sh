#!/usr/bin/env bash
# The default build on a CPU without AVX, AVX2 or FMA: under QEMU's
# user-mode emulation of a Nehalem (SSE4.2) the library picks its portable
# variant, test_infer passes with the golden hash, and nmdl decodes byte for
# byte what this machine compressed on its own best variant. A build with
# -march=native would die there of an illegal instruction. Skipped (77)
# without qemu-x86_64 (Debian: qemu-user).
# usage: old_cpu.sh NMDL_BINARY TEST_INFER WORK_DIR
set -euo pipefail
command -v qemu-x86_64 >/dev/null || { echo "qemu-x86_64 not found: skipped"; exit 77; }
mkdir -p "$3"
nmdl=$(realpath "$1") test_infer=$(realpath "$2") work=$(realpath "$3")
# OpenBLAS is told the emulated CPU: a machine that sets OPENBLAS_CORETYPE
# for its own CPU (Haswell, say) would otherwise send the emulated Nehalem
# AVX2 kernels, an illegal instruction there.
old() { OPENBLAS_CORETYPE=Nehalem qemu-x86_64 -cpu Nehalem "$@"; }

old "$test_infer" > "$work/test_infer.log" 2>&1 || { cat "$work/test_infer.log"; exit 1; }
grep -q "^instruction set: portable" "$work/test_infer.log"
grep -h "hash" "$work/test_infer.log"

cd "$work"
for i in $(seq 1 30); do printf 'line %d: the quick brown fox %d jumps\n' "$i" $((i % 7)); done > text
"$nmdl" compress -1 --bits 3 -q -f -T2 --no-fallback text -o text.nmdl
"$nmdl" info text.nmdl | grep "method *neural" > /dev/null
old "$nmdl" decompress -q -f -T2 text.nmdl -o text.out
cmp text text.out
echo "an emulated Nehalem decodes this machine's neural output byte for byte"
