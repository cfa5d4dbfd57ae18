#!/usr/bin/env bash
# install_test.sh BUILD SOURCE WORK CC: installs the build into WORK/prefix
# and uses it as someone else would:
#   1. tests/install/roundtrip.c built with `pkg-config --cflags --libs nmdl`
#      against the shared library, run with LD_LIBRARY_PATH;
#   2. the same with `pkg-config --static --libs nmdl` against libnmdl.a;
#   3. a CMake project (tests/install) with find_package(nmdl), once per
#      imported target, nmdl::nmdl and nmdl::nmdl_static;
#   4. the shared library exports exactly the functions nmdl.h declares;
#   5. `man -l` renders nmdl(1) without a warning, with every long option
#      of `nmdl --help`; unnmdl, nmdlcat (and their pages) link to nmdl;
#      the LICENSE is installed.
set -euo pipefail
build=$1 src=$2 work=$3 cc=$4
fail() { echo "install_test: $*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
P=$work/prefix
cmake --install "$build" --prefix "$P" >/dev/null
pc=$(find "$P" -name nmdl.pc)
[ -n "$pc" ] || fail "no nmdl.pc installed"
export PKG_CONFIG_PATH=${pc%/nmdl.pc}
lib=${PKG_CONFIG_PATH%/pkgconfig} # lib, or lib/<arch> when the prefix was /usr
prog=$src/tests/install/roundtrip.c
# the header must be clean in a strict consumer's build
strict=(-std=c99 -Wall -Wextra -pedantic -Werror)

echo "== pkg-config, shared library"
# shellcheck disable=SC2046 # pkg-config prints a list of flags
"$cc" "${strict[@]}" -o "$work/rt_shared" "$prog" $(pkg-config --cflags --libs nmdl)
readelf -d "$work/rt_shared" | grep -q 'NEEDED.*\[libnmdl\.so\.' \
  || fail "rt_shared does not load libnmdl.so"
LD_LIBRARY_PATH=$lib "$work/rt_shared"

echo "== pkg-config --static, libnmdl.a"
libs=" $(pkg-config --static --libs nmdl) "
libs=${libs// -lnmdl / -l:libnmdl.a } # the archive, though the .so lies beside it
# shellcheck disable=SC2046,SC2086
"$cc" "${strict[@]}" -o "$work/rt_static" "$prog" $(pkg-config --cflags nmdl) $libs
if readelf -d "$work/rt_static" | grep -q 'libnmdl\.so'; then
  fail "rt_static loads libnmdl.so"
fi
"$work/rt_static"

echo "== CMake, find_package(nmdl)"
cmake -S "$src/tests/install" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$P" \
      -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/roundtrip_shared"
"$work/cmake/roundtrip_static"

echo "== exported symbols"
so=$(readlink -f "$lib/libnmdl.so")
readelf -d "$so" | grep -q 'SONAME.*\[libnmdl\.so\.' || fail "libnmdl.so has no soname"
nm -D --defined-only "$so" | awk '{ print $3 }' | sort >"$work/exported"
# every name of the form nmdl_xxx( in the header is a function it declares
grep -o 'nmdl_[a-z0-9_]*(' "$P/include/nmdl.h" | tr -d '(' | sort -u >"$work/declared"
diff "$work/declared" "$work/exported" >"$work/symbols.diff" || {
  cat "$work/symbols.diff" >&2
  fail "libnmdl.so exports (>) other than nmdl.h declares (<)"
}
echo "$(wc -l <"$work/exported") functions, as declared in nmdl.h"

echo "== man page, links, licence"
command -v man >/dev/null || fail "man not found (Debian: man-db, see .ci/install-deps)"
page=$P/share/man/man1/nmdl.1
LC_ALL=C MANWIDTH=80 man --warnings -l "$page" >"$work/nmdl.txt" 2>"$work/man.err"
[ -s "$work/man.err" ] && { cat "$work/man.err" >&2; fail "man warns about nmdl.1"; }
grep -q decompress "$work/nmdl.txt" || fail "the page does not say decompress"
for section in NAME SYNOPSIS DESCRIPTION 'EXIT STATUS' ENVIRONMENT 'SEE ALSO'; do
  grep -q "^$section" "$work/nmdl.txt" || fail "the page has no $section"
done
for opt in $("$P/bin/nmdl" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  grep -q -- "$opt" "$work/nmdl.txt" || fail "the page lacks $opt of nmdl --help"
done
for alias in unnmdl nmdlcat; do
  [ "$(readlink "$P/bin/$alias")" = nmdl ] || fail "bin/$alias is not a link to nmdl"
  [ "$(readlink "$P/share/man/man1/$alias.1")" = nmdl.1 ] \
    || fail "man1/$alias.1 is not a link to nmdl.1"
done
[ -s "$P/share/doc/nmdl/LICENSE" ] || fail "no share/doc/nmdl/LICENSE"
echo "install_test: passed"
