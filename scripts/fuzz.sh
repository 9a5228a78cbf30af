#!/usr/bin/env bash
# Runs every Go fuzz target for the given time (default 10s each).
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-10s}
for pkg in $(go list ./protocol/... ./engine/...); do
  for f in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $f"
    go test -run=NONE -fuzz="^$f\$" -fuzztime="$t" "$pkg"
  done
done
