package clamav

import (
	"errors"
	"fmt"
	"strings"

	"github.com/glassav/glassav/ir"
)

// maxTarget is the highest ClamAV target type; signatures for higher ones
// are skipped without error, as clamscan does.
const maxTarget = 14

// Skip reasons recorded in ir.Set.Skipped.
const (
	skipFLevel      = "functionality level"
	skipTarget      = "target type above 14"
	skipAttribute   = "unknown logical signature attribute"
	skipUnsupported = "unsupported subsignature type"
	skipFeature     = "unsupported signature feature"
	skipFormat      = "unsupported database format"
	skipIgnored     = "ignored (.ign/.ign2)"
)

// loader holds what every line of one database file shares.
type loader struct {
	set  *ir.Set
	file string // Source.File
	opt  Options
	pua  bool
}

func (l *loader) src(line int) ir.Source { return ir.Source{File: l.file, Line: line} }

// ignored reports whether an .ign/.ign2 entry loaded earlier drops the
// signature name on this database line. Like clamscan, the loader leaves
// such signatures out (and does not count them); set.Ignored also goes to
// the engine for signatures loaded before the ignore list.
func (l *loader) ignored(name, line string) bool {
	return ignoredHash(l.set, []byte(name), []byte(line))
}

// warn records one warning line.
func (l *loader) warn(line int, format string, args ...any) {
	l.set.Warnings = append(l.set.Warnings, fmt.Sprintf("%s:%d: ", l.file, line)+fmt.Sprintf(format, args...))
}

// flSkip reports whether a MinFL/MaxFL pair (as written; "" is 0) keeps a
// line out at this functionality level, or an error if not numbers.
func flSkip(fields []string, flevel int) (bool, error) {
	if len(fields) > 0 {
		if !isNumber(fields[0]) {
			return false, fmt.Errorf("minimum functionality level %q: invalid number", fields[0])
		}
		if atoiSat(fields[0]) > flevel {
			return true, nil
		}
	}
	if len(fields) > 1 {
		if !isNumber(fields[1]) {
			return false, fmt.Errorf("maximum functionality level %q: invalid number", fields[1])
		}
		if atoiSat(fields[1]) < flevel {
			return true, nil
		}
	}
	return false, nil
}

// ndbLine parses Name:Target:Offset:Hex[:MinFL[:MaxFL]].
func (l *loader) ndbLine(n int, line string) error {
	if line == "" {
		return errEmptyLine
	}
	f := strings.Split(line, ":")
	if len(f) < 4 || len(f) > 6 {
		return fmt.Errorf("want Name:Target:Offset:HexSig[:MinFL[:MaxFL]], got %d fields", len(f))
	}
	name, tstr, off, hex := f[0], f[1], f[2], f[3]
	if name == "" {
		return errors.New("empty signature name")
	}
	if l.ignored(name, line) {
		l.set.Skip(skipIgnored, 1)
		return nil
	}
	skip, err := flSkip(f[4:], l.opt.flevel())
	if err != nil {
		return err
	}
	if skip {
		l.set.Skip(skipFLevel, 1)
		return nil
	}
	target := 0
	if tstr != "*" {
		if tstr == "" || !isNumber(tstr) {
			return fmt.Errorf("target %q: invalid number", tstr)
		}
		target = atoiSat(tstr)
	}
	if target > maxTarget {
		l.set.Skip(skipTarget, 1)
		return nil
	}
	oi, err := parseOffset(off, target)
	if err != nil {
		return err
	}
	if strings.Contains(hex, "/") {
		return errors.New("regular expressions are only valid in logical signatures")
	}
	bm := oi.off.Anchor != ir.AnchorVersionInfo && oi.macro == 0 &&
		(target == 0 || (target == 1 && off != "*" && !strings.Contains(off, ",")))
	node, err := parseHex(hex, hexOpts{bm: bm, prefilter: hasPrefilter(target)})
	if errors.Is(err, ErrUnsupported) {
		l.warn(n, "signature %s skipped: %v", name, err)
		l.set.Skip(skipFeature, 1)
		l.set.Signatures++
		return nil
	}
	if err != nil {
		return fmt.Errorf("signature %s: %w", name, err)
	}
	p := l.set.AddPattern(ir.Pattern{Node: node, Offset: oi.off, Macro: oi.macro})
	l.set.Signatures++
	if oi.macro != 0 {
		// A macro-group member only serves logical signatures' ${n-m}g$
		// subsignatures; it is no detection of its own.
		return nil
	}
	l.set.Rules = append(l.set.Rules, ir.Rule{
		Name:     l.opt.name(name),
		Source:   l.src(n),
		Official: l.opt.Official,
		PUA:      l.pua,
		Target:   ir.Target(target),
		Subs:     []int{p},
	})
	return nil
}

// dbLine parses the legacy Name=HexSig form.
func (l *loader) dbLine(n int, line string) error {
	if line == "" {
		return errEmptyLine
	}
	name, hex, ok := strings.Cut(line, "=")
	if !ok {
		return errors.New("want Name=HexSig")
	}
	if strings.HasPrefix(hex, "=") {
		return nil // ClamAV ignores "Name==..." lines
	}
	if name == "" {
		return errors.New("empty signature name")
	}
	if l.ignored(name, line) {
		l.set.Skip(skipIgnored, 1)
		return nil
	}
	node, err := parseHex(hex, hexOpts{bm: true, prefilter: true})
	if errors.Is(err, ErrUnsupported) {
		l.warn(n, "signature %s skipped: %v", name, err)
		l.set.Skip(skipFeature, 1)
		l.set.Signatures++
		return nil
	}
	if err != nil {
		return fmt.Errorf("signature %s: %w", name, err)
	}
	p := l.set.AddPattern(ir.Pattern{Node: node})
	l.set.Signatures++
	l.set.Rules = append(l.set.Rules, ir.Rule{
		Name:     l.opt.name(name),
		Source:   l.src(n),
		Official: l.opt.Official,
		PUA:      l.pua,
		Subs:     []int{p},
	})
	return nil
}
