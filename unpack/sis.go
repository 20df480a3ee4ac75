package unpack

import (
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"

	"github.com/glassav/glassav/filetype"
)

// sisFormat opens Symbian installation packages (SIS) as ClamAV's sis
// scanner does. Files start with four 32-bit UIDs; the third is
// 0x10000419 in the original (EPOC) format, which filetype reports as
// SIS, and the first is 0x10201A7A in the Symbian OS 9 format.
//
// The original format has a fixed header after the UIDs (counts of
// languages and file records, flags whose bit 3 says the files are not
// zlib-compressed, pointers to the tables) and a list of records: files
// — a type, the source and destination names as UTF-16 (length, pointer),
// then per language the data's length, pointer and uncompressed length —
// and conditions or options, which are skipped. Each file's data is one
// member, named by its source name. A simple file record holds one
// version of the data, a language file record one per language; ClamAV
// reads one per language from both and skips language file records,
// which agrees with this on single-language packages, the common case.
//
// The version 9 format is a tree of fields (type, length, data padded to
// four bytes): Contents holds Data, an array of DataUnits, each an array
// of FileData, each a Compressed field (algorithm 0 stored, 1 zlib; the
// uncompressed size) — one member each, named sis9xNN as ClamAV names
// them. clamscan 1.4 has no file type for version 9 packages and never
// opens them; glassav recognises them by their first UID (Magic).
func sisFormat() *Format {
	return &Format{
		Name:   "sis",
		Types:  []filetype.Type{filetype.SIS},
		Magic:  []string{sis9UID},
		Unpack: unpackSIS,
	}
}

const (
	sisOldUID = 0x10000419 // the third UID of an original package
	sis9UID   = "\x7a\x1a\x20\x10"

	sisUIDs   = 16
	sisHeader = sisUIDs + 68 // the UIDs and the fixed header
	// sisMaxLangs is one more than the largest language code ClamAV
	// knows; it refuses packages claiming more languages.
	sisMaxLangs = 100
	// sisMaxName bounds a name read from the package, in bytes.
	sisMaxName = 400
)

// Record types of the original format.
const (
	sisRecFile = iota
	sisRecLangFile
	sisRecOption
	sisRecIf
	sisRecElseIf
	sisRecElse
	sisRecEndIf
)

// sisFileNull is the file type of a record without data.
const sisFileNull = 4

func unpackSIS(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	if len(data) < sisUIDs {
		return Corrupt("sis", 0, "%d bytes, no room for the UIDs", len(data))
	}
	le := binary.LittleEndian
	switch {
	case le.Uint32(data[8:]) == sisOldUID:
		return unpackSISOld(ctx, data, b, emit)
	case string(data[:4]) == sis9UID:
		return unpackSIS9(ctx, data, b, emit)
	}
	return Corrupt("sis", 0, "UIDs %#x %#x %#x match no SIS format", le.Uint32(data), le.Uint32(data[4:]), le.Uint32(data[8:]))
}

// sisCursor reads 32-bit words one after the other.
type sisCursor struct {
	data []byte
	pos  int64
}

func (c *sisCursor) word() (uint32, bool) {
	if c.pos < 0 || c.pos+4 > int64(len(c.data)) {
		return 0, false
	}
	v := binary.LittleEndian.Uint32(c.data[c.pos:])
	c.pos += 4
	return v, true
}

func unpackSISOld(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	if len(data) < sisHeader {
		return Corrupt("sis", sisUIDs, "header needs %d bytes, %d left", sisHeader, len(data))
	}
	le := binary.LittleEndian
	langs := int64(le.Uint16(data[18:]))
	files := int(le.Uint16(data[20:]))
	flags := le.Uint16(data[36:])
	plangs := int64(le.Uint32(data[48:]))
	pfiles := int64(le.Uint32(data[52:]))
	if langs == 0 || langs >= sisMaxLangs {
		return Corrupt("sis", 18, "%d languages", langs)
	}
	if plangs+2*langs > int64(len(data)) {
		return Corrupt("sis", 48, "language table at %d outside the file", plangs)
	}
	if pfiles < sisHeader {
		return Corrupt("sis", 52, "file records at %d, inside the header", pfiles)
	}
	compressed := flags&0x0008 == 0

	c := &sisCursor{data: data, pos: pfiles}
	var first error
	nth := 0
	for i := 0; i < files; i++ {
		if err := b.Check(ctx); err != nil {
			return err
		}
		at := c.pos
		rec, ok := c.word()
		if !ok {
			return firstErr(first, Corrupt("sis", at, "file record %d of %d truncated", i, files))
		}
		var skip int64
		switch rec {
		case sisRecFile, sisRecLangFile:
			n := int64(1)
			if rec == sisRecLangFile {
				n = langs
			}
			var merr, rerr error
			nth, merr, rerr = sisFileRecord(ctx, c, n, compressed, nth, b, emit)
			if rerr != nil {
				return firstErr(first, rerr)
			}
			if merr != nil {
				if !memberLimited(merr) && !isFormatError(merr) {
					return merr
				}
				keepFirst(&first, merr)
			}
			skip = 8 // the MIME type's length and pointer
		case sisRecOption:
			k, ok := c.word()
			if !ok {
				return firstErr(first, Corrupt("sis", at, "option record truncated"))
			}
			skip = int64(k) * langs * 8
		case sisRecIf, sisRecElseIf:
			k, ok := c.word()
			if !ok {
				return firstErr(first, Corrupt("sis", at, "condition record truncated"))
			}
			skip = int64(k)
		}
		c.pos += skip
	}
	return first
}

// sisFileRecord reads the rest of a file record whose data comes in n
// versions (one per language) and emits each; nth numbers the members
// for names. It returns the next number, the first error of a member
// (the others are still read, as ClamAV does) and an error that ends the
// records: the record itself is cut short.
func sisFileRecord(ctx context.Context, c *sisCursor, n int64, compressed bool, nth int, b *Budget, emit func(Member) error) (next int, merr, rerr error) {
	at := c.pos - 4
	var f [6]uint32 // file type, details, source name length and pointer, destination's
	for i := range f {
		v, ok := c.word()
		if !ok {
			return nth, nil, Corrupt("sis", at, "file record truncated")
		}
		f[i] = v
	}
	if c.pos+12*n > int64(len(c.data)) {
		return nth, nil, Corrupt("sis", at, "file record truncated")
	}
	le := binary.LittleEndian
	word := func(k, i int64) int64 { return int64(le.Uint32(c.data[c.pos+4*(k*n+i):])) }
	defer func() { c.pos += 12 * n }()
	if f[0] == sisFileNull {
		return nth, nil, nil
	}
	name := sisString(c.data, int64(f[3]), int64(f[2]))
	var first error
	for i := int64(0); i < n; i++ {
		size, ptr, orig := word(0, i), word(1, i), word(2, i)
		if size == 0 {
			continue
		}
		if ptr < sisHeader || ptr+size > int64(len(c.data)) {
			// ClamAV skips such a file silently and goes on.
			keepFirst(&first, Corrupt("sis", c.pos+4*(n+i), "file data of %d bytes at %d outside the file", size, ptr))
			continue
		}
		m := Member{Name: name, Offset: -1}
		if m.Name == "" {
			m.Name = fmt.Sprintf("sis%02d", nth)
		}
		nth++
		blk := c.data[ptr : ptr+size]
		var err error
		if compressed {
			err = emitZlib(ctx, b, blk, orig, m, ptr, emit)
		} else {
			m.Offset = ptr
			err = emitStored(b, blk, m, emit)
		}
		switch {
		case err == nil:
		case memberLimited(err), isFormatError(err):
			// ClamAV goes on with the next file.
			keepFirst(&first, err)
		default:
			return nth, err, nil
		}
	}
	return nth, first, nil
}

// emitZlib inflates a zlib stream stored at off and emits it.
func emitZlib(ctx context.Context, b *Budget, blk []byte, size int64, m Member, off int64, emit func(Member) error) error {
	zr, err := zlib.NewReader(bytesReader(blk))
	if err != nil {
		return Corrupt("sis", off, "%s: zlib: %v", m.Name, err)
	}
	defer zr.Close()
	return emitReadSized(ctx, b, zr, int64(len(blk)), size, m, "sis", off, emit)
}

// sisString decodes the UTF-16 string of size bytes at ptr (at most
// sisMaxName bytes), or returns "" when it lies outside data.
func sisString(data []byte, ptr, size int64) string {
	size = min(size, sisMaxName) &^ 1
	if size <= 0 || ptr < 0 || ptr+size > int64(len(data)) {
		return ""
	}
	u := make([]uint16, size/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(data[ptr+2*int64(i):])
	}
	return string(utf16.Decode(u))
}

func isFormatError(err error) bool {
	var fe *FormatError
	return errors.As(err, &fe)
}

// Field types of the version 9 format.
const (
	sis9Array      = 2
	sis9Compressed = 3
	sis9Contents   = 12
	sis9Data       = 30
	sis9DataUnit   = 31
	sis9FileData   = 32
)

// sis9Field is one field of a version 9 package.
type sis9Field struct {
	typ  uint32
	body []byte
	off  int64 // of the body in the file
}

// sis9Next reads the field at the start of d (at off in the file) and
// returns it and the rest of d after its padding. With typed false the
// field has no type word (an array's elements share the array's).
func sis9Next(d []byte, off int64, typed bool, typ uint32) (sis9Field, []byte, error) {
	le := binary.LittleEndian
	hdr := 4
	if typed {
		hdr = 8
	}
	if len(d) < hdr {
		return sis9Field{}, nil, Corrupt("sis", off, "field header truncated")
	}
	if typed {
		typ = le.Uint32(d)
	}
	size := int64(le.Uint32(d[hdr-4:]))
	if size&0x80000000 != 0 {
		// A 63-bit length: no field of a file in memory is that large.
		return sis9Field{}, nil, Corrupt("sis", off, "field of type %d with a 64-bit length", typ)
	}
	if size > int64(len(d)-hdr) {
		return sis9Field{}, nil, Corrupt("sis", off, "field of type %d and %d bytes runs past its container", typ, size)
	}
	f := sis9Field{typ: typ, body: d[hdr : int64(hdr)+size], off: off + int64(hdr)}
	next := min(int64(hdr)+(size+3)&^3, int64(len(d)))
	return f, d[next:], nil
}

// sis9Array returns the elements of an array field whose elements must
// be of type want.
func sis9Elements(f sis9Field, want uint32) ([]sis9Field, error) {
	if f.typ != sis9Array || len(f.body) < 4 {
		return nil, Corrupt("sis", f.off, "field of type %d, want an array", f.typ)
	}
	if t := binary.LittleEndian.Uint32(f.body); t != want {
		return nil, Corrupt("sis", f.off, "array of type %d, want %d", t, want)
	}
	var out []sis9Field
	rest, off := f.body[4:], f.off+4
	for len(rest) > 0 {
		e, r, err := sis9Next(rest, off, false, want)
		if err != nil {
			return out, err
		}
		off += int64(len(rest) - len(r))
		rest = r
		out = append(out, e)
	}
	return out, nil
}

// sis9Children returns the fields inside f.
func sis9Children(f sis9Field) ([]sis9Field, error) {
	var out []sis9Field
	rest, off := f.body, f.off
	for len(rest) > 0 {
		c, r, err := sis9Next(rest, off, true, 0)
		if err != nil {
			return out, err
		}
		off += int64(len(rest) - len(r))
		rest = r
		out = append(out, c)
	}
	return out, nil
}

func unpackSIS9(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	top, _, err := sis9Next(data[sisUIDs:], sisUIDs, true, 0)
	if err != nil {
		return err
	}
	if top.typ != sis9Contents {
		return Corrupt("sis", sisUIDs, "first field of type %d, want Contents", top.typ)
	}
	fields, ferr := sis9Children(top)
	var first error
	n := 0
	for _, f := range fields {
		if f.typ != sis9Data {
			continue // checksums, the controller
		}
		kids, err := sis9Children(f)
		if err != nil {
			keepFirst(&first, err)
		}
		if len(kids) == 0 {
			continue
		}
		units, err := sis9Elements(kids[0], sis9DataUnit)
		if err != nil {
			keepFirst(&first, err)
		}
		for _, u := range units {
			ukids, err := sis9Children(u)
			if err != nil {
				keepFirst(&first, err)
			}
			if len(ukids) == 0 {
				continue
			}
			files, err := sis9Elements(ukids[0], sis9FileData)
			if err != nil {
				keepFirst(&first, err)
			}
			for _, fd := range files {
				if err := b.Check(ctx); err != nil {
					return err
				}
				err := emitSIS9File(ctx, b, fd, fmt.Sprintf("sis9x%02d", n), emit)
				n++
				switch {
				case err == nil:
				case memberLimited(err), isFormatError(err):
					keepFirst(&first, err)
				default:
					return err
				}
			}
		}
	}
	return firstErr(first, ferr)
}

// emitSIS9File emits the content of one FileData field: a Compressed
// field holding the algorithm, the uncompressed size and the bytes.
func emitSIS9File(ctx context.Context, b *Budget, fd sis9Field, name string, emit func(Member) error) error {
	c, _, err := sis9Next(fd.body, fd.off, true, 0)
	if err != nil {
		return err
	}
	if c.typ != sis9Compressed || len(c.body) < 12 {
		return Corrupt("sis", fd.off, "file data holds a field of type %d and %d bytes, want Compressed", c.typ, len(c.body))
	}
	le := binary.LittleEndian
	alg, size := le.Uint32(c.body), le.Uint64(c.body[4:])
	blk, off := c.body[12:], c.off+12
	m := Member{Name: name, Offset: -1}
	switch alg {
	case 0:
		m.Offset = off
		return emitStored(b, blk, m, emit)
	case 1:
		if size > 1<<62 {
			size = 1 << 62
		}
		return emitZlib(ctx, b, blk, int64(size), m, off, emit)
	}
	return Corrupt("sis", c.off, "%s: compression algorithm %d", name, alg)
}
