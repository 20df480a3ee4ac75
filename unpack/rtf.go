package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"strconv"

	"github.com/glassav/glassav/filetype"
)

// rtfFormat opens the embedded objects of RTF documents: each \objdata
// destination holds an OLE1 object as hex digits (with \binN raw runs).
// The object's native data is the member — usually an OLE2 file, which
// the engine then opens — except for the "Package" class (Object
// Packager), whose embedded file is unwrapped and emitted under its label,
// as that is what a user double-clicks. Hex is read up to the brace that
// closes the destination, skipping control words and nested groups,
// which malicious documents insert to break naive parsers and Word
// ignores.
func rtfFormat() *Format {
	return &Format{
		Name:   "rtf",
		Types:  []filetype.Type{filetype.RTF},
		Unpack: unpackRTF,
	}
}

func unpackRTF(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	key := []byte(`\objdata`)
	for off := 0; off < len(data); {
		if err := b.Check(ctx); err != nil {
			return err
		}
		i := bytes.Index(data[off:], key)
		if i < 0 {
			break
		}
		i += off + len(key)
		if i < len(data) && isASCIILetter(data[i]) {
			off = i // \objdataX is another control word
			continue
		}
		raw, end, closed := rtfObjData(data[i:])
		off = i + end
		if err := emitOLE1(ctx, b, emit, raw, int64(end)); err != nil {
			return err
		}
		if !closed {
			return Corrupt("rtf", int64(i), "\\objdata runs to the end of the document")
		}
	}
	return nil
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// rtfObjData decodes the bytes of an \objdata destination starting at
// data[0] (just after the control word) and returns them with the offset
// where the destination ended and whether its closing brace was found.
func rtfObjData(data []byte) ([]byte, int, bool) {
	out := make([]byte, 0, len(data)/2)
	hi := -1
	depth := 0
	i := 0
	for i < len(data) {
		c := data[i]
		switch {
		case c == '{':
			depth++
			i++
		case c == '}':
			if depth == 0 {
				return out, i + 1, true
			}
			depth--
			i++
		case c == '\\':
			i++
			if i >= len(data) {
				return out, i, false
			}
			if !isASCIILetter(data[i]) {
				if data[i] == '\'' {
					i += 2 // \'hh: a text character, not object data
				}
				i++
				continue
			}
			ws := i
			for i < len(data) && isASCIILetter(data[i]) {
				i++
			}
			word := string(data[ws:i])
			ps := i
			if i < len(data) && data[i] == '-' {
				i++
			}
			for i < len(data) && data[i] >= '0' && data[i] <= '9' && i-ps < 10 {
				i++
			}
			param, _ := strconv.Atoi(string(data[ps:i]))
			if i < len(data) && data[i] == ' ' {
				i++
			}
			if word == "bin" && param > 0 {
				n := min(param, len(data)-i)
				if depth == 0 {
					hi = -1
					out = append(out, data[i:i+n]...)
				}
				i += n
			}
		default:
			if v := unhex(c); v >= 0 && depth == 0 {
				if hi < 0 {
					hi = v
				} else {
					out = append(out, byte(hi<<4|v))
					hi = -1
				}
			}
			i++
		}
	}
	return out, i, false
}

// emitOLE1 emits the payload of an OLE1 object (MS-OLEDS 2.2.4
// ObjectHeader + native data); bytes that do not parse as OLE1 are
// emitted as they are.
func emitOLE1(ctx context.Context, b *Budget, emit func(Member) error, obj []byte, packed int64) error {
	if len(obj) == 0 {
		return nil
	}
	class, native, ok := parseOLE1(obj)
	if !ok {
		return emitDecoded(ctx, b, emit, "objdata", obj, packed, 0)
	}
	if class == "Package" {
		if label, payload, ok := parsePackage(native); ok {
			return emitDecoded(ctx, b, emit, label, payload, packed, 0)
		}
	}
	return emitDecoded(ctx, b, emit, class, native, packed, 0)
}

// parseOLE1 returns the class name and native data of an embedded OLE1
// object: version (4), format id (4, 2 = embedded), then class, topic and
// item names as length-prefixed strings, then the native data size (4)
// and data. A size past the end is cut to what is there.
func parseOLE1(obj []byte) (class string, native []byte, ok bool) {
	if len(obj) < 8 || binary.LittleEndian.Uint32(obj[4:]) != 2 {
		return "", nil, false
	}
	p := obj[8:]
	var names [3]string
	for i := range names {
		if len(p) < 4 {
			return "", nil, false
		}
		n := binary.LittleEndian.Uint32(p)
		p = p[4:]
		if uint64(n) > uint64(len(p)) || n > 1024 {
			return "", nil, false
		}
		names[i] = string(bytes.TrimRight(p[:n], "\x00"))
		p = p[n:]
	}
	if len(p) < 4 {
		return "", nil, false
	}
	n := binary.LittleEndian.Uint32(p)
	p = p[4:]
	if uint64(n) < uint64(len(p)) {
		p = p[:n]
	}
	return names[0], p, true
}

// parsePackage unwraps an Object Packager native stream: a 2-byte header,
// the label and the original path as NUL-terminated strings, 4 reserved
// bytes, the temporary path (32-bit length, bytes), then the file (32-bit
// length, bytes).
func parsePackage(native []byte) (label string, payload []byte, ok bool) {
	if len(native) < 2 {
		return "", nil, false
	}
	p := native[2:]
	var strs [2]string
	for i := range strs {
		j := bytes.IndexByte(p, 0)
		if j < 0 || j > 1024 {
			return "", nil, false
		}
		strs[i] = string(p[:j])
		p = p[j+1:]
	}
	if len(p) < 8 {
		return "", nil, false
	}
	p = p[4:]
	n := binary.LittleEndian.Uint32(p)
	p = p[4:]
	if uint64(n) > uint64(len(p)) || len(p)-int(n) < 4 {
		return "", nil, false
	}
	p = p[n:]
	size := binary.LittleEndian.Uint32(p)
	p = p[4:]
	if uint64(size) < uint64(len(p)) {
		p = p[:size]
	}
	return strs[0], p, true
}
