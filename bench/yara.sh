#!/usr/bin/env bash
# YARA throughput: yara 4.2.3 against glassav yara, same threads, same files
# (/usr/bin and /usr/lib/x86_64-linux-gnu, ~1.3 GB), with the public rule
# sets of ../shared/rules, run twice: with every rule, and without the rules
# yara's compiler warns are slow. glassav's own parser (bench/cmd/yarafilter)
# leaves out the rules using modules whose values glassav cannot share with
# Debian's yara (magic through libmagic, cuckoo); with MODULES=0 it also
# leaves out every rule using a binary-format module (pe, elf, ...).
# Prints medians of RUNS runs (wall, MB/s, peak RSS), the throughput ratio,
# compile time (a scan of an empty file) and whether the matches agree.
#
#   bash bench/yara.sh                       # RUNS=3, THREADS=nproc
#   RUNS=1 ROOTS=/usr/bin/x86_64-linux-gnu-ld THREADS=1 bash bench/yara.sh
#   VARIANTS=fast bash bench/yara.sh          # only without the slow rules
#   MODULES=0 bash bench/yara.sh              # only rules without pe, elf, ...
#   SETS=signature-base bash bench/yara.sh    # one rule set (issue #4's benchmark)
#
# With the slow rules yara needs minutes per run over the full roots.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROOTS=${ROOTS:-/usr/bin /usr/lib/x86_64-linux-gnu}
THREADS=${THREADS:-$(nproc)}
VARIANTS=${VARIANTS:-fast all}
MODULES=${MODULES:-1}
filter=()
[ "$MODULES" = 1 ] && filter=(-modules)
ext=(-d filename= -d filepath= -d extension= -d filetype= -d owner= -d file_type=)
work=$CACHE/yara
mkdir -p "$work"

command -v yara >/dev/null || { echo "yara not installed (apt-get install yara)" >&2; exit 1; }
build_glassav || { echo "glassav does not build" >&2; exit 1; }
(cd "$ROOT" && go build -o "$CACHE/yarafilter" ./bench/cmd/yarafilter)

# SETS picks rule sets by name (space-separated, e.g. "signature-base").
sets=("$SHARED"/rules/*.all.yar)
if [ -n "${SETS:-}" ]; then
	sets=()
	for n in $SETS; do
		sets+=("$SHARED/rules/$n.all.yar")
	done
fi
[ -f "${sets[0]}" ] || { echo "no rule sets in $SHARED/rules" >&2; exit 1; }

# The rule files of one variant, as yara's NAMESPACE:FILE arguments (one
# namespace per set: their rule names overlap).
all=() fast=()
for s in "${sets[@]}"; do
	n=$(basename "$s" .all.yar)
	"$CACHE/yarafilter" "${filter[@]}" -o "$work/all-$n.yar" "$s"
	all+=("$n:$work/all-$n.yar")
done
: >"$work/empty"
# yara names the slow rules in its warnings.
yara "${ext[@]}" "${all[@]}" "$work/empty" >/dev/null 2>"$work/warnings" || true
sed -n 's/^warning: rule "\([^"]*\)" in .*may slow down scanning$/\1/p' "$work/warnings" | sort -u >"$work/slow.txt"
for s in "${sets[@]}"; do
	n=$(basename "$s" .all.yar)
	"$CACHE/yarafilter" "${filter[@]}" -drop "$work/slow.txt" -o "$work/fast-$n.yar" "$s"
	fast+=("$n:$work/fast-$n.yar")
done
echo "slow rules (yara's warnings): $(wc -l <"$work/slow.txt")"

# shellcheck disable=SC2086 # ROOTS is a list
printf '%s\n' $ROOTS >"$work/roots.list"
# shellcheck disable=SC2086
# (find fails on dangling links under the roots; the sum is still right.)
bytes=$({ find -L $ROOTS -type f -printf '%s\n' 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }')
printf 'roots: %s (%.1f MB); threads %s; %d run(s) each\n' "$ROOTS" "$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')" "$THREADS" "$RUNS"

# bench NAME CMD... runs CMD RUNS times; NAME.times gets "wall rss" lines.
bench() {
	local name=$1
	shift
	: >"$work/$name.times"
	for _ in $(seq "$RUNS"); do
		measure "$work/$name.out" "$@" >>"$work/$name.times"
	done
}
med() { cut -d' ' -f"$2" "$work/$1.times" | median; }
mb() { awk -v k="$1" 'BEGIN { printf "%d", k / 1024 }'; }

status=0
for v in $VARIANTS; do
	if [ "$v" = fast ]; then rules=("${fast[@]}"); else rules=("${all[@]}"); fi
	echo "== rules: $v ($(cat "${rules[@]#*:}" | grep -c '^ *\(private \|global \)*rule ') rules)"
	for tool in yara glassav; do
		cmd=(yara)
		[ $tool = glassav ] && cmd=("$CACHE/glassav" yara)
		bench "$v-$tool-compile" "${cmd[@]}" -w "${ext[@]}" "${rules[@]}" "$work/empty"
		bench "$v-$tool-scan" "${cmd[@]}" -w -r -p "$THREADS" "${ext[@]}" --scan-list "${rules[@]}" "$work/roots.list"
		sort "$work/$v-$tool-scan.out" >"$work/$v-$tool.matches"
		w=$(med "$v-$tool-scan" 1)
		printf '%-8s scan %8.2f s %8.1f MB/s  peak RSS %6d MB   compile %6.2f s  peak RSS %6d MB   matches %d\n' \
			"$tool" "$w" "$(awk -v b="$bytes" -v w="$w" 'BEGIN { if (w > 0) print b / 1e6 / w; else print 0 }')" \
			"$(mb "$(med "$v-$tool-scan" 2)")" "$(med "$v-$tool-compile" 1)" "$(mb "$(med "$v-$tool-compile" 2)")" \
			"$(wc -l <"$work/$v-$tool.matches")"
	done
	printf 'throughput glassav/yara: %sx   compile time glassav/yara: %s\n' \
		"$(ratio "$(med "$v-yara-scan" 1)" "$(med "$v-glassav-scan" 1)")" \
		"$(ratio "$(med "$v-glassav-compile" 1)" "$(med "$v-yara-compile" 1)")"
	if cmp -s "$work/$v-yara.matches" "$work/$v-glassav.matches"; then
		echo "matches: identical"
	else
		echo "matches: DIFFER (only yara: $(comm -23 "$work/$v-yara.matches" "$work/$v-glassav.matches" | wc -l), only glassav: $(comm -13 "$work/$v-yara.matches" "$work/$v-glassav.matches" | wc -l); see $work/$v-*.matches)"
		status=1
	fi
done
exit $status
