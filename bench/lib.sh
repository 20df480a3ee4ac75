# Shared helpers for the benchmark scripts; sourced, not run.

# The repository root, the cache for generated data (never in git), and the
# shared reference data beside the repository.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${GLASSAV_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/glassav-bench}
SHARED=${SHARED:-$ROOT/../shared}
RUNS=${RUNS:-3}
mkdir -p "$CACHE"

# build_glassav builds the binary under test into the cache; it returns
# non-zero (with the compiler's message on stderr) when it does not build.
build_glassav() {
	(cd "$ROOT" && go build -o "$CACHE/glassav" ./cmd/glassav)
}

# measure OUT CMD... runs CMD under /usr/bin/time -v with stdout to OUT and
# prints "WALL_SECONDS PEAK_RSS_KB". Exit codes 0 and 1 (detections) are
# success; anything else is reported and fails.
measure() {
	local out=$1 rc=0
	shift
	/usr/bin/time -v -o "$CACHE/time.txt" "$@" >"$out" 2>"$out.stderr" || rc=$?
	if [ "$rc" -gt 1 ]; then
		echo "measure: $1 exited $rc:" >&2
		tail -n 5 "$out.stderr" >&2
		return 1
	fi
	awk -F': ' '
		/Elapsed \(wall clock\)/ {
			n = split($2, p, ":"); s = 0
			for (i = 1; i <= n; i++) s = s * 60 + p[i]
			wall = s
		}
		/Maximum resident set size/ { rss = $2 }
		END { printf "%.3f %d\n", wall, rss }' "$CACHE/time.txt"
}

# median reads numbers, one per line, and prints their median.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B prints A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
