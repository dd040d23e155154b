#!/usr/bin/env bash
# Builds the DocC documentation of every library module into .build/docs/<Module>.doccarchive and all of them
# combined into .build/docs/all.doccarchive (`make docs`), offline:
# the public symbol graphs from `swift package dump-symbol-graph`, then `docc convert` per module with its
# catalog (Sources/<Module>/<Module>.docc) and warnings as errors, so a broken ``symbol`` link fails.
# A module's graphs are its own (<Module>.symbols.json) and its extensions of other modules (<Module>@X).
# DocC resolves ``symbol`` links only inside one module: a doc comment names another module's symbol (or an
# internal one) as `Code`, in single backticks, or this fails.
set -euo pipefail
cd "$(dirname "$0")/.."
MODULES=(Parity ParityTensor ParityEngine ParityNN ParityHDF5 ParityFormats ParityKeras ParityTorch ParityConvert ParityTrain ParityCompare)
DOCC=${DOCC:-$(command -v docc || xcrun --find docc)}
OUT=.build/docs
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# DOCS_GRAPHS=<dir> reuses graphs already dumped there. The dump exits 1 when it cannot emit graphs for the
# test bundles (ParityPackageTests), which are not documented: each library module's graph must be new instead.
graphs=${DOCS_GRAPHS:-}
if [ -z "$graphs" ]; then
    touch "$work/stamp"
    graphs=$(swift package dump-symbol-graph --minimum-access-level public --skip-synthesized-members 2>"$work/dump.log" | sed -n 's/^Files written to //p') || true
    for m in "${MODULES[@]}"; do
        [ "$graphs/$m.symbols.json" -nt "$work/stamp" ] || { cat "$work/dump.log"; echo "docs: no new symbol graph for $m"; exit 2; }
    done
fi
for m in "${MODULES[@]}"; do
    mkdir -p "$work/$m"
    cp "$graphs/$m.symbols.json" "$work/$m/"
    for f in "$graphs/$m@"*.symbols.json; do [ -e "$f" ] && cp "$f" "$work/$m/"; done
    rm -rf "$OUT/$m.doccarchive"
    "$DOCC" convert "Sources/$m/$m.docc" --additional-symbol-graph-dir "$work/$m" \
        --fallback-display-name "$m" --fallback-bundle-identifier "org.parity.$m" \
        --output-path "$OUT/$m.doccarchive" --warnings-as-errors >"$work/$m.log" 2>&1 || { cat "$work/$m.log"; echo "docs: $m failed"; exit 1; }
    echo "docs: $m → $OUT/$m.doccarchive"
done
archives=()
for m in "${MODULES[@]}"; do archives+=("$OUT/$m.doccarchive"); done
rm -rf "$OUT/all.doccarchive"
"$DOCC" merge "${archives[@]}" --output-path "$OUT/all.doccarchive" --synthesized-landing-page-name Parity >"$work/merge.log" 2>&1 \
    || { cat "$work/merge.log"; echo "docs: merging the archives failed"; exit 1; }
echo "docs: every module → $OUT/all.doccarchive (serve it with any static file server, open /documentation/)"

# Every article's ```swift blocks, in order, type-check as one function body against the modules just built
# (`import Parity`), so an article's code follows the API.
bin=$(swift build --show-bin-path)
maps=()
for m in $(find .build/checkouts Sources -name module.modulemap 2>/dev/null) "$bin"/*.build/module.modulemap; do
    [ -e "$m" ] && maps+=(-Xcc "-fmodule-map-file=$m")
done
includes=()
for flag in $(pkg-config --cflags-only-I hdf5 2>/dev/null); do includes+=(-Xcc "$flag"); done
for article in Sources/*/*.docc/*.md; do
    grep -q '^```swift' "$article" || continue
    check="$work/$(basename "$article" .md).swift"
    { echo "import Foundation"; echo "import Parity"; echo "func articleCode() throws {"
      awk '/^```swift/{code=1; next} /^```/{code=0} code && !/^import /' "$article"; echo "}"; } >"$check"
    swiftc -typecheck -I "$bin/Modules" "${maps[@]}" "${includes[@]}" "$check" || { echo "docs: the code in $article does not compile"; exit 1; }
    echo "docs: the code in $article compiles"
done
