#!/usr/bin/env bash
# Scan throughput: wall time of `clamscan -r` and `glassav scan -r` over
# /usr/bin and /usr/lib/x86_64-linux-gnu (~2,900 files, 1.3 GB) with
# rfxn.ndb + rfxn.hdb (from ../shared) and a hash database of every file
# under /usr (../shared's usr-hashes.hdb.gz if present, else generated here),
# so nearly every file is a detection and the results are comparable.
# Prints medians of RUNS runs, the ratio, and whether the detections agree.
#
#   bash bench/scan.sh               # RUNS=3
#   RUNS=1 ROOTS="/usr/bin" bash bench/scan.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROOTS=${ROOTS:-/usr/bin /usr/lib/x86_64-linux-gnu}
dbs=()
for f in "$SHARED/testdata/clamav/rfxn-lmd/rfxn.ndb" "$SHARED/testdata/clamav/rfxn-lmd/rfxn.hdb"; do
	if [ -f "$f" ]; then dbs+=(-d "$f"); else echo "note: $f missing, scanning without it" >&2; fi
done
usr=$CACHE/usr-hashes.hdb
if [ ! -s "$usr" ]; then
	if [ -f "$SHARED/testdata/clamav/usr-hashes.hdb.gz" ]; then
		zcat "$SHARED/testdata/clamav/usr-hashes.hdb.gz" >"$usr.tmp" && mv "$usr.tmp" "$usr"
	else
		echo "hashing /usr into $usr ..." >&2
		(cd "$ROOT" && go run ./bench/feedgen -usr-hashes "$usr" /usr)
	fi
fi
dbs+=(-d "$usr")

status=0
glassav_ok=1
build_glassav || { glassav_ok=0; status=1; echo "glassav does not build: measuring clamscan only" >&2; }

# run NAME CMD... times RUNS runs; keeps the FOUND lines of the last one.
run() {
	local name=$1
	shift
	: >"$CACHE/scan.$name"
	for i in $(seq "$RUNS"); do
		measure "$CACHE/scan.$name.out" "$@" | cut -d' ' -f1 >>"$CACHE/scan.$name" || return 1
	done
	grep ' FOUND$' "$CACHE/scan.$name.out" | sort >"$CACHE/scan.$name.found" || true
}

# shellcheck disable=SC2086 # ROOTS is a list
run clamscan clamscan --no-summary -r "${dbs[@]}" $ROOTS
cw=$(median <"$CACHE/scan.clamscan")
printf 'roots: %s; %d run(s) each\n' "$ROOTS" "$RUNS"
printf '%-9s median wall %8.2f s   detections %d\n' clamscan "$cw" "$(wc -l <"$CACHE/scan.clamscan.found")"
if [ $glassav_ok = 1 ]; then
	# shellcheck disable=SC2086
	if run glassav "$CACHE/glassav" scan --no-summary -r "${dbs[@]}" $ROOTS; then
		gw=$(median <"$CACHE/scan.glassav")
		printf '%-9s median wall %8.2f s   detections %d\n' glassav "$gw" "$(wc -l <"$CACHE/scan.glassav.found")"
		printf 'ratio glassav/clamscan wall: %s (speed-up %s)\n' "$(ratio "$gw" "$cw")" "$(ratio "$cw" "$gw")"
		if cmp -s "$CACHE/scan.clamscan.found" "$CACHE/scan.glassav.found"; then
			echo "detections: identical"
		else
			echo "detections: DIFFER (only clamscan: $(comm -23 "$CACHE/scan.clamscan.found" "$CACHE/scan.glassav.found" | wc -l), only glassav: $(comm -13 "$CACHE/scan.clamscan.found" "$CACHE/scan.glassav.found" | wc -l); see $CACHE/scan.*.found)"
			status=1
		fi
	else
		status=1
	fi
fi
exit $status
