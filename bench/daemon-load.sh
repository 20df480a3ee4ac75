#!/usr/bin/env bash
# Daemon throughput: INSTREAM scans of real files from /usr/bin over 32
# connections against glassav's daemon and a real clamd, one after the
# other on the same database (unix sockets in a temporary directory; no
# network). Prints requests/s, MiB/s and latency percentiles for each.
#
#   bash bench/daemon-load.sh                 # REQUESTS=3000 CONNS=32
#   REQUESTS=500 bash bench/daemon-load.sh
#
# The database is Linux Malware Detect's signatures from ../shared when
# present (14,770 body and hash signatures), else two test signatures.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

REQUESTS=${REQUESTS:-3000}
CONNS=${CONNS:-32}
DIR=${DIR:-/usr/bin}

work=$(mktemp -d /tmp/glassav-daemon-load.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

build_glassav
(cd "$ROOT" && go build -o "$CACHE/daemonload" ./bench/cmd/daemonload)

mkdir -p "$work/db"
if [ -d "$SHARED/testdata/clamav/rfxn-lmd" ]; then
	cp "$SHARED/testdata/clamav/rfxn-lmd/rfxn.ndb" "$SHARED/testdata/clamav/rfxn-lmd/rfxn.hdb" "$work/db/"
else
	printf 'Glassav.Test.One:0:*:%s\n' "$(printf 'GLASSAV-DAEMON-TEST-ONE' | od -An -tx1 | tr -d ' \n')" >"$work/db/test.ndb"
fi

conf() { # conf NAME → clamd.conf shared by both daemons, own socket and log
	cat >"$work/$1.conf" <<EOC
LocalSocket $work/$1.sock
DatabaseDirectory $work/db
Foreground yes
LogFile $work/$1.log
StreamMaxLength 100M
MaxThreads 32
MaxQueue 200
SelfCheck 0
TemporaryDirectory $work
EOC
	if [ "$(id -u)" = 0 ]; then echo "User root" >>"$work/$1.conf"; fi
}

wait_socket() { # wait_socket PATH PID
	for _ in $(seq 600); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

status=0
# glassav twice: without the verdict cache (every request scanned, the fair
# comparison with clamd) and with it (the same files come back REQUESTS/400
# times, so most are answered from the cache).
for cache in 0 4096; do
	name=glassav
	[ "$cache" = 0 ] || name=glassav+cache
	conf "$name"
	"$CACHE/glassav" daemon -c "$work/$name.conf" --cache "$cache" 2>>"$work/$name.log" &
	pids+=($!)
	if wait_socket "$work/$name.sock" "$!"; then
		"$CACHE/daemonload" -name "$name" -addr "$work/$name.sock" -conns "$CONNS" -requests "$REQUESTS" -dir "$DIR" || status=1
	else
		echo "$name daemon did not start:" >&2
		tail -n 5 "$work/$name.log" >&2
		status=1
	fi
	kill "${pids[-1]}" 2>/dev/null || true
done

if command -v clamd >/dev/null || [ -x /usr/sbin/clamd ]; then
	conf clamd
	"$(command -v clamd || echo /usr/sbin/clamd)" -c "$work/clamd.conf" >/dev/null 2>&1 &
	pids+=($!)
	if wait_socket "$work/clamd.sock" "$!"; then
		"$CACHE/daemonload" -name clamd -addr "$work/clamd.sock" -conns "$CONNS" -requests "$REQUESTS" -dir "$DIR" || status=1
	else
		echo "clamd did not start:" >&2
		tail -n 5 "$work/clamd.log" >&2
		status=1
	fi
else
	echo "clamd not installed: measured glassav only" >&2
fi
exit $status
