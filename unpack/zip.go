package unpack

import (
	"bytes"
	"compress/bzip2"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	flate "github.com/klauspost/compress/flate"
	"io"
	"sort"

	"github.com/glassav/glassav/filetype"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"
	"golang.org/x/sync/semaphore"
)

// zipFormat opens zip archives, self-extracting ones (data before the
// archive: its offsets are found relative to where the central directory
// really is) and OOXML documents, which are zips. Members are read from the
// central directory, or, when it is missing or broken, by walking the local
// headers from the start. Methods: stored, deflate, deflate64, implode,
// bzip2, lzma, zstd and xz; encrypted entries are reported as encrypted.
// A central directory whose entries share their data — the non-recursive
// zip bomb — is refused with ErrZipOverlap before anything is inflated.
func zipFormat() *Format {
	return &Format{
		Name: "zip",
		Types: []filetype.Type{filetype.ZIP, filetype.ZIPSFX,
			filetype.OOXMLWord, filetype.OOXMLPPT, filetype.OOXMLXL, filetype.OOXMLHWP},
		Unpack: unpackZip,
	}
}

// ErrZipOverlap is the error of a zip whose central directory entries
// overlap: more than zipMaxOverlaps entries whose data overlaps another's
// by more than 2 bytes, as ClamAV counts them before it reports
// Heuristics.Zip.OverlappingFiles.
var ErrZipOverlap = errors.New("overlapping entries (zip bomb)")

const zipMaxOverlaps = 5

const (
	zipLocalSig   = "PK\x03\x04"
	zipCentralSig = "PK\x01\x02"
	zipEndSig     = "PK\x05\x06"
	zipEnd64Sig   = "PK\x06\x06"
	zipLoc64Sig   = "PK\x06\x07"
)

// zipEntry is what unpacking needs of one entry.
type zipEntry struct {
	name     string
	flags    uint16
	method   uint16
	csize    int64
	usize    int64
	local    int64 // offset of the local header
	dataOff  int64 // offset of the compressed data
	sizeKnow bool  // csize is known (central directory, or no data descriptor)
}

func unpackZip(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	entries, cdErr := zipCentral(data)
	if cdErr != nil {
		entries = zipLocals(data)
		if len(entries) == 0 {
			return &FormatError{Format: "zip", Offset: -1, Err: cdErr}
		}
	} else if err := zipOverlaps(entries); err != nil {
		return err
	}
	var first error
	// next records the error of one entry: it returns the error that
	// ends the unpacking, and keeps the first that does not.
	next := func(err error) error {
		if err == nil {
			return nil
		}
		if le, ok := IsLimit(err); ok && le.Limit != LimitFileSize && le.Limit != LimitRatio {
			return err
		}
		var fe *FormatError
		if !errors.As(err, &fe) {
			if _, ok := IsLimit(err); !ok {
				return err // the context's or emit's error
			}
		}
		if first == nil {
			first = err
		}
		return nil
	}
	if b.Workers() > 1 && len(entries) > 1 {
		if err := zipParallel(ctx, data, entries, b, emit, next); err != nil {
			return err
		}
	} else {
		for _, e := range entries {
			if err := b.Check(ctx); err != nil {
				return err
			}
			if err := next(zipMember(ctx, data, e, b, emit)); err != nil {
				return err
			}
		}
	}
	if first == nil && cdErr != nil {
		first = &FormatError{Format: "zip", Offset: -1, Err: fmt.Errorf("%w; read %d entries from local headers", cdErr, len(entries))}
	}
	return first
}

// zipJob is one entry decoded ahead of its turn to be emitted.
type zipJob struct {
	m      *Member
	err    error
	weight int64
	done   chan struct{}
}

// zipParallel decodes entries on up to b.Workers() goroutines and emits
// them in container order, each entry's error going through next. The
// members decoded and not yet emitted hold at most MaxFileSize bytes by
// their stated sizes (an entry without one, or over it, decodes alone),
// so memory stays near what decoding one at a time takes.
func zipParallel(ctx context.Context, data []byte, entries []zipEntry, b *Budget, emit func(Member) error, next func(error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	capacity := b.Limits().MaxFileSize
	mem := semaphore.NewWeighted(capacity)
	jobs := make(chan *zipJob, b.Workers())
	go func() {
		defer close(jobs)
		for _, e := range entries {
			w := capacity
			if e.usize >= 0 && e.usize < capacity && e.flags&1 == 0 {
				w = max(e.usize, 1)
			}
			if mem.Acquire(ctx, w) != nil {
				return
			}
			j := &zipJob{weight: w, done: make(chan struct{})}
			go func() {
				defer close(j.done)
				j.err = zipMember(ctx, data, e, b, func(m Member) error {
					j.m = &m
					return nil
				})
			}()
			select {
			case jobs <- j:
			case <-ctx.Done():
				<-j.done
				return
			}
		}
	}()
	var stop error
	for j := range jobs {
		<-j.done
		if stop == nil {
			if err := b.Check(ctx); err != nil {
				stop = err
			} else if j.m != nil {
				if err := emit(*j.m); err != nil {
					stop = err
				}
			}
			if stop == nil {
				stop = next(j.err)
			}
			if stop != nil {
				cancel()
			}
		}
		mem.Release(j.weight)
	}
	return stop
}

// zipMember decodes and emits one entry.
func zipMember(ctx context.Context, data []byte, e zipEntry, b *Budget, emit func(Member) error) error {
	if e.flags&1 != 0 || e.method == 99 {
		if err := b.File(); err != nil {
			return err
		}
		return emit(Member{Name: e.name, Encrypted: true, Offset: -1})
	}
	end := e.dataOff + e.csize
	truncated := end > int64(len(data)) || e.csize < 0
	if truncated {
		end = int64(len(data))
	}
	if e.dataOff > end {
		return Corrupt("zip", e.local, "entry %q: data starts past the end", e.name)
	}
	packed := data[e.dataOff:end]
	m := Member{Name: e.name, Offset: -1}
	var r io.Reader
	switch e.method {
	case 0:
		m.Offset = e.dataOff
		if err := emitStored(b, packed, m, emit); err != nil {
			return err
		}
		if truncated {
			return Corrupt("zip", e.local, "entry %q: %d bytes declared, %d present", e.name, e.csize, len(packed))
		}
		return nil
	case 8:
		fr := flate.NewReader(bytesReader(packed))
		defer fr.Close()
		r = fr
	case 9:
		r = newInflater(packed, true)
	case 6:
		x, err := newExploder(packed, e.flags, e.usize)
		if err != nil {
			return Corrupt("zip", e.local, "entry %q: implode trees: %v", e.name, err)
		}
		r = x
	case 12:
		r = bzip2.NewReader(bytesReader(packed))
	case 14:
		lr, err := zipLZMA(packed, e)
		if err != nil {
			return Corrupt("zip", e.local, "entry %q: lzma: %v", e.name, err)
		}
		r = lr
	case 93:
		zr, err := zstd.NewReader(bytesReader(packed), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return Corrupt("zip", e.local, "entry %q: zstd: %v", e.name, err)
		}
		defer zr.Close()
		r = zr
	case 95:
		xr, err := newXzReader(packed, b.Limits().MaxFileSize)
		if err != nil {
			return Corrupt("zip", e.local, "entry %q: xz: %v", e.name, err)
		}
		r = xr
	default:
		return Corrupt("zip", e.local, "entry %q: compression method %d not supported", e.name, e.method)
	}
	if e.usize >= 0 && e.method != 6 {
		// Trust no declared size, but stop at it: data past it is not
		// the member's.
		r = io.LimitReader(r, max(e.usize, 0)+1<<20)
	}
	if err := emitReadSized(ctx, b, r, int64(len(packed)), e.usize, m, "zip", e.local, emit); err != nil {
		var fe *FormatError
		if errors.As(err, &fe) && fe.Format == "zip" {
			return Corrupt("zip", e.local, "entry %q: %v", e.name, fe.Err)
		}
		return err
	}
	if truncated {
		return Corrupt("zip", e.local, "entry %q: %d bytes declared, %d present", e.name, e.csize, len(packed))
	}
	return nil
}

// zipLZMA opens method 14: a 4-byte version and properties-size prefix,
// 5 property bytes, then raw LZMA, with an end marker when flag bit 1 is
// set and else exactly the uncompressed size.
func zipLZMA(packed []byte, e zipEntry) (io.Reader, error) {
	if len(packed) < 9 {
		return nil, io.ErrUnexpectedEOF
	}
	psize := int(binary.LittleEndian.Uint16(packed[2:]))
	if psize != 5 {
		return nil, fmt.Errorf("%d property bytes, want 5", psize)
	}
	var hdr [lzma.HeaderLen]byte
	copy(hdr[:5], packed[4:9])
	size := uint64(e.usize)
	if e.flags&2 != 0 || e.usize < 0 {
		size = ^uint64(0)
	}
	binary.LittleEndian.PutUint64(hdr[5:], size)
	return lzma.ReaderConfig{DictCap: xzMaxDict}.NewReader(io.MultiReader(bytes.NewReader(hdr[:]), bytesReader(packed[9:])))
}

// zipEnd finds the end of central directory record: the last one whose
// comment length reaches exactly to the end, else the last one at all.
func zipEnd(data []byte) int {
	lo := max(len(data)-(22+65535), 0)
	last := -1
	for i := len(data) - 22; i >= lo; i-- {
		if string(data[i:i+4]) != zipEndSig {
			continue
		}
		if last < 0 {
			last = i
		}
		if i+22+int(binary.LittleEndian.Uint16(data[i+20:])) == len(data) {
			return i
		}
	}
	return last
}

// zipCentral reads the entries of the central directory.
func zipCentral(data []byte) ([]zipEntry, error) {
	eocd := zipEnd(data)
	if eocd < 0 {
		return nil, errors.New("no end of central directory")
	}
	le := binary.LittleEndian
	count := int64(le.Uint16(data[eocd+10:]))
	cdSize := int64(le.Uint32(data[eocd+12:]))
	cdOff := int64(le.Uint32(data[eocd+16:]))
	cdEnd := int64(eocd)
	if eocd >= 20 && string(data[eocd-20:eocd-16]) == zipLoc64Sig {
		off := int64(le.Uint64(data[eocd-12:]))
		// In a self-extractor the stated offset is relative to the
		// archive; the record sits just before the locator.
		for _, o := range []int64{off, int64(eocd) - 20 - 56} {
			if o >= 0 && o+56 <= int64(len(data)) && string(data[o:o+4]) == zipEnd64Sig {
				count = int64(le.Uint64(data[o+32:]))
				cdSize = int64(le.Uint64(data[o+40:]))
				cdOff = int64(le.Uint64(data[o+48:]))
				cdEnd = o
				break
			}
		}
	}
	// base is where the archive starts in data: 0, or the size of a
	// self-extractor's stub when its offsets were not adjusted.
	var base int64
	if cdOff < 0 || cdOff+4 > int64(len(data)) || string(data[cdOff:cdOff+4]) != zipCentralSig {
		start := cdEnd - cdSize
		if cdSize < 0 || start < 0 || start+4 > int64(len(data)) || string(data[start:start+4]) != zipCentralSig {
			if count == 0 {
				return nil, nil
			}
			return nil, fmt.Errorf("central directory not found at %d", cdOff)
		}
		base = start - cdOff
		cdOff = start
	}
	var entries []zipEntry
	p := cdOff
	for {
		if p+46 > int64(len(data)) || string(data[p:p+4]) != zipCentralSig {
			if int64(len(entries)) < count&0xffff && count != 0xffff {
				return entries, fmt.Errorf("central directory: entry %d of %d missing at %d", len(entries), count, p)
			}
			break
		}
		h := data[p:]
		e := zipEntry{
			flags:    le.Uint16(h[8:]),
			method:   le.Uint16(h[10:]),
			csize:    int64(le.Uint32(h[20:])),
			usize:    int64(le.Uint32(h[24:])),
			local:    int64(le.Uint32(h[42:])),
			sizeKnow: true,
		}
		nlen, xlen, clen := int64(le.Uint16(h[28:])), int64(le.Uint16(h[30:])), int64(le.Uint16(h[32:]))
		if p+46+nlen+xlen > int64(len(data)) {
			return entries, fmt.Errorf("central directory: entry %d cut short at %d", len(entries), p)
		}
		e.name = string(h[46 : 46+nlen])
		zip64Extra(h[46+nlen:46+nlen+xlen], &e)
		e.local += base
		p += 46 + nlen + xlen + clen
		if e.local < 0 || e.local+30 > int64(len(data)) || string(data[e.local:e.local+4]) != zipLocalSig {
			return entries, fmt.Errorf("entry %q: no local header at %d", e.name, e.local)
		}
		lh := data[e.local:]
		e.dataOff = e.local + 30 + int64(le.Uint16(lh[26:])) + int64(le.Uint16(lh[28:]))
		if isDir(e) {
			continue
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func isDir(e zipEntry) bool {
	return len(e.name) > 0 && e.name[len(e.name)-1] == '/' && e.csize == 0
}

// zip64Extra applies the zip64 extended information field of extra to e:
// the 8-byte values present for each 32-bit field that is all ones.
func zip64Extra(extra []byte, e *zipEntry) {
	le := binary.LittleEndian
	for len(extra) >= 4 {
		id, size := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if 4+size > len(extra) {
			return
		}
		if id == 1 {
			f := extra[4 : 4+size]
			for _, v := range []*int64{&e.usize, &e.csize, &e.local} {
				if *v == 0xffffffff && len(f) >= 8 {
					*v = int64(le.Uint64(f))
					f = f[8:]
				}
			}
			return
		}
		extra = extra[4+size:]
	}
}

// zipLocals walks the local headers from the first one, for archives
// whose central directory is missing or broken. An entry whose size is
// in a data descriptor ends where the next local header starts.
func zipLocals(data []byte) []zipEntry {
	le := binary.LittleEndian
	var entries []zipEntry
	p := bytes.Index(data, []byte(zipLocalSig))
	for p >= 0 && p+30 <= len(data) {
		h := data[p:]
		e := zipEntry{
			flags:  le.Uint16(h[6:]),
			method: le.Uint16(h[8:]),
			csize:  int64(le.Uint32(h[18:])),
			usize:  int64(le.Uint32(h[22:])),
			local:  int64(p),
		}
		nlen, xlen := int(le.Uint16(h[26:])), int(le.Uint16(h[28:]))
		if p+30+nlen+xlen > len(data) {
			break
		}
		e.name = string(h[30 : 30+nlen])
		zip64Extra(h[30+nlen:30+nlen+xlen], &e)
		e.dataOff = int64(p + 30 + nlen + xlen)
		if e.flags&8 != 0 || e.csize == 0xffffffff {
			e.usize = -1
			next := bytes.Index(data[e.dataOff:], []byte(zipLocalSig))
			if next < 0 {
				next = len(data) - int(e.dataOff)
			}
			e.csize = int64(next)
		}
		if !isDir(e) {
			entries = append(entries, e)
		}
		np := e.dataOff + max(e.csize, 0)
		if np >= int64(len(data)) {
			break
		}
		n := bytes.Index(data[np:], []byte(zipLocalSig))
		if n < 0 {
			break
		}
		p = int(np) + n
	}
	return entries
}

// zipOverlaps counts central directory entries whose local header and
// data overlap an earlier one's by more than 2 bytes.
func zipOverlaps(entries []zipEntry) error {
	type span struct{ start, end int64 }
	spans := make([]span, len(entries))
	for i, e := range entries {
		spans[i] = span{e.local, e.dataOff + max(e.csize, 0)}
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	overlaps := 0
	var reach int64 = -1
	for _, s := range spans {
		if s.start < reach-2 {
			overlaps++
			if overlaps > zipMaxOverlaps {
				return &FormatError{Format: "zip", Offset: s.start, Err: ErrZipOverlap}
			}
		}
		reach = max(reach, s.end)
	}
	return nil
}

// zipEmbedded reports whether data ends with a zip archive whose central
// directory and local headers check out, wherever the archive starts.
func zipEmbedded(data []byte) bool {
	if zipEnd(data) < 0 {
		return false
	}
	entries, err := zipCentral(data)
	return err == nil && len(entries) > 0
}
