#!/bin/sh
# render_svg.sh: renders an SVG file (a plot of cli/svg.c) to PNG with
# headless Chromium and checks the picture: a valid PNG of exactly the
# width and height the SVG's root element gives, and not blank (at least 3
# colors, and more than 0.5% of its pixels differ from the most common one).
#
# Usage: tests/render_svg.sh FILE.svg [OUT.png]   (OUT defaults to FILE.png)
# Exit status: 0 good, 77 when chromium (CHROMIUM, default /usr/bin/chromium)
# or python3 is missing, 1 with a one-line message otherwise, 2 for usage.
set -u

die() {
    echo "render_svg.sh: $*" >&2
    exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: tests/render_svg.sh FILE.svg [OUT.png]" >&2
    exit 2
fi
svg=$1
out=${2:-${svg%.svg}.png}
chrome=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chrome" ] || ! command -v python3 >/dev/null 2>&1; then
    echo "render_svg.sh: $chrome or python3 not installed, skipped" >&2
    exit 77
fi
[ -f "$svg" ] && [ -r "$svg" ] || die "$svg: cannot read"

# width and height of the root element, whole pixels
size=$(python3 - "$svg" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
root = re.search(r"<svg\b[^>]*>", text)
w = root and re.search(r'\swidth="(\d+)(px)?"', root.group(0))
h = root and re.search(r'\sheight="(\d+)(px)?"', root.group(0))
if not (w and h):
    sys.exit("no <svg> root element with pixel width and height")
print(w.group(1), h.group(1))
EOF
) || die "$svg: no <svg> root element with pixel width and height"
set -- $size
width=$1
height=$2

abs_dir=$(cd "$(dirname "$svg")" && pwd) || die "$svg: no folder"
abs_svg=$abs_dir/$(basename "$svg")
out_dir=$(cd "$(dirname "$out")" && pwd) || die "$out: no folder"
abs_out=$out_dir/$(basename "$out")
profile=$(mktemp -d) || die "mktemp failed"
log=$profile.log
trap 'rm -rf "$profile" "$log"' EXIT
rm -f "$abs_out"

timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic \
    --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --hide-scrollbars --force-device-scale-factor=1 \
    --user-data-dir="$profile" --screenshot="$abs_out" \
    --window-size="$width,$height" "file://$abs_svg" >"$log" 2>&1 ||
    die "chromium failed: $(grep -v '^$' "$log" | tail -n 1)"
[ -s "$abs_out" ] || die "chromium wrote no $out"

python3 - "$abs_out" "$width" "$height" <<'EOF' || exit 1
import struct, sys, zlib
from collections import Counter

def fail(msg):
    sys.exit("render_svg.sh: %s: %s" % (sys.argv[1], msg))

data = open(sys.argv[1], "rb").read()
want_w, want_h = int(sys.argv[2]), int(sys.argv[3])
if data[:8] != b"\x89PNG\r\n\x1a\n":
    fail("not a PNG file")
pos, chunks = 8, []
while pos + 8 <= len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    crc = data[pos + 8 + n:pos + 12 + n]
    if len(body) != n or len(crc) != 4 or \
            struct.unpack(">I", crc)[0] != zlib.crc32(kind + body):
        fail("damaged %s chunk" % kind.decode("latin-1"))
    chunks.append((kind, body))
    pos += 12 + n
    if kind == b"IEND":
        break
if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
    fail("no IHDR first or no IEND last")
w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
if (w, h) != (want_w, want_h):
    fail("%dx%d pixels, the SVG is %dx%d" % (w, h, want_w, want_h))
channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
if depth != 8 or channels is None or interlace:
    fail("unexpected PNG type (depth %d, color type %d, interlace %d)"
         % (depth, ctype, interlace))
raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
stride = w * channels
if len(raw) != h * (stride + 1):
    fail("pixel data of the wrong length")

def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c

prev, colors = bytearray(stride), Counter()
for y in range(h):
    f = raw[y * (stride + 1)]
    row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = row[i - channels] if i >= channels else 0
        if f == 1:
            row[i] = (row[i] + a) & 255
        elif f == 2:
            row[i] = (row[i] + prev[i]) & 255
        elif f == 3:
            row[i] = (row[i] + ((a + prev[i]) >> 1)) & 255
        elif f == 4:
            c = prev[i - channels] if i >= channels else 0
            row[i] = (row[i] + paeth(a, prev[i], c)) & 255
        elif f != 0:
            fail("bad filter type %d" % f)
    colors.update(bytes(row[i:i + channels]) for i in range(0, stride, channels))
    prev = row
top = colors.most_common(1)[0][1]
if len(colors) < 3 or w * h - top <= 0.005 * w * h:
    fail("blank picture (%d colors, %d of %d pixels differ from the most common)"
         % (len(colors), w * h - top, w * h))
print("%s: %dx%d PNG, %d colors, %.1f%% of pixels drawn"
      % (sys.argv[1], w, h, len(colors), 100.0 * (w * h - top) / (w * h)))
EOF
