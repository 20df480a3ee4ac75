#!/usr/bin/env bash
# The YARA differential tests against yara 4.2.3 in full: generated rules
# over a large sample of real files, every shared rule set (filtered to
# rules that need no binary-format module) compiled and scanned over every
# file of the roots, -s output compared on a sample, and the .yar database
# comparison with clamscan. CI runs the same tests on small samples.
#
#   bash bench/yara-diff.sh                   # /usr/bin, /usr/lib/x86_64-linux-gnu, /usr/local/go
#   GEN_FILES=100 SCAN_FILES=500 bash bench/yara-diff.sh
#   DIFFTEST_SEED=7 bash bench/yara-diff.sh   # another sample
set -euo pipefail
. "$(dirname "$0")/lib.sh"

export DIFFTEST_YARA_FILES=${GEN_FILES:-400}
export DIFFTEST_YARA_SCAN_FILES=${SCAN_FILES:-1000000}
export DIFFTEST_YARA_ROOTS=${ROOTS:-/usr/bin /usr/lib/x86_64-linux-gnu /usr/local/go}
cd "$ROOT"
exec go test ./difftest -run 'YARA' -count=1 -timeout 6h -v
