#!/usr/bin/env bash
# Cold database load: wall time and peak RSS of clamscan and glassav loading
# a feed-shaped database of ~6.6 million signatures (6.5 M hashes, mostly
# PE-section .mdb, plus 100,000 .ndb body signatures) and scanning one small
# file. Each process starts cold (the database files are in the page cache
# after the first run). Prints medians of RUNS runs and glassav/clamscan
# ratios.
#
#   bash bench/load.sh               # RUNS=3 SCALE=1 SEED=1
#   SCALE=0.1 RUNS=1 bash bench/load.sh
#
# Generated data lives in $GLASSAV_BENCH_CACHE (default ~/.cache/glassav-bench).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SCALE=${SCALE:-1}
SEED=${SEED:-1}
feed=$CACHE/feed-seed$SEED-scale$SCALE
if [ ! -d "$feed" ]; then
	echo "generating feed (seed $SEED, scale $SCALE) in $feed ..." >&2
	(cd "$ROOT" && go run ./bench/feedgen -feed "$feed" -seed "$SEED" -scale "$SCALE")
fi
small=$CACHE/small.txt
echo "glassav load benchmark" >"$small"

status=0
glassav_ok=1
build_glassav || { glassav_ok=0; status=1; echo "glassav does not build: measuring clamscan only" >&2; }

run() { # name cmd... → appends "wall rss" lines to $CACHE/load.<name>
	local name=$1
	shift
	: >"$CACHE/load.$name"
	for i in $(seq "$RUNS"); do
		measure "$CACHE/load.$name.out" "$@" >>"$CACHE/load.$name" || return 1
	done
}

sigs=$(cat "$feed"/* | wc -l)
printf 'database: %s (%d signatures), %d run(s) each\n' "$feed" "$sigs" "$RUNS"
run clamscan clamscan --no-summary -d "$feed" "$small"
cw=$(cut -d' ' -f1 "$CACHE/load.clamscan" | median)
cr=$(cut -d' ' -f2 "$CACHE/load.clamscan" | median)
printf '%-9s wall %8.2f s   peak RSS %8.1f MiB\n' clamscan "$cw" "$(awk -v k="$cr" 'BEGIN{print k/1024}')"
if [ $glassav_ok = 1 ]; then
	if run glassav "$CACHE/glassav" scan --no-summary -d "$feed" "$small"; then
		gw=$(cut -d' ' -f1 "$CACHE/load.glassav" | median)
		gr=$(cut -d' ' -f2 "$CACHE/load.glassav" | median)
		printf '%-9s wall %8.2f s   peak RSS %8.1f MiB\n' glassav "$gw" "$(awk -v k="$gr" 'BEGIN{print k/1024}')"
		printf 'ratio glassav/clamscan: wall %s, peak RSS %s\n' "$(ratio "$gw" "$cw")" "$(ratio "$gr" "$cr")"
	else
		status=1
	fi
fi
exit $status
