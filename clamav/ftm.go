package clamav

import (
	"errors"
	"fmt"
	"strings"

	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/ir"
)

// ftm loads a file-type magic database,
// magictype:offset:magic:name:rtype:type[:minfl[:maxfl]], into
// set.FileTypes. Magic type 0 is literal bytes at an offset, 1 a body
// signature (offset * or n[,shift]), 4 a partition-table type (accepted,
// not used). As in ClamAV, a database that yields no entry fails to load.
func (l *loader) ftm(data []byte) error {
	entries := 0
	err := eachLine(data, func(n int, line string) error {
		if line == "" {
			return errEmptyLine
		}
		f := strings.Split(line, ":")
		if len(f) < 6 || len(f) > 8 {
			return fmt.Errorf("want magictype:offset:magic:name:rtype:type[:minfl[:maxfl]], got %d fields", len(f))
		}
		skip, err := flSkip(f[6:], l.opt.flevel())
		if err != nil {
			return err
		}
		if skip {
			l.set.Skip(skipFLevel, 1)
			return nil
		}
		var types [2]filetype.Type
		for i, name := range f[4:6] {
			t, ok := filetype.ByName(name)
			if !ok || notInLoader[name] {
				return fmt.Errorf("unknown file type %q", name)
			}
			types[i] = t
		}
		m := filetype.Magic{Name: f[3], Required: types[0], Result: types[1]}
		switch f[0] {
		case "0", "4":
			if f[1] == "" || !isNumber(f[1]) || atoiSat(f[1]) > maxOffset {
				return fmt.Errorf("offset %q: invalid number", f[1])
			}
			b, err := decodeStatic(f[2])
			if err != nil {
				return err
			}
			if len(b) == 0 {
				return errors.New("empty magic")
			}
			entries++
			if f[0] == "4" {
				l.set.Skip("partition type magic", 1)
				return nil
			}
			m.Offset, m.Bytes = int64(atoiSat(f[1])), b
		case "1":
			oi, err := parseOffset(f[1], 0)
			if err != nil {
				return err
			}
			node, err := parseHex(f[2], hexOpts{prefilter: true})
			if errors.Is(err, ErrUnsupported) {
				entries++
				l.warn(n, "file type %s skipped: %v", f[3], err)
				l.set.Skip(skipFeature, 1)
				return nil
			}
			if err != nil {
				return err
			}
			entries++
			switch oi.off.Anchor {
			case ir.AnchorAny:
				m.Offset = -1
			case ir.AnchorStart:
				m.Offset, m.MaxShift = oi.off.N, oi.off.Shift
			default:
				l.warn(n, "file type %s skipped: offset %q not supported for magic", f[3], f[1])
				l.set.Skip(skipFeature, 1)
				return nil
			}
			m.Pattern = node
		default:
			return nil // ClamAV ignores other magic types
		}
		if err := filetype.CheckMagic(m); err != nil {
			l.warn(n, "file type %s skipped: %v", f[3], err)
			l.set.Skip(skipFeature, 1)
			return nil
		}
		l.set.FileTypes = append(l.set.FileTypes, m)
		return nil
	})
	if err == nil && entries == 0 {
		err = errors.New("no file type entries (ClamAV: empty external filetype database)")
	}
	return err
}
