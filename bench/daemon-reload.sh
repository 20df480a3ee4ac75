#!/usr/bin/env bash
# Reload under load: glassav's daemon and a real clamd (one after the
# other) each serve a feed-shaped database (bench/feedgen, ~6.6 million
# signatures at SCALE=1) while CONNS connections scan a fixed file mix with
# INSTREAM without pause; RELOADS times the database's "current" link is
# switched to the other version directory and RELOAD is sent. The daemon's
# VmRSS is read from /proc/PID/status every 20 ms from outside the process
# (bench/cmd/daemonreload). Prints, for each daemon, steady-state RSS, peak
# RSS during the reloads and their ratio, scan latency in steady state and
# during reloads (worst included), and the failed scans, which must be 0.
# The issue's target: peak/steady ≤ 1.5 for glassav (clamd: 2).
#
#   bash bench/daemon-reload.sh                  # SCALE=1 RELOADS=3 CONNS=4
#   SCALE=0.05 RELOADS=2 bash bench/daemon-reload.sh
#
# The two version directories hold hard links to the same generated feed
# plus a one-line .ndb naming the version, so every reload loads the full
# database from a different directory. clamd keeps its default
# ConcurrentDatabaseReload yes (serves from the old engine while loading
# the new). Unix sockets only; the work directory is under the bench cache
# ($GLASSAV_BENCH_CACHE, default ~/.cache/glassav-bench) so the links can
# be hard, and is removed at exit.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SCALE=${SCALE:-1}
SEED=${SEED:-1}
RELOADS=${RELOADS:-3}
CONNS=${CONNS:-4}
STEADY=${STEADY:-10s}
SETTLE=${SETTLE:-5s}
DAEMONS=${DAEMONS:-glassav clamd}
GLASSAV_ENV=${GLASSAV_ENV:-} # e.g. GOGC=50, to see how much of the peak is GC slack

feed=$CACHE/feed-seed$SEED-scale$SCALE
if [ ! -d "$feed" ]; then
	echo "generating feed (seed $SEED, scale $SCALE) in $feed ..." >&2
	(cd "$ROOT" && go run ./bench/feedgen -feed "$feed" -seed "$SEED" -scale "$SCALE")
fi

work=$(mktemp -d "$CACHE/reload.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

build_glassav
(cd "$ROOT" && go build -o "$CACHE/daemonreload" ./bench/cmd/daemonreload)

# db/v1 and db/v2: the feed (hard links, else copies) and a version marker.
for v in v1 v2; do
	mkdir -p "$work/db/$v"
	cp -l "$feed"/* "$work/db/$v/" 2>/dev/null || cp "$feed"/* "$work/db/$v/"
	printf 'Glassav.Bench.Reload-%s:0:*:%s\n' "$v" "$(printf 'GLASSAV-RELOAD-BENCH-%s' "$v" | od -An -tx1 | tr -d ' \n')" >"$work/db/$v/version.ndb"
done
ln -s v1 "$work/db/current"
sigs=$(cat "$work/db/v1/"* | wc -l)

conf() { # conf NAME DBDIR → clamd.conf with its own socket and log
	cat >"$work/$1.conf" <<EOC
LocalSocket $work/$1.sock
DatabaseDirectory $2
Foreground yes
LogFile $work/$1.log
StreamMaxLength 100M
MaxThreads 32
SelfCheck 0
ConcurrentDatabaseReload yes
TemporaryDirectory $work
EOC
	if [ "$(id -u)" = 0 ]; then echo "User root" >>"$work/$1.conf"; fi
}

printf 'database: %s (%d signatures), %d reloads, %d conns; load average %s\n' \
	"$feed" "$sigs" "$RELOADS" "$CONNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
clamd_bin=$(command -v clamd || echo /usr/sbin/clamd)
status=0
for d in $DAEMONS; do
	ln -sfn v1 "$work/db/current"
	case $d in
	glassav)
		# glassav resolves DatabaseDirectory/current itself.
		conf glassav "$work/db"
		cmd=(env $GLASSAV_ENV "$CACHE/glassav" daemon -c "$work/glassav.conf")
		done_re="Database correctly reloaded"
		;;
	clamd)
		[ -x "$clamd_bin" ] || { echo "clamd not installed: skipped" >&2; continue; }
		conf clamd "$work/db/current"
		cmd=("$clamd_bin" -c "$work/clamd.conf")
		# clamd logs "correctly reloaded" when the new engine is
		# loaded, then this when it swaps it in.
		done_re="Activating the newly loaded database"
		;;
	*) echo "unknown daemon $d" >&2; exit 2 ;;
	esac
	: >"$work/$d.log"
	"${cmd[@]}" >"$work/$d.out" 2>&1 &
	pid=$!
	pids+=("$pid")
	rc=0
	"$CACHE/daemonreload" -name "$d" -addr "$work/$d.sock" -pid "$pid" -log "$work/$d.log" -done "$done_re" \
		-conns "$CONNS" -reloads "$RELOADS" -steady "$STEADY" -settle "$SETTLE" -switch "$work/db" \
		-summary "$work/summary" || rc=$?
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ $rc != 0 ]; then
		status=1
		echo "$d: daemonreload failed ($rc); daemon log:" >&2
		tail -n 8 "$work/$d.log" >&2
	fi
done
awk '{ r[$1] = $4; w[$1] = $5 } END {
	if (("glassav" in r) && ("clamd" in r))
		printf "peak/steady RSS: glassav %.2f (target <= 1.5), clamd %.2f; worst scan during reload: glassav %.0f ms, clamd %.0f ms\n",
			r["glassav"], r["clamd"], w["glassav"], w["clamd"]
}' "$work/summary" 2>/dev/null || true
exit $status
