#!/usr/bin/env bash
# Daemon throughput: 10,000 INSTREAM scans of a fixed mix of real files
# (1 KiB–5 MiB from /usr/bin and /usr/share) over 32 connections against
# glassav's daemon and a real clamd in one run, each loaded with Linux
# Malware Detect's rfxn.ndb + rfxn.hdb and a generated 2,000,000-line .hdb.
# Prints requests/s, MiB/s and latency percentiles for each, then the
# glassav/clamd ratios of requests/s and p99.
#
#   bash bench/daemon-load.sh                     # REQUESTS=10000 CONNS=32 HASHES=2000000
#   REQUESTS=1000 HASHES=200000 bash bench/daemon-load.sh
#
# Three pairings are measured, each daemon one after the other (never both
# at once):
#   scan-all:  glassav --cache 0 against clamd with DisableCache yes: every
#              request is scanned.
#   no-containers: the same, with clamd's parsers of the formats glassav
#              does not open yet turned off (archives, mail, OLE2, PDF, HTML,
#              SWF, XML documents, HWP, OneNote, images): the like-for-like
#              workload, as README's "known differences" advises.
#   defaults:  glassav's default verdict cache (4096 entries) against
#              clamd's default clean-file cache (65536 entries): the files
#              come back REQUESTS/FILES times, so most are answered from
#              the caches, as deployed daemons are configured.
# PAIRINGS="scan-all" measures only that one.
#
# The file mix is an equal share of FILES (default 240) distinct files from
# each fourfold size band, chosen with SEED (bench/cmd/internal/filemix).
# Unix sockets in a temporary directory only; no network. Generated data
# lives in $GLASSAV_BENCH_CACHE (default ~/.cache/glassav-bench).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

REQUESTS=${REQUESTS:-10000}
CONNS=${CONNS:-32}
HASHES=${HASHES:-2000000}
FILES=${FILES:-240}
SEED=${SEED:-1}
DIRS=${DIRS:-/usr/bin,/usr/share}
PAIRINGS=${PAIRINGS:-scan-all no-containers defaults}
LMD=$SHARED/testdata/clamav/rfxn-lmd

work=$(mktemp -d /tmp/glassav-daemon-load.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

build_glassav
(cd "$ROOT" && go build -o "$CACHE/daemonload" ./bench/cmd/daemonload && go build -o "$CACHE/hashgen" ./bench/cmd/hashgen)

if [ ! -f "$LMD/rfxn.ndb" ] || [ ! -f "$LMD/rfxn.hdb" ]; then
	echo "daemon-load: $LMD/rfxn.ndb and rfxn.hdb are required (set SHARED)" >&2
	exit 1
fi
hashes=$CACHE/hashes-$HASHES-seed$SEED.hdb
if [ ! -f "$hashes" ]; then
	echo "generating $HASHES hashes in $hashes ..." >&2
	"$CACHE/hashgen" -o "$hashes" -n "$HASHES" -seed "$SEED"
fi
mkdir -p "$work/db"
cp "$LMD/rfxn.ndb" "$LMD/rfxn.hdb" "$work/db/"
ln -s "$hashes" "$work/db/generated.hdb" 2>/dev/null || cp "$hashes" "$work/db/generated.hdb"
sigs=$(cat "$work/db/"* | wc -l)

conf() { # conf NAME [EXTRA-LINE] → clamd.conf with its own socket and log
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
	if [ -n "${2:-}" ]; then echo "$2" >>"$work/$1.conf"; fi
	if [ "$(id -u)" = 0 ]; then echo "User root" >>"$work/$1.conf"; fi
}

# run NAME CMD... starts a daemon, loads it, stops it.
run() {
	local name=$1 rc=0
	shift
	"$@" >>"$work/$name.log" 2>&1 &
	local pid=$!
	pids+=("$pid")
	"$CACHE/daemonload" -name "$name" -addr "$work/$name.sock" -conns "$CONNS" -requests "$REQUESTS" \
		-files "$FILES" -seed "$SEED" -dir "$DIRS" -summary "$work/summary" -wait 10m || rc=$?
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	printf '%-22s %s\n' "$name:" "$(grep -m1 -o 'Loaded [0-9]* signatures' "$work/$name.log" || echo 'no "Loaded N signatures" in its log')"
	if [ $rc != 0 ]; then
		echo "$name: load generator failed ($rc); daemon log:" >&2
		tail -n 5 "$work/$name.log" >&2
	fi
	return $rc
}

clamd_bin=$(command -v clamd || echo /usr/sbin/clamd)
printf 'database: rfxn.ndb + rfxn.hdb + %d generated hashes (%d lines); %d requests, %d conns; load average %s\n' \
	"$HASHES" "$sigs" "$REQUESTS" "$CONNS" "$(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for pairing in $PAIRINGS; do
	case $pairing in
	scan-all) gcache=0 cconf="DisableCache yes" ;;
	no-containers)
		gcache=0
		cconf="DisableCache yes"
		for o in ScanArchive ScanMail ScanOLE2 ScanPDF ScanHTML ScanSWF ScanXMLDOCS ScanHWP3 ScanOneNote ScanImage ScanImageFuzzyHash; do
			cconf+=$'\n'"$o no"
		done
		;;
	defaults) gcache=4096 cconf="" ;;
	*) echo "unknown pairing $pairing" >&2; exit 2 ;;
	esac
	g=glassav-$pairing c=clamd-$pairing
	conf "$g"
	run "$g" "$CACHE/glassav" daemon -c "$work/$g.conf" --cache "$gcache" || status=1
	if [ -x "$clamd_bin" ]; then
		conf "$c" "$cconf"
		run "$c" "$clamd_bin" -c "$work/$c.conf" || status=1
		awk -v g="$g" -v c="$c" '
			$1 == g { grps = $2; gp50 = $3; gp99 = $4 }
			$1 == c { crps = $2; cp50 = $3; cp99 = $4 }
			END {
				if (grps == "" || crps == "" || crps == 0 || cp99 == 0) exit
				printf "%-13s glassav/clamd: requests/s %.2fx, p50 %.2fx, p99 %.2fx (p99 %.1f ms vs %.1f ms)\n",
					substr(g, 9), grps / crps, gp50 / cp50, gp99 / cp99, gp99, cp99
			}' "$work/summary"
	else
		echo "clamd not installed: measured glassav only" >&2
	fi
done
exit $status
