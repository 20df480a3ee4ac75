#!/usr/bin/env bash
# Container throughput: glassav scan beside clamscan, in one run, on
#   - a zip of FILES real binaries (default 1,000, about SIZE_MB = 500 MB,
#     from /usr/bin and /usr/lib/x86_64-linux-gnu, 64 KiB–8 MiB each), and
#   - a large OOXML document (a .docx of OOXML_MB ≈ 100 MB: text parts and
#     embedded binaries, written with Python's zipfile),
# with the same signatures (Linux Malware Detect's rfxn.ndb + rfxn.hdb from
# ../shared when present, else one body signature of clam.exe) and limits
# raised so both open everything: --max-filesize=2000M --max-scansize=4000M.
# Prints medians of RUNS runs (wall, peak RSS), the clamscan/glassav wall
# ratio and whether the verdicts agree.
#
#   bash bench/containers.sh                        # RUNS=3, FILES=1000
#   RUNS=1 FILES=40 SIZE_MB=20 OOXML_MB=10 bash bench/containers.sh   # a quick proof
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FILES=${FILES:-1000}
SIZE_MB=${SIZE_MB:-500}
OOXML_MB=${OOXML_MB:-100}
work=$CACHE/containers-$FILES-$SIZE_MB-$OOXML_MB
mkdir -p "$work"

command -v clamscan >/dev/null || { echo "clamscan not installed (apt-get install clamav)" >&2; exit 1; }
command -v zip >/dev/null || { echo "zip not installed (apt-get install zip)" >&2; exit 1; }
build_glassav || { echo "glassav does not build" >&2; exit 1; }

# The signatures.
LMD=$SHARED/testdata/clamav/rfxn-lmd
db=()
if [ -f "$LMD/rfxn.ndb" ] && [ -f "$LMD/rfxn.hdb" ]; then
	db=(-d "$LMD/rfxn.ndb" -d "$LMD/rfxn.hdb")
	echo "signatures: $LMD/rfxn.ndb + rfxn.hdb"
elif [ -f /usr/share/clamav-testfiles/clam.exe ]; then
	printf 'Clam.Body:0:*:%s\n' "$(od -An -tx1 -j64 -N55 /usr/share/clamav-testfiles/clam.exe | tr -d ' \n')" >"$work/clam.ndb"
	db=(-d "$work/clam.ndb")
	echo "signatures: one body signature of clam.exe"
else
	echo "need $LMD or clamav-testfiles for signatures" >&2
	exit 1
fi

# The zip of binaries: the first FILES regular files in the size band, in
# name order, while the total stays under SIZE_MB.
if [ ! -f "$work/binaries.zip" ]; then
	find -L /usr/bin /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -size +64k -size -8M -printf '%s %p\n' 2>/dev/null |
		sort -k2 | awk -v max="$SIZE_MB" -v n="$FILES" '
			{ if (c < n && t + $1 <= max * 1e6) { t += $1; c++; print $2 } }' >"$work/binaries.list" || true
	zip -q -j -@ "$work/binaries.zip" <"$work/binaries.list" 2>/dev/null || true
fi
# The OOXML document: word/document.xml of generated paragraphs and
# word/media/ holding binaries, as a word processor lays them out.
if [ ! -f "$work/large.docx" ]; then
	python3 - "$work/large.docx" "$OOXML_MB" "$work/binaries.list" <<'PY'
import sys, zipfile
out, mb, listing = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
      '<Default Extension="bin" ContentType="application/octet-stream"/>'
      '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('[Content_Types].xml', ct)
    z.writestr('_rels/.rels', rels)
    para = '<w:p><w:r><w:t>Paragraph %d of a long report on the quarterly figures, with enough words to look like prose.</w:t></w:r></w:p>'
    # Half the size in text (about 120 bytes a paragraph), half in media.
    body = ''.join(para % i for i in range(mb * 4200))
    z.writestr('word/document.xml', '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>' + body + '</w:body></w:document>')
    budget = mb * 1e6 / 2
    for i, path in enumerate(open(listing).read().split()):
        if budget <= 0:
            break
        data = open(path, 'rb').read()
        budget -= len(data)
        z.writestr('word/media/object%d.bin' % i, data)
PY
fi
for f in binaries.zip large.docx; do
	printf '%-13s %8.1f MB compressed\n' "$f" "$(awk -v b="$(stat -c %s "$work/$f")" 'BEGIN { print b / 1e6 }')"
done
echo "members of binaries.zip: $(wc -l <"$work/binaries.list"); cores: $(nproc); $RUNS run(s) each"

limits=(--max-filesize=2000M --max-scansize=4000M --max-files=100000)
status=0
for f in binaries.zip large.docx; do
	for tool in clamscan glassav; do
		cmd=(clamscan)
		[ $tool = glassav ] && cmd=("$CACHE/glassav" scan)
		: >"$work/$f-$tool.times"
		for _ in $(seq "$RUNS"); do
			measure "$work/$f-$tool.out" "${cmd[@]}" "${db[@]}" "${limits[@]}" "$work/$f" >>"$work/$f-$tool.times"
		done
	done
	cw=$(cut -d' ' -f1 "$work/$f-clamscan.times" | median)
	gw=$(cut -d' ' -f1 "$work/$f-glassav.times" | median)
	cr=$(cut -d' ' -f2 "$work/$f-clamscan.times" | median)
	gr=$(cut -d' ' -f2 "$work/$f-glassav.times" | median)
	cv=$(head -1 "$work/$f-clamscan.out")
	gv=$(head -1 "$work/$f-glassav.out")
	cs=$(sed -n 's/^Data scanned: //p' "$work/$f-clamscan.out")
	gs=$(sed -n 's/^Data scanned: //p' "$work/$f-glassav.out")
	printf '%-13s clamscan %8.2f s %6.0f MB RSS (scanned %s) | glassav %8.2f s %6.0f MB RSS (scanned %s) | wall ratio %s\n' \
		"$f" "$cw" "$(awk -v k="$cr" 'BEGIN { print k / 1024 }')" "$cs" "$gw" "$(awk -v k="$gr" 'BEGIN { print k / 1024 }')" "$gs" "$(ratio "$cw" "$gw")"
	if [ "$cv" != "$gv" ]; then
		echo "  verdicts differ: clamscan \"$cv\", glassav \"$gv\""
		status=1
	fi
done
exit $status
