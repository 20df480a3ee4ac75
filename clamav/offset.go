package clamav

import (
	"fmt"
	"strings"

	"github.com/glassav/glassav/ir"
)

// maxOffset bounds offsets and shifts; ClamAV stores them in 32 bits.
const maxOffset = 1<<32 - 1

// execTarget reports whether target has an entry point and sections (PE,
// ELF, Mach-O): only those accept EP, Sx, SEx and SL offsets.
func execTarget(t int) bool { return t == 1 || t == 6 || t == 9 }

// offsetInfo is a parsed offset: where a pattern may match, and the macro
// group for $n$ offsets.
type offsetInfo struct {
	off   ir.Offset
	macro int
}

// parseOffset parses an .ndb/.ldb offset (ClamAV's cli_caloff syntax) for a
// signature of the given target type.
func parseOffset(s string, target int) (offsetInfo, error) {
	var oi offsetInfo
	bad := func(reason string) (offsetInfo, error) {
		return offsetInfo{}, fmt.Errorf("offset %q: %s", s, reason)
	}
	if s == "*" {
		return oi, nil
	}
	if strings.HasPrefix(s, "$") {
		if len(s) < 3 || !strings.HasSuffix(s, "$") || !isNumber(s[1:len(s)-1]) {
			return bad("invalid macro group")
		}
		n := atoiSat(s[1 : len(s)-1])
		if n >= 32 {
			return bad("macro group must be below 32")
		}
		oi.macro = n
		return oi, nil
	}
	if s == "VI" {
		if !execTarget(target) {
			return bad(fmt.Sprintf("VI offsets need target 1, 6 or 9, not %d", target))
		}
		oi.off.Anchor = ir.AnchorVersionInfo
		return oi, nil
	}
	base, shift, hasShift := strings.Cut(s, ",")
	if hasShift {
		if shift == "" || !isNumber(shift) || atoiSat(shift) > maxOffset {
			return bad("invalid number")
		}
		oi.off.Shift = int64(atoiSat(shift))
	}
	num := func(v string) (int64, bool) {
		if v == "" || !isNumber(v) || atoiSat(v) > maxOffset {
			return 0, false
		}
		return int64(atoiSat(v)), true
	}
	o := &oi.off
	switch {
	case strings.HasPrefix(base, "EOF-"):
		n, ok := num(base[4:])
		if !ok {
			return bad("invalid number")
		}
		o.Anchor, o.N = ir.AnchorEOF, n
	case strings.HasPrefix(base, "EP+"), strings.HasPrefix(base, "EP-"):
		if !execTarget(target) {
			return bad(fmt.Sprintf("EP offsets need target 1, 6 or 9, not %d", target))
		}
		n, ok := num(base[3:])
		if !ok {
			return bad("invalid number")
		}
		if base[2] == '-' {
			n = -n
		}
		o.Anchor, o.N = ir.AnchorEntryPoint, n
	case strings.HasPrefix(base, "SL+"):
		if !execTarget(target) {
			return bad(fmt.Sprintf("SL offsets need target 1, 6 or 9, not %d", target))
		}
		n, ok := num(base[3:])
		if !ok {
			return bad("invalid number")
		}
		o.Anchor, o.N = ir.AnchorLastSection, n
	case strings.HasPrefix(base, "SE"):
		if !execTarget(target) {
			return bad(fmt.Sprintf("SE offsets need target 1, 6 or 9, not %d", target))
		}
		n, ok := num(base[2:])
		if !ok {
			return bad("invalid section number")
		}
		o.Anchor, o.Section = ir.AnchorInSection, int(n)
	case strings.HasPrefix(base, "S"):
		if !execTarget(target) {
			return bad(fmt.Sprintf("S offsets need target 1, 6 or 9, not %d", target))
		}
		sec, add, ok := strings.Cut(base[1:], "+")
		if !ok {
			return bad("want Sx+n")
		}
		x, ok1 := num(sec)
		n, ok2 := num(add)
		if !ok1 || !ok2 {
			return bad("invalid number")
		}
		o.Anchor, o.Section, o.N = ir.AnchorSection, int(x), n
	default:
		n, ok := num(base)
		if !ok {
			return bad("invalid number")
		}
		o.Anchor, o.N = ir.AnchorStart, n
	}
	return oi, nil
}
