#!/usr/bin/env bash
# update-demo.sh shows glassav's transparent update channel end to end, every
# party its own process with its own state directory, over loopback HTTP:
#
#   keygen → publish v1..v3 → two witnesses cosign → an installation updates
#   → a monitor audits the log → the publisher forks the log for one
#   "customer" → the witness refuses to cosign it, the installation refuses
#   to install it, and the audit reports it.
#
# Usage: scripts/update-demo.sh [WORKDIR]   (default: a new temporary dir)
# It prints each command and its output; the exit status is 0 only if every
# step did what it should (the attacks refused).
set -euo pipefail
cd "$(dirname "$0")/.."

work=${1:-$(mktemp -d /tmp/glassav-demo.XXXXXX)}
mkdir -p "$work"
bin="$work/glassav"
go build -o "$bin" ./cmd/glassav
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

say() { printf '\n### %s\n' "$*"; }
show() { local a="$*"; a=${a//$bin/glassav}; printf '$ %s\n' "${a//$work/\$W}"; }
run() { show "$@"; "$@" 2>&1 | sed "s|$work|\$W|g"; return "${PIPESTATUS[0]}"; }
refused() { # run a command that must fail
	show "$@"
	local rc=0
	"$@" >"$work/out" 2>&1 || rc=$?
	sed "s|$work|\$W|g" "$work/out"
	if [ "$rc" = 0 ]; then echo "DEMO FAILED: that should have been refused" >&2; exit 1; fi
	echo "(refused, exit status $rc)"
}
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitport() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
source_v() { # a small database source directory for version $1
	local d="$work/src$1"
	mkdir -p "$d"
	for i in $(seq 1 "$1"); do
		printf 'Demo.Release.V%d:0:*:%s\n' "$i" "$(printf 'glassav demo release %d' "$i" | od -An -tx1 | tr -d ' \n')"
	done >"$d/demo.ndb"
	printf 'rule demo_v%d { strings: $a = "demo yara %d" condition: $a }\n' "$1" "$1" >"$d/demo.yar"
	echo "$d"
}

origin=demo.glassav.example/avdb
say "Keys: one publisher, two independent witnesses"
(cd "$work" && run "$bin" keygen publisher && run "$bin" keygen witness-a && run "$bin" keygen witness-b) >/dev/null
ls "$work"/*.pub | sed "s|$work|\$W|g"

say "Two witnesses, each with its own state, and a mirror"
wa=$(freeport) wb=$(freeport) mp=$(freeport)
"$bin" witness --state "$work/wa" --key "$work/witness-a.key" --listen "127.0.0.1:$wa" --log "$origin=$work/publisher.pub" >"$work/wa.log" 2>&1 & pids+=($!)
"$bin" witness --state "$work/wb" --key "$work/witness-b.key" --listen "127.0.0.1:$wb" --log "$origin=$work/publisher.pub" >"$work/wb.log" 2>&1 & pids+=($!)
mkdir -p "$work/public"
"$bin" mirror serve --listen "127.0.0.1:$mp" "$work/public" >"$work/mirror.log" 2>&1 & pids+=($!)
waitport "$wa"; waitport "$wb"; waitport "$mp"
echo "witness A on :$wa, witness B on :$wb, mirror on :$mp"

say "Publish v1, v2, v3 (each cosigned by both witnesses)"
run "$bin" publish --init --origin "$origin" --state "$work/pubstate" --key "$work/publisher.key" \
	--source "$(source_v 1)" --witness "http://127.0.0.1:$wa=$work/witness-a.pub" --witness "http://127.0.0.1:$wb=$work/witness-b.pub" "$work/public"
for v in 2 3; do
	run "$bin" publish --delta --state "$work/pubstate" --key "$work/publisher.key" \
		--source "$(source_v $v)" --witness "http://127.0.0.1:$wa=$work/witness-a.pub" --witness "http://127.0.0.1:$wb=$work/witness-b.pub" "$work/public"
done
say "The signed checkpoint (publisher signature + two cosignatures)"
sed 's/^/    /' "$work/public/checkpoint"

cat >"$work/install.conf" <<EOF
mirror http://127.0.0.1:$mp
origin $origin
publisher $work/publisher.pub
witness $work/witness-a.pub
witness $work/witness-b.pub
threshold 2
max-age 24h
state $work/install
EOF
say "An installation pinned to the publisher key and 2 of 2 witnesses updates"
run "$bin" update --config "$work/install.conf"
run "$bin" update --config "$work/install.conf" --status
ls -l "$work/install/current" | sed "s|.*$work|\$W|"

say "A monitor audits the whole log"
run "$bin" log audit --publisher "$work/publisher.pub" --witness "$work/witness-a.pub" --witness "$work/witness-b.pub" \
	--threshold 2 --state "$work/monitor" "http://127.0.0.1:$mp"

say "Attack: the publisher forks the log to ship a targeted v4 to one customer"
# Same key, a copy of the log at v3, then a different v4 nobody else sees.
cp -a "$work/pubstate" "$work/forkstate"
cp -a "$work/public" "$work/forkpublic"
tsrc=$(source_v 4)
printf 'Targeted.Exfil:0:*:%s\n' "$(printf 'CONFIDENTIAL' | od -An -tx1 | tr -d ' \n')" >>"$tsrc/demo.ndb"
run "$bin" publish --state "$work/forkstate" --key "$work/publisher.key" --source "$tsrc" "$work/forkpublic"
# Meanwhile everyone else gets the real v4.
run "$bin" publish --delta --state "$work/pubstate" --key "$work/publisher.key" \
	--source "$(source_v 4)" --witness "http://127.0.0.1:$wa=$work/witness-a.pub" --witness "http://127.0.0.1:$wb=$work/witness-b.pub" "$work/public"

say "The witness refuses to cosign the fork"
refused "$bin" publish --state "$work/forkstate" --key "$work/publisher.key" --source "$(source_v 5)" \
	--witness "http://127.0.0.1:$wa" "$work/forkpublic"

say "The targeted customer's installation refuses the fork (not cosigned by its witnesses)"
fp=$(freeport)
"$bin" mirror serve --listen "127.0.0.1:$fp" "$work/forkpublic" >"$work/forkmirror.log" 2>&1 & pids+=($!)
waitport "$fp"
refused "$bin" update --config "$work/install.conf" --mirror "http://127.0.0.1:$fp"

say "Even with no witnesses required, an installation that saw the real log detects the fork"
sed 's/^threshold 2/threshold 0/' "$work/install.conf" >"$work/install0.conf"
sed -i "s|^state .*|state $work/install0|" "$work/install0.conf"
run "$bin" update --config "$work/install0.conf"
refused "$bin" update --config "$work/install0.conf" --mirror "http://127.0.0.1:$fp"
ls "$work/install0/trust/evidence" | sed 's/^/    evidence: /'

say "The monitor follows the real log to v4, then is shown the fork: it reports the split view"
run "$bin" log audit --publisher "$work/publisher.pub" --witness "$work/witness-a.pub" --witness "$work/witness-b.pub" \
	--threshold 2 --state "$work/monitor" --no-bundles "http://127.0.0.1:$mp"
refused "$bin" log audit --publisher "$work/publisher.pub" --state "$work/monitor" --no-bundles "http://127.0.0.1:$fp"

say "Whoever audits the fork itself sees exactly what the targeted release added"
run "$bin" log audit --publisher "$work/publisher.pub" "http://127.0.0.1:$fp" | sed -n '/release 4/,/release 5/p'

say "Done: the real v4 is installed, the targeted one never was"
run "$bin" update --config "$work/install.conf"
cat "$work/install/current/MANIFEST" | sed 's/^/    /'
