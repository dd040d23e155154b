#!/usr/bin/env bash
# Renders `parity compare --html` reports in headless Chromium and checks the screenshots.
#
# For the padding-same and faithful ports of examples/conv_bn_dense: writes the HTML report, renders it to
# a 1200×1600 PNG and fails unless each PNG has the PNG signature, an IHDR chunk of that size and more
# than a trivial number of bytes. Installs Debian's `chromium` with apt-get when it is missing.
#
#   scripts/check_html_report.sh             # check only (the renderings stay in a temp dir)
#   UPDATE_SCREENSHOT=1 scripts/check_html_report.sh   # also copy padding-same's rendering to docs/compare-report.png
set -euo pipefail

cd "$(dirname "$0")/.."
WIDTH=1200
HEIGHT=1600
MIN_BYTES=20000
EXAMPLES=examples/conv_bn_dense

if ! command -v chromium >/dev/null; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi

swift build --product parity
PARITY=.build/debug/parity

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# Big-endian unsigned 32-bit integer at a byte offset of a file.
uint32_at() {
    od -An -tu1 -j "$2" -N 4 "$1" | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'
}

check_png() {
    local png=$1
    [ -f "$png" ] || { echo "FAIL: $png was not written"; return 1; }
    local signature chunk width height bytes
    signature=$(od -An -tx1 -N 8 "$png" | tr -d ' \n')
    [ "$signature" = 89504e470d0a1a0a ] || { echo "FAIL: $png is not a PNG (signature $signature)"; return 1; }
    chunk=$(dd if="$png" bs=1 skip=12 count=4 status=none)
    [ "$chunk" = IHDR ] || { echo "FAIL: $png has no IHDR chunk first (found '$chunk')"; return 1; }
    width=$(uint32_at "$png" 16)
    height=$(uint32_at "$png" 20)
    bytes=$(wc -c < "$png")
    [ "$width" = "$WIDTH" ] && [ "$height" = "$HEIGHT" ] \
        || { echo "FAIL: $png is ${width}×${height}, expected ${WIDTH}×${HEIGHT}"; return 1; }
    [ "$bytes" -gt "$MIN_BYTES" ] || { echo "FAIL: $png has only $bytes bytes (a blank page?)"; return 1; }
    echo "ok: $png ${width}×${height}, $bytes bytes"
}

for port in padding-same faithful; do
    html="$OUT/$port.html"
    status=0
    "$PARITY" compare "$EXAMPLES/keras.keras" "$EXAMPLES/$port/torch.pt2" --input "$EXAMPLES/input.npy" --html "$html" >/dev/null || status=$?
    [ "$status" -le 1 ] || { echo "FAIL: parity compare on $port exited $status"; exit 1; }
    [ -s "$html" ] || { echo "FAIL: parity compare on $port wrote no HTML report"; exit 1; }
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="$WIDTH,$HEIGHT" \
        --screenshot="$OUT/$port.png" "file://$(realpath "$html")" 2>"$OUT/$port.chromium.log" \
        || { cat "$OUT/$port.chromium.log"; echo "FAIL: chromium could not render $html"; exit 1; }
    check_png "$OUT/$port.png"
done

if [ "${UPDATE_SCREENSHOT:-}" = 1 ]; then
    mkdir -p docs
    cp "$OUT/padding-same.png" docs/compare-report.png
    echo "updated docs/compare-report.png"
fi
echo "html-check: both reports render"
