package difftest

import (
	"bytes"
	"fmt"
	"strings"
)

// NDBLine formats an extended signature: Name:Target:Offset:Hex.
func NDBLine(name string, target int, offset, hexsig string) string {
	return fmt.Sprintf("%s:%d:%s:%s", name, target, offset, hexsig)
}

// staticIn cuts 8..24 static bytes starting in [lo, hi).
func (g *Gen) staticIn(data []byte, lo, hi int64) (Body, bool) {
	n := g.between(8, 24)
	s, ok := g.cut(data, n, lo, hi+int64(n))
	if !ok || s >= hi {
		return Body{}, false
	}
	return Body{hx(data[s : s+int64(n)]), s}, true
}

// OffsetFunc cuts a static pattern from f and returns it with the .ndb offset
// field that anchors it where it was cut.
type OffsetFunc func(g *Gen, f *File) (b Body, offset string, ok bool)

// AbsOffset anchors at an absolute file offset: "n".
func AbsOffset(g *Gen, f *File) (Body, string, bool) {
	b, ok := g.staticIn(f.Data, 0, f.Size())
	return b, fmt.Sprint(b.Start), ok
}

// ShiftOffset uses "n,maxshift" with the match inside the window.
func ShiftOffset(g *Gen, f *File) (Body, string, bool) {
	b, ok := g.staticIn(f.Data, 0, f.Size())
	k := int64(g.between(0, 64))
	n := max(0, b.Start-k)
	return b, fmt.Sprintf("%d,%d", n, b.Start-n+int64(g.between(0, 16))), ok
}

// EOFOffset uses "EOF-n".
func EOFOffset(g *Gen, f *File) (Body, string, bool) {
	b, ok := g.staticIn(f.Data, max(0, f.Size()-8192), f.Size())
	return b, fmt.Sprintf("EOF-%d", f.Size()-b.Start), ok
}

// EPOffset uses "EP+n" (pattern at or after the entry point) or "EP-n"
// (before it), sometimes with a max shift.
func EPOffset(g *Gen, f *File) (Body, string, bool) {
	e := f.Exe
	if e == nil || e.EP < 0 {
		return Body{}, "", false
	}
	var b Body
	var ok bool
	if g.r.IntN(2) == 0 {
		b, ok = g.staticIn(f.Data, e.EP, e.EP+4096)
	} else {
		b, ok = g.staticIn(f.Data, max(0, e.EP-4096), e.EP)
	}
	if !ok {
		return Body{}, "", false
	}
	off := epForm(b.Start - e.EP)
	if g.r.IntN(4) == 0 {
		k := int64(g.between(1, 32))
		off = epForm(b.Start-e.EP-k) + fmt.Sprintf(",%d", k+int64(g.between(0, 8)))
	}
	return b, off, true
}

func epForm(d int64) string {
	if d < 0 {
		return fmt.Sprintf("EP-%d", -d)
	}
	return fmt.Sprintf("EP+%d", d)
}

// pickSection returns the index of a random section holding at least 32
// bytes in the file, or -1.
func (g *Gen) pickSection(e *Exe) int {
	var idx []int
	for i, s := range e.Sections {
		if s.Size >= 32 && s.Off > 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return -1
	}
	return idx[g.r.IntN(len(idx))]
}

// SectionOffset uses "Sx+n": n bytes after the start of section x.
func SectionOffset(g *Gen, f *File) (Body, string, bool) {
	if f.Exe == nil {
		return Body{}, "", false
	}
	x := g.pickSection(f.Exe)
	if x < 0 {
		return Body{}, "", false
	}
	s := f.Exe.Sections[x]
	b, ok := g.staticIn(f.Data, s.Off, s.Off+min(s.Size-8, 8192))
	return b, fmt.Sprintf("S%d+%d", x, b.Start-s.Off), ok
}

// InSectionOffset uses "SEx": anywhere inside section x.
//
// One file is left out: on Go's debug/pe testdata gcc-amd64-mingw-exec
// (whose SizeOfHeaders is not aligned to its SectionAlignment, as clamscan
// --debug notes), clamscan 1.4.6 matches a static "SEx" signature only at
// the section's first byte, in every section, while a signature with a
// wildcard, or "Sx+n", or "SEx,n", matches anywhere as documented. The cause
// is inside clamscan's Boyer-Moore offset handling and was not reproduced.
func InSectionOffset(g *Gen, f *File) (Body, string, bool) {
	if f.Exe == nil || strings.HasSuffix(f.Path, "/gcc-amd64-mingw-exec") {
		return Body{}, "", false
	}
	x := g.pickSection(f.Exe)
	if x < 0 {
		return Body{}, "", false
	}
	s := f.Exe.Sections[x]
	n := g.between(8, 16)
	st, ok := g.cut(f.Data, n, s.Off, s.Off+s.Size)
	return Body{hx(f.Data[st : st+int64(n)]), st}, fmt.Sprintf("SE%d", x), ok
}

// LastSectionOffset uses "SL+n".
func LastSectionOffset(g *Gen, f *File) (Body, string, bool) {
	if f.Exe == nil || len(f.Exe.Sections) == 0 {
		return Body{}, "", false
	}
	s := f.Exe.Sections[len(f.Exe.Sections)-1]
	if s.Size < 16 {
		return Body{}, "", false
	}
	b, ok := g.staticIn(f.Data, s.Off, s.Off+min(s.Size-8, 8192))
	return b, fmt.Sprintf("SL+%d", b.Start-s.Off), ok
}

// ASCIIBody cuts text for target 7 (normalised ASCII): a run of letters,
// digits and single spaces, lower-cased as ClamAV's normaliser does, so it
// matches only after normalisation when the file has upper case there.
func ASCIIBody(g *Gen, data []byte) (Body, bool) {
	for range 200 {
		n := g.between(8, 32)
		if len(data) < n+1 {
			return Body{}, false
		}
		s := g.r.IntN(len(data) - n)
		w := data[s : s+n]
		if !varied(w) || bytes.Contains(w, []byte("  ")) || !isAlnum(w[0]) || !isAlnum(w[n-1]) {
			continue
		}
		good := true
		for _, c := range w {
			if !isAlnum(c) && c != ' ' && c != '_' && c != '.' {
				good = false
				break
			}
		}
		if good {
			return Body{hx([]byte(strings.ToLower(string(w)))), int64(s)}, true
		}
	}
	return Body{}, false
}
