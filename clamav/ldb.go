package clamav

import (
	"errors"
	"fmt"
	"strings"

	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/ir"
	"github.com/glassav/glassav/match"
)

// Limits of logical signatures (ClamAV's).
const (
	maxSubsigs       = 64
	maxIntermediates = 16
)

// tdb is a parsed target description block.
type tdb struct {
	target        int
	hasTarget     bool
	fileSize      ir.Range
	entryPoint    ir.Range
	numSections   ir.Range
	container     string
	intermediates []string
	// unsupported names a feature glassav cannot evaluate (icon groups,
	// handler types); the signature is then skipped with a warning.
	unsupported string
}

// parseTDB parses Key:Value,... ; skip is the reason a signature is left
// out silently (as clamscan does), or "".
func parseTDB(s string, flevel int) (t tdb, skip string, err error) {
	// Every attribute but Target needs "Engine:51-..." or higher first
	// (ClamAV 0.96 introduced them; older engines must not see them).
	engineMin, others := -1, false
	for i, a := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(a, ":")
		if !ok {
			return t, "", fmt.Errorf("attribute %q: want Key:Value", a)
		}
		switch k {
		case "Engine":
			if i != 0 {
				//lint:ignore ST1005 the message starts with the attribute name, as written in the signature
				return t, "", errors.New("Engine must be the first attribute")
			}
			r, err := parseRange(k, v)
			if err != nil {
				return t, "", err
			}
			if !r.Contains(int64(flevel)) {
				skip = skipFLevel
			}
			engineMin = int(r.Min)
		case "Target":
			if v == "" || !isNumber(v) {
				//lint:ignore ST1005 the message starts with the attribute name, as written in the signature
				return t, "", fmt.Errorf("Target %q: invalid number", v)
			}
			t.target, t.hasTarget = atoiSat(v), true
		case "FileSize", "EntryPoint", "NumberOfSections":
			others = true
			r, err := parseRange(k, v)
			if err != nil {
				return t, "", err
			}
			switch k {
			case "FileSize":
				t.fileSize = r
			case "EntryPoint":
				t.entryPoint = r
			default:
				t.numSections = r
			}
		case "Container":
			others = true
			if !isTypeName(v) {
				skip = skipAttribute
			}
			t.container = v
		case "Intermediates":
			others = true
			types := strings.Split(v, ">")
			if len(types) > maxIntermediates {
				//lint:ignore ST1005 the message starts with the attribute name, as written in the signature
				return t, "", fmt.Errorf("Intermediates: more than %d types", maxIntermediates)
			}
			for _, ty := range types {
				if !isTypeName(ty) {
					skip = skipAttribute
				}
			}
			t.intermediates = types
		case "IconGroup1", "IconGroup2":
			others = true
			t.unsupported = "icon groups (" + k + ")"
		case "HandlerType":
			others = true
			if !isTypeName(v) {
				skip = skipAttribute
			}
			t.unsupported = "HandlerType"
		default:
			skip = skipAttribute
		}
	}
	if others && engineMin < 51 && skip == "" {
		return t, "", errors.New("attributes other than Target need Engine:51-... (or higher) first")
	}
	if !t.hasTarget && skip == "" {
		return t, "", errors.New("no Target in the target description block")
	}
	if t.target > maxTarget && skip == "" {
		skip = skipTarget
	}
	return t, skip, nil
}

// isTypeName reports whether ClamAV 1.4's signature loader knows the file
// type name s; a signature naming another is skipped (clamscan skips it
// silently). Checked for every name by TestTypeNamesClamscan.
func isTypeName(s string) bool {
	_, ok := filetype.ByName(s)
	return ok && !notInLoader[s]
}

// notInLoader are type names package filetype knows that clamscan 1.4
// does not accept in signatures: internal ones and types added later.
var notInLoader = map[string]bool{
	"CL_TYPE_ERROR": true, "CL_TYPE_OTHER": true,
	"CL_TYPE_AI_MODEL": true, "CL_TYPE_ZSTD": true,
}

// parseRange parses "min-max".
func parseRange(k, v string) (ir.Range, error) {
	a, b, ok := strings.Cut(v, "-")
	if !ok || a == "" || b == "" || !isNumber(a) || !isNumber(b) {
		return ir.Range{}, fmt.Errorf("%s %q: want min-max", k, v)
	}
	lo, hi := atoiSat(a), atoiSat(b)
	if lo > hi {
		return ir.Range{}, fmt.Errorf("%s %q: min above max", k, v)
	}
	return ir.Range{Set: true, Min: int64(lo), Max: int64(hi)}, nil
}

// ldbLine parses Name;TDB;Expr;Subsig0;...
func (l *loader) ldbLine(n int, line string) error {
	if line == "" {
		return errEmptyLine
	}
	f := strings.Split(line, ";")
	if len(f) < 4 {
		return errors.New("want Name;TargetDescription;LogicalExpression;Subsig0[;Subsig1...]")
	}
	if len(f) > 3+maxSubsigs {
		return fmt.Errorf("more than %d subsignatures", maxSubsigs)
	}
	name := f[0]
	if name == "" {
		return errors.New("empty signature name")
	}
	if l.ignored(name, line) {
		l.set.Skip(skipIgnored, 1)
		return nil
	}
	t, skip, err := parseTDB(f[1], l.opt.flevel())
	if err != nil {
		return fmt.Errorf("signature %s: %w", name, err)
	}
	if skip != "" {
		l.set.Skip(skip, 1)
		return nil
	}
	cond, err := parseLogic(f[2])
	if err != nil {
		return fmt.Errorf("signature %s: %w", name, err)
	}
	subs := f[3:]
	if m := cond.MaxSub(); m+1 != len(subs) {
		return fmt.Errorf("signature %s: the logical expression uses subsignatures 0..%d, the line has %d", name, m, len(subs))
	}
	var pats []ir.Pattern
	unsupported := t.unsupported
	for i, s := range subs {
		p, why, err := parseSubsig(s, t.target)
		if err != nil {
			return fmt.Errorf("signature %s: subsignature %d: %w", name, i, err)
		}
		if why != "" {
			if unsupported == "" {
				unsupported = why
			}
			continue
		}
		pats = append(pats, p)
	}
	l.set.Signatures++
	if unsupported != "" {
		l.warn(n, "signature %s skipped: %s: %s", name, skipUnsupported, unsupported)
		l.set.Skip(skipUnsupported, 1)
		return nil
	}
	r := ir.Rule{
		Name:          l.opt.name(name),
		Source:        l.src(n),
		Official:      l.opt.Official,
		PUA:           l.pua,
		Target:        ir.Target(t.target),
		FileSize:      t.fileSize,
		EntryPoint:    t.entryPoint,
		NumSections:   t.numSections,
		Container:     t.container,
		Intermediates: t.intermediates,
		Cond:          cond,
	}
	for _, p := range pats {
		r.Subs = append(r.Subs, l.set.AddPattern(p))
	}
	l.set.Rules = append(l.set.Rules, r)
	return nil
}

// parseSubsig parses one subsignature, [Offset:]HexSig[::Modifiers]. why
// is set (and the pattern empty) for forms glassav does not support: PCRE,
// byte compare, image fuzzy hash and macros.
func parseSubsig(s string, target int) (p ir.Pattern, why string, err error) {
	switch {
	case s == "":
		return p, "", errors.New("empty subsignature")
	case strings.HasPrefix(s, "fuzzy_img#"):
		return p, "image fuzzy hash", nil
	case strings.HasPrefix(s, "${"):
		return p, "macro subsignature", nil
	case isByteCompare(s):
		return p, "byte compare", nil
	case strings.Contains(s, "/"):
		return p, "PCRE", nil
	}
	hex, mods, _ := strings.Cut(s, "::")
	off := "*"
	if o, h, ok := strings.Cut(hex, ":"); ok {
		off, hex = o, h
	}
	oi, err := parseOffset(off, target)
	if err != nil {
		return p, "", err
	}
	if oi.macro != 0 {
		return p, "", errors.New("macro offsets are only valid in .ndb")
	}
	node, err := parseModified(hex, mods, hasPrefilter(target))
	if errors.Is(err, ErrUnsupported) {
		return p, err.Error(), nil
	}
	if err != nil {
		return p, "", err
	}
	return ir.Pattern{Node: node, Offset: oi.off}, "", nil
}

// isByteCompare recognises ClamAV's byte-compare subsignatures,
// Trigger(>>Offset#Opts#Cmp), the way its loader does.
func isByteCompare(s string) bool {
	open := strings.IndexByte(s, '(')
	first, last := strings.IndexByte(s, '#'), strings.LastIndexByte(s, '#')
	if open < 0 || first < 0 || first == last {
		return false
	}
	rest := s[open+1:]
	return strings.HasPrefix(rest, "#") || strings.HasPrefix(rest, ">>") ||
		strings.HasPrefix(rest, "<<") || strings.HasPrefix(rest, "0#")
}

// parseModified applies the ::i ::w ::f ::a modifiers the way ClamAV does
// (fullword wraps the text in (W), wide interleaves NULs into the text) and
// parses the result; with both w and a the pattern matches either form.
func parseModified(hex, mods string, prefilter bool) (*match.Node, error) {
	var nocase, wide, full, ascii bool
	for i := 0; i < len(mods); i++ {
		switch mods[i] {
		case 'i':
			nocase = true
		case 'w':
			wide = true
		case 'f':
			full = true
		case 'a':
			ascii = true
		default:
			return nil, fmt.Errorf("invalid modifier %q", mods[i])
		}
	}
	o := hexOpts{nocase: nocase, modified: mods != "", prefilter: prefilter}
	if full {
		hex = "(W)" + strings.NewReplacer("[", "{", "]", "}").Replace(hex) + "(W)"
	}
	if !wide {
		return parseHex(hex, o)
	}
	w, err := widen(hex)
	if err != nil {
		return nil, err
	}
	wn, err := parseHex(w, o)
	if err != nil {
		return nil, err
	}
	if !ascii {
		return wn, nil
	}
	an, err := parseHex(hex, o)
	if err != nil {
		return nil, err
	}
	return match.Alt(wn, an), nil
}

// widen rewrites a body signature for the ::w modifier as ClamAV does:
// every byte is followed by 00, [n-m] becomes {n-m}, gaps are kept.
func widen(h string) (string, error) {
	if len(h) > maxHexText {
		return "", fmt.Errorf("body signature longer than %d characters", maxHexText)
	}
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		switch c := h[i]; c {
		case '*', '|', ')':
			b.WriteByte(c)
		case '[', '{':
			end := byte(']')
			if c == '{' {
				end = '}'
			}
			b.WriteByte('{')
			for i++; i < len(h) && h[i] != end; i++ {
				b.WriteByte(h[i])
			}
			b.WriteByte('}')
		case '!', '(':
			if c == '!' {
				b.WriteByte(c)
				i++
				if i >= len(h) {
					return "", errors.New("'!' at end of signature")
				}
			}
			b.WriteByte(h[i])
			if i+1 < len(h) && (h[i+1] == 'B' || h[i+1] == 'L' || h[i+1] == 'W') {
				if i+2 >= len(h) || h[i+2] != ')' {
					return "", errors.New("invalid (B)/(L)/(W)")
				}
				b.WriteByte(h[i+1])
				b.WriteByte(')')
				i += 2
			}
		default:
			if i+1 >= len(h) {
				return "", fmt.Errorf("odd number of hex digits in %q", h)
			}
			b.WriteByte(c)
			b.WriteByte(h[i+1])
			b.WriteString("00")
			i++
		}
	}
	return b.String(), nil
}
