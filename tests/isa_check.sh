#!/usr/bin/env bash
# The default build runs on any x86-64: its compile commands hold no -march
# or -m<isa> flag, and in its machine code AVX and AVX-512 instructions (a
# mnemonic with the VEX/EVEX "v", a ymm, zmm or mask register) appear only
# inside the functions compiled for them (model/isa.h: names with _avx2 or
# _avx512, which a context calls only when the CPU has them). Those
# functions must hold what they are for (ymm in *_avx2, zmm in *_avx512) and
# use the FMA instruction, never libm's fmaf.
# usage: isa_check.sh COMPILE_COMMANDS_JSON OBJECT_OR_BINARY...
set -euo pipefail
commands=$1
shift
fail=0
command -v objdump >/dev/null || { echo "objdump not found: skipped"; exit 77; }
[ -r "$commands" ] || { echo "FAIL: no $commands"; exit 1; }

if grep -Eo -- '-march=[^ "]*|-m(avx|fma|sse[34])[^ "]*' "$commands" | sort -u | grep .; then
  echo "FAIL: the compile commands above hold instruction set flags"
  fail=1
else
  echo "compile commands: no -march, no -mavx/-mfma/-msse3+"
fi

for f in "$@"; do
  # one line per instruction: function<TAB>instruction
  objdump -d --no-show-raw-insn "$f" | awk '
    /^[0-9a-f]+ <.*>:$/ { fn = substr($2, 2, length($2) - 3); next }
    /^ +[0-9a-f]+:\t/ { split($0, p, "\t"); print fn "\t" p[2] }' > "$f.insns.tmp"
  stray=$(awk -F'\t' '!($1 ~ /_avx(2|512)/) &&
                       ($2 ~ /^v/ || $2 ~ /%(ymm|zmm|k[0-7])/) { print $1 }' \
            "$f.insns.tmp" | sort | uniq -c)
  ymm=$(awk -F'\t' '$1 ~ /_avx2/ && $2 ~ /%ymm/' "$f.insns.tmp" | wc -l)
  zmm=$(awk -F'\t' '$1 ~ /_avx512/ && $2 ~ /%zmm/' "$f.insns.tmp" | wc -l)
  libm=$(awk -F'\t' '$1 ~ /_avx(2|512)/ && $2 ~ /call.*<fmaf/ { print $1 }' \
           "$f.insns.tmp" | sort -u)
  rm -f "$f.insns.tmp"
  echo "$(basename "$f"): $ymm ymm instructions in *_avx2, $zmm zmm in *_avx512"
  if [ -n "$stray" ]; then
    echo "FAIL: AVX instructions outside the dispatched functions (count, function):"
    echo "$stray"
    fail=1
  fi
  if [ "$ymm" -eq 0 ] || [ "$zmm" -eq 0 ]; then
    echo "FAIL: the dispatched functions are missing or not vectorized"
    fail=1
  fi
  if [ -n "$libm" ]; then
    echo "FAIL: dispatched functions call libm's fmaf: $libm"
    fail=1
  fi
done
exit $fail
