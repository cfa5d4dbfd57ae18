#!/usr/bin/env bash
# nmdl sweep's plots, rendered by headless Chromium to PNG and checked to be
# non-empty images of the size the SVG declares (tests/render_svg.sh).
# Exit 77 (skipped) where Chromium is not installed.
# usage: sweep_render.sh NMDL_BINARY WORK_DIR
set -euo pipefail
nmdl=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v "${CHROMIUM:-chromium}" >/dev/null || { echo "chromium not installed: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
for i in $(seq 1 600); do printf 'row %d of the sweep test, with words that repeat %d\n' "$i" $((i % 13)); done > "$work/corpus"
"$nmdl" sweep "$work/corpus" --sizes 4K,8K,16K --out "$work/out" --method zstd -q 2>/dev/null
for f in dl_vs_n model_bits; do
  "$here/render_svg.sh" "$work/out/$f.svg" "$work/$f.png"
done
