package filetype

import (
	"bytes"
	"fmt"
	"sort"
)

// Detector recognises file types from content. It is immutable once built
// and safe for concurrent use.
type Detector struct {
	literals []Magic // tried in order; the first match decides
	patterns []patternEntry
}

type patternEntry struct {
	Magic
	prefix []byte // literal start of the pattern, for a fast search
	fold   bool   // prefix is lower case and matches either case
}

// NewDetector returns a detector with glassav's built-in magic table.
func NewDetector() *Detector {
	d := &Detector{}
	d.literals = append(d.literals, builtinLiterals...)
	for _, m := range builtinPatterns {
		d.patterns = append(d.patterns, newPatternEntry(m))
	}
	return d
}

func newPatternEntry(m Magic) patternEntry {
	if m.Pattern == nil {
		return patternEntry{Magic: m, prefix: m.Bytes}
	}
	p, fold := prefix(m.Pattern)
	return patternEntry{Magic: m, prefix: p, fold: fold}
}

// WithMagic returns a new detector that tries entries (from .ftm databases)
// before d's own, as ClamAV lets a later database override the built-in
// table. Entries that CheckMagic rejects are left out; a loader that wants
// to report them calls CheckMagic itself.
func (d *Detector) WithMagic(entries []Magic) *Detector {
	var lits []Magic
	var pats []patternEntry
	for _, m := range entries {
		if CheckMagic(m) != nil {
			continue
		}
		if m.literal() {
			lits = append(lits, m)
		} else {
			pats = append(pats, newPatternEntry(m))
		}
	}
	return &Detector{
		literals: append(append(make([]Magic, 0, len(lits)+len(d.literals)), lits...), d.literals...),
		patterns: append(append(make([]patternEntry, 0, len(pats)+len(d.patterns)), pats...), d.patterns...),
	}
}

// CheckMagic reports why a detector would not use m: no result type, no
// magic, a bad offset, or a pattern nested too deeply to match safely.
func CheckMagic(m Magic) error {
	switch {
	case m.Result == None || m.Result >= numTypes:
		return fmt.Errorf("filetype: magic %q: no valid result type", m.Name)
	case m.Pattern == nil && len(m.Bytes) == 0:
		return fmt.Errorf("filetype: magic %q: no magic bytes", m.Name)
	case m.Offset < -1 || m.MaxShift < 0 || m.Offset > 1<<30 || m.MaxShift > 1<<30:
		return fmt.Errorf("filetype: magic %q: bad offset %d,%d", m.Name, m.Offset, m.MaxShift)
	case !depthOK(m.Pattern, maxPatternDepth):
		return fmt.Errorf("filetype: magic %q: pattern nested too deeply", m.Name)
	}
	return nil
}

// Detect returns the type of data, the way ClamAV 1.4 types an object
// before scanning it:
//
//  1. The first literal magic entry matching the first 1 KiB decides.
//  2. Otherwise the header is classified as text (ASCII, UTF-8, UTF-16) or
//     binary data (see classifyText), and binary data with a valid tar
//     header checksum is a tar archive.
//  3. A ZIP is refined into an OOXML type from its member names.
//  4. A text-range header is searched for the pattern entries (HTML tags,
//     embedded PE, SFX archive markers, mail headers...). Among matching
//     entries whose required type is the current one or any, a greater type
//     replaces a lesser one, while SFX-family types and MSEXE always
//     replace the current pick. UTF-16 HTML is recognised after folding the
//     header to bytes (CL_TYPE_HTML_UTF16) or decoding a byte-order mark
//     (CL_TYPE_HTML).
//
// ClamAV later re-types some objects while scanning them (HTML found past
// the first KiB of ASCII text: see HTMLInText); that is the engine's
// business.
func (d *Detector) Detect(data []byte) Type {
	h := data
	if len(h) > headerSize {
		h = h[:headerSize]
	}
	t := d.literal(h)
	switch {
	case t == None:
		t = classifyText(h)
		if t == BinaryData {
			switch tarKind(h) {
			case 1:
				return OldTar
			case 2:
				return PosixTar
			}
		}
	case t == ZIP && len(h) > 2*(zipLocalHeader+5):
		return ooxmlType(data)
	}
	if !t.textRange() {
		return t
	}
	if p := d.scan(h, t); p != None {
		return p
	}
	if f := utf16Fold(h); f != nil && d.scan(f, TextASCII) == HTML {
		return HTMLUTF16
	}
	if b := bomToASCII(h); b != nil && d.scan(b, None) == HTML {
		return HTML
	}
	return t
}

func (d *Detector) literal(h []byte) Type {
	for i := range d.literals {
		m := &d.literals[i]
		if m.Offset+int64(len(m.Bytes)) <= int64(len(h)) && bytes.Equal(h[m.Offset:m.Offset+int64(len(m.Bytes))], m.Bytes) {
			return m.Result
		}
	}
	return None
}

// maxHitsPerEntry bounds the occurrences of one pattern entry recorded in
// a header.
const maxHitsPerEntry = 64

type hit struct {
	end   int // where the match ends: ClamAV's matcher reports it there
	entry int
	t     Type
}

// HTMLInText reports whether ClamAV, scanning ASCII text of which the first
// KiB typed it as text, finds an HTML tag further on and re-types the object
// as HTML: its raw scan runs the file-type patterns over the whole object,
// and an HTML match there sends the object to the HTML scanner instead of
// the text normaliser (clamscan 1.4.6: "Matched signature for file type HTML
// data at 3705" on a text file, after which target-7 signatures no longer
// match). Only objects longer than the header need asking.
func (d *Detector) HTMLInText(data []byte) bool {
	if len(data) <= headerSize {
		return false
	}
	return d.scan(data, TextASCII) == HTML
}

// scan runs the pattern entries over h for an object currently typed cur and
// returns the type ClamAV's rule picks, or None. ClamAV walks the matches in
// the order its matcher reports them (by end offset) and, for each, takes
// its type if it is greater than the current pick, or in the SFX family,
// or MSEXE; CL_TYPE_IGNORED ends the walk at once. When the final pick is a
// self-extracting archive marker (ZIP, RAR, 7-Zip, CAB, ARJ, EGG SFX)
// clamscan 1.4 keeps the text type: those are embedded objects for the raw
// scan, not the object's type (checked against clamscan 1.4.6; NSIS and
// AutoIt markers do retype).
func (d *Detector) scan(h []byte, cur Type) Type {
	var hits []hit
	low := toLower(h) // for the case-insensitive prefixes
	for i := range d.patterns {
		p := &d.patterns[i]
		if p.Required != None && p.Required != Any && p.Required != cur {
			continue
		}
		p.each(h, low, func(end int) { hits = append(hits, hit{end: end, entry: i, t: p.Result}) })
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].end != hits[j].end {
			return hits[i].end < hits[j].end
		}
		return hits[i].entry < hits[j].entry
	})
	best := None
	for _, x := range hits {
		if x.t == Ignored {
			return Ignored
		}
		if x.t > best || x.t >= SFX || x.t == MSEXE {
			best = x.t
		}
	}
	switch best {
	case SFX, ZIPSFX, RARSFX, SevenZipSFX, CABSFX, ARJSFX, EggSFX:
		return None
	}
	return best
}

// each calls f with the end of every match of the entry that starts where
// the entry allows in h (at most maxHitsPerEntry of them); low is h in
// lower case.
func (p *patternEntry) each(h, low []byte, f func(end int)) {
	lo, hi := 0, len(h)
	if p.Offset >= 0 {
		if p.Offset > int64(len(h)) {
			return
		}
		lo = int(p.Offset)
		if p.Offset+p.MaxShift < int64(hi) {
			hi = int(p.Offset + p.MaxShift)
		}
	}
	search := h
	if p.fold {
		search = low
	}
	m := &matcher{data: h}
	n := 0
	for s := lo; s <= hi && n < maxHitsPerEntry && m.steps <= maxPatternSteps; s++ {
		if len(p.prefix) > 0 {
			i := bytes.Index(search[s:], p.prefix)
			if i < 0 || s+i > hi {
				return
			}
			s += i
		}
		end := -1
		if p.Pattern == nil {
			end = s + len(p.prefix)
		} else {
			m.steps++ // every start costs, even one that fails at once
			end = m.matchEnd(p.Pattern, s)
		}
		if end >= 0 {
			f(end)
			n++
		}
	}
}
