#!/usr/bin/env bash
# Runs every go test fuzz target of the module for SECONDS each (default 30)
# and reports which ones found a failure. New failing inputs are written by
# go test under each package's testdata/fuzz/ directory, ready to commit as
# regression cases.
#
#   bash scripts/fuzz.sh        # 30 s per target
#   bash scripts/fuzz.sh 5      # a quick pass
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
failed=()
total=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u)
	for t in $targets; do
		total=$((total + 1))
		echo "== $pkg $t (${secs}s)"
		if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "${secs}s" "$pkg" >/tmp/glassav-fuzz.$$ 2>&1; then
			tail -20 /tmp/glassav-fuzz.$$
			failed+=("$pkg $t")
		fi
	done
done
rm -f /tmp/glassav-fuzz.$$
echo "fuzz targets run: $total, failed: ${#failed[@]}"
for f in "${failed[@]}"; do echo "FAILED: $f"; done
[ ${#failed[@]} -eq 0 ]
