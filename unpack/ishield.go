package unpack

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
)

// ishieldFormat opens InstallShield setup programs, in the two layouts
// ClamAV reads:
//
//   - MSI-based installers (InstallShield 12 and later) hold their files
//     after an "InstallShield\0" marker: a count, then per file a block
//     with its name (MAX_PATH bytes) and compressed size, then the data,
//     obfuscated with a key derived from the name (nibbles swapped, XOR
//     with the name XORed with a fixed 4-byte key, the index wrapping at
//     1,024) and zlib-compressed.
//   - Older installers append their files to a 32-bit PE as records of
//     four NUL-terminated strings (name, path, version, size in decimal)
//     followed by the file's bytes. Among them, data1.hdr and dataN.cab
//     are InstallShield cabinets (not Microsoft CAB): the header lists the
//     files, each stored in one dataN.cab as a series of raw-deflate chunks
//     with a 16-bit length before each. The other records are files as
//     they are (often Microsoft cabinets or executables, which the engine
//     opens in turn).
//
// Like ClamAV, the header and the cabinets are also scanned as they are,
// and files the header marks as external (on other media) or as
// duplicates are skipped.
func ishieldFormat() *Format {
	return &Format{
		Name:   "ishield",
		Types:  []filetype.Type{filetype.IShieldMSI},
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { return ishieldMSIAt(data) >= 0 || ishieldOverlay(data) >= 0 },
		Unpack: unpackIShield,
	}
}

func unpackIShield(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	if off := ishieldMSIAt(data); off >= 0 {
		return ishieldMSI(ctx, data, off, b, emit)
	}
	if off := ishieldOverlay(data); off >= 0 {
		return ishieldRecords(ctx, data, off, b, emit)
	}
	return Corrupt("ishield", -1, "no InstallShield data")
}

// ishieldMSIMarker starts the file table of an MSI-based installer.
var ishieldMSIMarker = []byte("InstallShield\x00")

// ishieldMSIAt returns where the first plausible MSI-based file table
// starts (after the marker: a non-zero count and 24 zero bytes at 8), or -1.
func ishieldMSIAt(data []byte) int {
	for from := 0; ; {
		i := bytes.Index(data[from:], ishieldMSIMarker)
		if i < 0 {
			return -1
		}
		off := from + i + len(ishieldMSIMarker)
		if len(data)-off >= 0x20 && binary.LittleEndian.Uint32(data[off:]) != 0 && allZero(data[off+8:off+0x20]) {
			return off
		}
		from = off
	}
}

// ishieldKey is XORed into the file name to make the data key.
var ishieldKey = [4]byte{0xec, 0xca, 0x79, 0xf8}

// ishieldBlockLen is the size of a file block of the MSI-based layout: the
// name, two words, the 64-bit compressed size and nine more words.
const ishieldBlockLen = 0x104 + 4 + 4 + 8 + 9*4

func ishieldMSI(ctx context.Context, data []byte, off int, b *Budget, emit func(Member) error) error {
	le := binary.LittleEndian
	count := le.Uint32(data[off:])
	off += 0x20
	for ; count > 0; count-- {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if len(data)-off < ishieldBlockLen {
			return Corrupt("ishield", int64(off), "truncated file block")
		}
		block := data[off : off+ishieldBlockLen]
		off += ishieldBlockLen
		name := block[:0x104]
		if i := bytes.IndexByte(name[:0x103], 0); i >= 0 {
			name = name[:i]
		} else {
			name = name[:0x103]
		}
		if len(name) == 0 {
			return nil
		}
		csize := le.Uint64(block[0x104+8:])
		if csize > uint64(len(data)-off) {
			return Corrupt("ishield", int64(off), "%q: %d compressed bytes run past the data", name, csize)
		}
		packed := data[off : off+int(csize)]
		off += int(csize)
		if int64(csize) > b.Limits().MaxFileSize {
			// ClamAV skips such a stream; glassav says so.
			b.Fail(LimitFileSize, b.Limits().MaxFileSize)
			continue
		}
		key := bytes.Clone(name)
		for i := range key {
			key[i] ^= ishieldKey[i&3]
		}
		plain := make([]byte, len(packed))
		for i, c := range packed {
			c = c>>4 | c<<4
			plain[i] = c ^ key[(i&0x3ff)%len(key)]
		}
		zr, err := zlib.NewReader(bytes.NewReader(plain))
		if err != nil {
			return Corrupt("ishield", int64(off)-int64(csize), "%q: %v", name, err)
		}
		err = emitRead(ctx, b, zr, int64(csize), Member{Name: string(name), Offset: -1}, "ishield", int64(off)-int64(csize), emit)
		if err != nil {
			return err
		}
	}
	return nil
}

// ishieldOverlay returns where a 32-bit PE's overlay starts when it begins
// with an InstallShield record, or -1.
func ishieldOverlay(data []byte) int {
	info, err := exe.ParsePEHeaders(data)
	if err != nil || info.Format != exe.PE || info.PE == nil || info.PE.Is64 {
		return -1
	}
	var end int64
	for _, s := range info.Sections {
		end = max(end, s.Offset+s.Size)
	}
	if end <= 0 || end >= int64(len(data)) {
		return -1
	}
	if _, ok := ishieldRecord(data[end:], int64(len(data))-end); !ok {
		return -1
	}
	return int(end)
}

// ishieldEntry is one record of the older layout.
type ishieldEntry struct {
	name, path string
	head       int   // length of the four strings
	size       int64 // the file's size
}

// ishieldRecord parses the record at the start of d, of which left bytes
// remain in the overlay. The strings are at most 2,048 bytes each; the
// size must be a decimal number that fits in what remains.
func ishieldRecord(d []byte, left int64) (ishieldEntry, bool) {
	var f [4]string
	p := 0
	for i := range f {
		n := bytes.IndexByte(d[p:min(len(d), p+2048)], 0)
		if n < 0 {
			return ishieldEntry{}, false
		}
		f[i] = string(d[p : p+n])
		p += n + 1
	}
	size, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil || size < 0 || size >= left || int64(p) >= left-size {
		return ishieldEntry{}, false
	}
	return ishieldEntry{name: f[0], path: f[1], head: p, size: size}, true
}

// ishieldCab is a dataN.cab record: its number and bytes.
type ishieldCab struct {
	n    int
	data []byte
}

func ishieldRecords(ctx context.Context, data []byte, off int, b *Budget, emit func(Member) error) error {
	left := int64(len(data) - off)
	var hdr []byte
	var cabs []ishieldCab
	seen := make(map[int]bool) // the cabinet numbers in cabs
	for {
		if err := b.Check(ctx); err != nil {
			return err
		}
		e, ok := ishieldRecord(data[off:], left)
		if !ok {
			break
		}
		body := data[off+e.head : off+e.head+int(e.size)]
		left -= int64(e.head) + e.size
		off += e.head + int(e.size)
		if rest, ok := cutPrefixFold(e.name, "data"); ok {
			if strings.EqualFold(rest, "1.hdr") && hdr == nil {
				hdr = body
				continue
			}
			if n, ok := ishieldCabNumber(rest); ok && !seen[n] {
				seen[n] = true
				cabs = append(cabs, ishieldCab{n, body})
				continue
			}
		}
		if e.size == 0 {
			continue
		}
		if err := emitStored(b, body, Member{Name: e.path, Offset: int64(off) - e.size}, emit); err != nil {
			return err
		}
	}
	if hdr == nil && len(cabs) == 0 {
		return nil
	}
	var damaged error
	if hdr != nil && len(cabs) > 0 {
		damaged = ishieldCabinet(ctx, hdr, cabs, b, emit)
		if _, ok := IsLimit(damaged); ok {
			return damaged
		}
	}
	if hdr != nil {
		if err := emitStored(b, hdr, Member{Name: "data1.hdr", Offset: -1}, emit); err != nil {
			return err
		}
	}
	for _, c := range cabs {
		if err := emitStored(b, c.data, Member{Name: fmt.Sprintf("data%d.cab", c.n), Offset: -1}, emit); err != nil {
			return err
		}
	}
	return damaged
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// ishieldCabNumber parses "N.cab" (1 <= N < 65536).
func ishieldCabNumber(s string) (int, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n <= 0 || n >= 65536 || !strings.EqualFold(s[i:], ".cab") {
		return 0, false
	}
	return n, true
}

// InstallShield cabinet header layout (data1.hdr).
const (
	ishieldHdrMagic   = 0x28635349 // "ISc("
	ishieldObjectsLen = 74         // the object table the header points to
	ishieldFileLen    = 87         // one file descriptor
)

// ishieldCabinet extracts the files data1.hdr lists from the cabinets.
func ishieldCabinet(ctx context.Context, hdr []byte, cabs []ishieldCab, b *Budget, emit func(Member) error) error {
	le := binary.LittleEndian
	if len(hdr) < 20 || le.Uint32(hdr) != ishieldHdrMagic {
		return Corrupt("ishield", -1, "data1.hdr: no InstallShield cabinet header")
	}
	dataOff := int64(le.Uint32(hdr[12:]))
	if dataOff+ishieldObjectsLen > int64(len(hdr)) {
		return Corrupt("ishield", dataOff, "data1.hdr: object table out of the header")
	}
	objs := hdr[dataOff:]
	dirsOff := int64(le.Uint32(objs[12:]))
	files := le.Uint32(objs[40:])
	dirSize := int64(le.Uint32(objs[44:]))
	str := func(at int64) string {
		if at < 0 || at >= int64(len(hdr)) {
			return ""
		}
		s := hdr[at:]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			return string(s[:i])
		}
		return ""
	}
	// Up to 65,535 cabinets and a file descriptor every 87 bytes: each
	// file finds its cabinet by number, not by a walk of the list.
	byNumber := make(map[int][]byte, len(cabs))
	for _, c := range cabs {
		byNumber[c.n] = c.data
	}
	var damaged error
	off := dataOff + dirsOff + dirSize
	for i := uint32(0); i < files; i++ {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if off < 0 || off+ishieldFileLen > int64(len(hdr)) {
			return Corrupt("ishield", off, "data1.hdr: file %d of %d out of the header", i, files)
		}
		f := hdr[off : off+ishieldFileLen]
		off += ishieldFileLen
		flags := le.Uint16(f)
		size, csize, stream := le.Uint64(f[2:]), le.Uint64(f[10:]), le.Uint64(f[18:])
		dupFlags, cabNo := f[84], int(le.Uint16(f[85:]))
		if flags != 4 || dupFlags&1 != 0 || size == 0 {
			continue // external, a duplicate, or empty
		}
		if int64(csize) > b.Limits().MaxFileSize {
			b.Fail(LimitFileSize, b.Limits().MaxFileSize)
			continue
		}
		dirAt := dataOff + dirsOff + 4*int64(le.Uint16(f[62:]))
		var dir string
		if dirAt >= 0 && dirAt+4 <= int64(len(hdr)) {
			dir = str(int64(le.Uint32(hdr[dirAt:])) + dataOff + dirsOff)
		}
		name := dir + `\` + str(dataOff+dirsOff+int64(le.Uint32(f[58:])))
		cab := byNumber[cabNo]
		if cab == nil || stream > uint64(len(cab)) || csize > uint64(len(cab))-stream {
			if damaged == nil {
				damaged = Corrupt("ishield", int64(stream), "%s: stream not in data%d.cab", name, cabNo)
			}
			continue
		}
		r := &ishieldChunks{in: cab[stream : stream+csize]}
		err := emitReadSized(ctx, b, r, int64(csize), int64(size), Member{Name: name, Offset: -1}, "ishield", int64(stream), emit)
		if err != nil {
			if _, ok := err.(*FormatError); !ok {
				return err
			}
			if damaged == nil {
				damaged = err
			}
		}
	}
	return damaged
}

// ishieldChunks reads a file of an InstallShield cabinet: chunks, each a
// 16-bit length and that many bytes of raw deflate data, inflated one by
// one.
type ishieldChunks struct {
	in  []byte
	cur io.ReadCloser
}

func (r *ishieldChunks) Read(p []byte) (int, error) {
	for {
		if r.cur != nil {
			n, err := r.cur.Read(p)
			if err == io.EOF {
				r.cur.Close()
				r.cur = nil
				if n > 0 {
					return n, nil
				}
				continue
			}
			if err != nil {
				return n, fmt.Errorf("chunk: %w", err)
			}
			return n, nil
		}
		if len(r.in) == 0 {
			return 0, io.EOF
		}
		if len(r.in) < 2 {
			return 0, fmt.Errorf("no room for a chunk length")
		}
		n := int(binary.LittleEndian.Uint16(r.in))
		r.in = r.in[2:]
		if n == 0 {
			continue
		}
		if n > len(r.in) {
			return 0, fmt.Errorf("chunk of %d bytes, %d left", n, len(r.in))
		}
		r.cur = flate.NewReader(bytes.NewReader(r.in[:n]))
		r.in = r.in[n:]
	}
}
