#!/usr/bin/env bash
# Regenerates the committed Java bindings of include/xft.h with jextract (must be on PATH).
# Only xft's own API is emitted: every function and typedef the header declares.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
header="$here/include/xft.h"
out="$root/bindings/src/main/java"
pkg=io.xformer.bindings.xft

command -v jextract >/dev/null || { echo "jextract is not on PATH" >&2; exit 1; }
args=()
for f in $(grep -oE '\bxft_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u); do args+=(--include-function "$f"); done
for t in $(grep -oE 'typedef struct xft_[a-z_]+ xft_[a-z_]+' "$header" | awk '{print $4}'); do args+=(--include-typedef "$t"); done
for c in $(grep -oE '\bXFT_[A-Z0-9_]+ = ' "$header" | awk '{print $1}'); do args+=(--include-constant "$c"); done

rm -rf "$out/io/xformer/bindings/xft"
jextract --target-package "$pkg" --header-class-name xft_h --output "$out" "${args[@]}" "$header"
# jextract's current output calls SymbolLookup.findOrThrow (JDK 23); its JDK 22 spelling keeps
# the bindings buildable on every JDK the project supports (>= 22).
sed -i 's/SYMBOL_LOOKUP\.findOrThrow(\("[a-z0-9_]*"\))/SYMBOL_LOOKUP.find(\1).orElseThrow()/' "$out"/io/xformer/bindings/xft/*.java
echo "bindings written to $out/${pkg//.//}"
