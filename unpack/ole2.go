package unpack

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/richardlehane/mscfb"

	"github.com/glassav/glassav/filetype"
)

// ole2Format opens OLE2 compound files (MS Office 97-2003 documents, MSI
// packages, ...): every stream is a member, named by its storage path.
// Embedded objects get a member of their own, as ClamAV extracts them: the
// file inside an OLE1 "Ole10Native" package stream, and the compound
// files PowerPoint keeps zlib-compressed in ExOleObjStg records of its
// "PowerPoint Document" stream.
// A VBA project inside (a storage holding a "dir" stream) also yields each
// module's source code, decompressed from the module stream as MS-OVBA
// describes, as a member named "<storage>/<module>.vba": macros are
// scanned as text, as clamscan scans them.
func ole2Format() *Format {
	return &Format{Name: "ole2", Types: []filetype.Type{filetype.MSOLE2}, Unpack: unpackOLE2}
}

// vbaSourceSuffix ends the names of decompressed VBA module sources.
const vbaSourceSuffix = ".vba"

func unpackOLE2(ctx context.Context, data []byte, b *Budget, emit func(Member) error) (err error) {
	defer recoverLibrary("ole2", &err)
	emit = guardEmit(emit)
	if err := b.Check(ctx); err != nil {
		return err
	}
	doc, err := mscfb.New(bytes.NewReader(data))
	if err != nil {
		return Corrupt("ole2", -1, "%v", err)
	}
	streams := make(map[string][]byte)
	var dirs []string // storages holding a VBA "dir" stream
	var ferr error
	for f, nerr := doc.Next(); nerr == nil; f, nerr = doc.Next() {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			continue
		}
		name := strings.Join(append(append([]string(nil), f.Path...), f.Name), "/")
		d, rerr := b.Read(ctx, f, int64(len(data)))
		if rerr == nil || len(d) > 0 {
			if err := emit(Member{Name: name, Data: d, Offset: -1}); err != nil {
				return err
			}
		}
		if rerr != nil {
			if memberLimited(rerr) {
				keepFirst(&ferr, rerr)
				continue
			}
			if _, ok := IsLimit(rerr); ok || ctx.Err() != nil {
				return classify(rerr, "ole2", -1)
			}
			if ferr == nil {
				ferr = Corrupt("ole2", -1, "stream %q: %v", name, rerr)
			}
			continue
		}
		streams[strings.ToLower(name)] = d
		if err := emitOLE2Embedded(ctx, b, f.Name, name, d, emit); err != nil {
			if _, ok := IsLimit(err); ok || ctx.Err() != nil {
				return err
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				return err
			}
			if ferr == nil {
				ferr = err
			}
		}
		if strings.EqualFold(f.Name, "dir") && len(f.Path) > 0 {
			dirs = append(dirs, strings.Join(f.Path, "/"))
		}
	}
	for _, storage := range dirs {
		if err := emitVBASources(ctx, b, storage, streams, emit); err != nil {
			if _, ok := IsLimit(err); ok || ctx.Err() != nil {
				return err
			}
			var fe *FormatError
			if errors.As(err, &fe) && ferr == nil {
				ferr = err
			} else if !errors.As(err, &fe) {
				return err
			}
		}
	}
	return ferr
}

// emitVBASources decompresses the VBA project's dir stream in storage, and
// from each module stream it lists the source at the module's text offset.
func emitVBASources(ctx context.Context, b *Budget, storage string, streams map[string][]byte, emit func(Member) error) error {
	lim := b.Limits().MaxFileSize
	dir, err := ovbaDecompress(streams[strings.ToLower(storage+"/dir")], lim)
	if err != nil {
		return Corrupt("ole2", -1, "VBA dir stream in %q: %v", storage, err)
	}
	mods, derr := vbaModules(dir)
	for _, m := range mods {
		if err := b.Check(ctx); err != nil {
			return err
		}
		s, ok := streams[strings.ToLower(storage+"/"+m.stream)]
		if !ok && m.streamW != "" {
			s, ok = streams[strings.ToLower(storage+"/"+m.streamW)]
		}
		if !ok {
			continue // dir lists a module the file lacks
		}
		if m.offset > uint32(len(s)) {
			return Corrupt("ole2", -1, "VBA module %q: source offset %d past its %d-byte stream", m.stream, m.offset, len(s))
		}
		src, serr := ovbaDecompress(s[m.offset:], lim)
		name := m.streamW
		if name == "" {
			name = m.stream
		}
		mem := Member{Name: storage + "/" + name + vbaSourceSuffix, Offset: -1}
		if err := emitRead(ctx, b, bytes.NewReader(src), int64(len(s)), mem, "ole2", -1, emit); err != nil {
			return err
		}
		if serr != nil {
			return Corrupt("ole2", -1, "VBA module %q: %v", name, serr)
		}
	}
	if derr != nil {
		return Corrupt("ole2", -1, "VBA dir stream in %q: %v", storage, derr)
	}
	return nil
}

type vbaModule struct {
	stream  string // MODULESTREAMNAME, in the project's code page
	streamW string // its UTF-16 form, when present
	offset  uint32 // MODULEOFFSET: where the compressed source starts
}

// vbaModules reads the module records of a decompressed dir stream
// (MS-OVBA 2.3.4.2): records are an id, a size and that many bytes, but
// for PROJECTVERSION, whose size field says 4 for its 6 bytes.
func vbaModules(dir []byte) ([]vbaModule, error) {
	le := binary.LittleEndian
	var mods []vbaModule
	var cur vbaModule
	inModule := false
	for p := 0; p+6 <= len(dir); {
		id := le.Uint16(dir[p:])
		size := int(le.Uint32(dir[p+2:]))
		p += 6
		if id == 0x0009 { // PROJECTVERSION
			size = 6
		}
		if size < 0 || size > len(dir)-p {
			return mods, fmt.Errorf("record 0x%04x of %d bytes past the end", id, size)
		}
		rec := dir[p : p+size]
		p += size
		switch id {
		case 0x0019: // MODULENAME starts a module
			cur, inModule = vbaModule{}, true
		case 0x001a: // MODULESTREAMNAME
			cur.stream = string(rec)
		case 0x0032: // its Unicode form
			cur.streamW = utf16LE(rec)
		case 0x0031: // MODULEOFFSET
			if len(rec) >= 4 {
				cur.offset = le.Uint32(rec)
			}
		case 0x002b: // module terminator
			if inModule {
				mods = append(mods, cur)
			}
			inModule = false
		case 0x0010: // dir terminator
			return mods, nil
		}
	}
	return mods, nil
}

func utf16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// ovbaDecompress undoes MS-OVBA's compression (2.4.1): a 0x01 signature
// byte, then chunks of at most 4096 output bytes, each a 16-bit header
// (size-3 in the low 12 bits, 0b011, a compressed flag) and either raw
// bytes or token sequences: a flag byte whose bits (low first) choose a
// literal or a copy token, whose split between offset and length bits
// grows with the position in the chunk. It stops at max output bytes and
// returns what it decoded with any error.
func ovbaDecompress(in []byte, max int64) ([]byte, error) {
	if len(in) == 0 || in[0] != 0x01 {
		return nil, errors.New("no compressed container signature")
	}
	var out []byte
	p := 1
	for p < len(in) {
		if len(in)-p < 2 {
			return out, errors.New("chunk header truncated")
		}
		h := binary.LittleEndian.Uint16(in[p:])
		size := int(h&0x0fff) + 3
		end := min(p+size, len(in))
		p += 2
		start := len(out)
		if h&0x8000 == 0 {
			// Raw chunk: 4096 bytes as they are.
			n := min(4096, end-p)
			out = append(out, in[p:p+n]...)
			p = end
		} else {
			for p < end {
				flags := in[p]
				p++
				for bit := 0; bit < 8 && p < end; bit++ {
					if flags&(1<<bit) == 0 {
						out = append(out, in[p])
						p++
						continue
					}
					if end-p < 2 {
						return out, errors.New("copy token truncated")
					}
					tok := int(binary.LittleEndian.Uint16(in[p:]))
					p += 2
					bits := 4
					for 1<<bits < len(out)-start {
						bits++
					}
					length := tok&(0xffff>>bits) + 3
					off := tok>>(16-bits) + 1
					if off > len(out)-start {
						return out, fmt.Errorf("copy token reaches %d bytes back, before its chunk", off)
					}
					for range length {
						out = append(out, out[len(out)-off])
					}
				}
			}
		}
		if len(out)-start > 4096 {
			return out, errors.New("chunk decompresses to more than 4096 bytes")
		}
		if int64(len(out)) > max {
			return out, nil // over the limit: the budget's read reports it
		}
		p = end
	}
	return out, nil
}

// emitOLE2Embedded emits the object inside stream d (called base, at
// path name), if it is a kind that wraps one.
func emitOLE2Embedded(ctx context.Context, b *Budget, base, name string, d []byte, emit func(Member) error) error {
	switch {
	case strings.EqualFold(base, "Ole10Native"):
		label, obj, ok := ole10Native(d)
		if !ok {
			return nil // not a package: the stream itself was scanned
		}
		if label == "" {
			label = "native"
		}
		return emitStored(b, obj, Member{Name: name + "/" + label, Offset: -1}, emit)
	case strings.EqualFold(base, "PowerPoint Document"):
		return pptObjects(ctx, b, name, d, emit)
	}
	return nil
}

// ole10Native unwraps an OLE1 package (the "\x01Ole10Native" stream): a
// 32-bit size, a 16-bit type, the label and the original path as
// NUL-terminated strings, 8 bytes, the temporary path, then the object's
// 32-bit size and bytes.
func ole10Native(d []byte) (label string, obj []byte, ok bool) {
	le := binary.LittleEndian
	p := 6
	cstr := func() (string, bool) {
		if p > len(d) {
			return "", false
		}
		i := bytes.IndexByte(d[p:], 0)
		if i < 0 || i > 4096 {
			return "", false
		}
		s := string(d[p : p+i])
		p += i + 1
		return s, true
	}
	if len(d) < p {
		return "", nil, false
	}
	label, ok1 := cstr()
	_, ok2 := cstr()
	p += 8
	_, ok3 := cstr()
	if !ok1 || !ok2 || !ok3 || p+4 > len(d) {
		return "", nil, false
	}
	n := int64(le.Uint32(d[p:]))
	p += 4
	if n > int64(len(d)-p) {
		n = int64(len(d) - p) // truncated: scan what is there
	}
	return label, d[p : int64(p)+n], true
}

// pptObjects walks the records of a "PowerPoint Document" stream (8-byte
// headers: version and instance, type, length; version 0xF marks a
// container, whose children follow in its body) and emits the embedded
// compound file of every ExOleObjStg record (type 0x1011), inflating it
// when its instance says it is compressed.
func pptObjects(ctx context.Context, b *Budget, name string, d []byte, emit func(Member) error) error {
	le := binary.LittleEndian
	for p := 0; p+8 <= len(d); {
		if err := b.Check(ctx); err != nil {
			return err
		}
		verInst := le.Uint16(d[p:])
		typ := le.Uint16(d[p+2:])
		n := int(le.Uint32(d[p+4:]))
		body := p + 8
		if verInst&0x0f == 0x0f {
			p = body // a container: read its children in turn
			continue
		}
		if n < 0 || n > len(d)-body {
			return Corrupt("ole2", -1, "%s: record 0x%04x at %d runs past the stream", name, typ, p)
		}
		if typ == 0x1011 {
			rec := d[body : body+n]
			m := Member{Name: fmt.Sprintf("%s/ExOleObjStg@%d", name, p), Offset: -1}
			if verInst>>4 == 1 && len(rec) > 4 {
				zr, err := zlib.NewReader(bytes.NewReader(rec[4:]))
				if err != nil {
					return Corrupt("ole2", -1, "%s: compressed object at %d: %v", name, p, err)
				}
				if err := emitRead(ctx, b, zr, int64(len(rec)), m, "ole2", -1, emit); err != nil {
					return err
				}
			} else if err := emitStored(b, rec, m, emit); err != nil {
				return err
			}
		}
		p = body + n
	}
	return nil
}
