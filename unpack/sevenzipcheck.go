package unpack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// The 7-Zip library sizes its tables from counts in the archive header
// (up to 2^32 files, folders, streams) before checking them against the
// header's length, so a 40-byte archive can make it allocate hundreds of
// gigabytes and abort the process. sevenZipCheck walks the header first
// — decoding it when it is LZMA- or LZMA2-compressed, as 7-Zip writes it —
// and refuses any count larger than the header bytes that remain, which no
// real archive needs: every file has a name, every stream a size.

var errSevenZipCount = errors.New("implausible count in the archive header")

// sevenZipMaxHeader bounds a compressed header's decoded size.
const sevenZipMaxHeader = 64 << 20

const (
	szEnd              = 0x00
	szHeader           = 0x01
	szArchiveProps     = 0x02
	szAdditionalStream = 0x03
	szMainStreams      = 0x04
	szFilesInfo        = 0x05
	szPackInfo         = 0x06
	szUnpackInfo       = 0x07
	szSubStreams       = 0x08
	szSize             = 0x09
	szCRC              = 0x0a
	szFolderID         = 0x0b
	szCodersUnpackSize = 0x0c
	szNumUnpackStream  = 0x0d
	szEncodedHeader    = 0x17
)

// sevenZipCheck returns nil when every archive header in data (one per
// signature whose start header checks) has plausible counts, or when it
// finds no such header (the library then reports the error).
func sevenZipCheck(data []byte) error {
	sig := []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}
	for from := 0; ; {
		i := bytes.Index(data[from:], sig)
		if i < 0 {
			return nil
		}
		off := from + i
		from = off + 1
		if off+32 > len(data) || crc32.ChecksumIEEE(data[off+12:off+32]) != binary.LittleEndian.Uint32(data[off+8:]) {
			continue
		}
		next := binary.LittleEndian.Uint64(data[off+12:])
		size := binary.LittleEndian.Uint64(data[off+20:])
		base := uint64(off + 32)
		if next > uint64(len(data)) || size > uint64(len(data)) || base+next+size > uint64(len(data)) {
			continue // the library reports it
		}
		h := data[base+next : base+next+size]
		return sevenZipCheckHeader(data, base, h)
	}
}

func sevenZipCheckHeader(data []byte, base uint64, h []byte) error {
	w := &szWalker{b: h}
	if len(h) == 0 {
		return nil
	}
	switch h[0] {
	case szHeader:
		w.p = 1
		return w.header()
	case szEncodedHeader:
		w.p = 1
		si, err := w.streamsInfo()
		if err != nil {
			return err
		}
		dec, err := si.decode(data, base)
		if err != nil || dec == nil {
			return err
		}
		if len(dec) == 0 || dec[0] != szHeader {
			return nil // the library reports it
		}
		return (&szWalker{b: dec, p: 1}).header()
	}
	return nil
}

// szWalker reads header structures, checking every count.
type szWalker struct {
	b []byte
	p int
}

var errSZShort = errors.New("archive header truncated")

func (w *szWalker) byte() (byte, error) {
	if w.p >= len(w.b) {
		return 0, errSZShort
	}
	c := w.b[w.p]
	w.p++
	return c, nil
}

// num reads a 7z NUMBER: the leading one bits of the first byte count the
// little-endian bytes that follow; its remaining bits are the high part.
func (w *szWalker) num() (uint64, error) {
	first, err := w.byte()
	if err != nil {
		return 0, err
	}
	mask := byte(0x80)
	var v uint64
	for i := 0; i < 8; i++ {
		if first&mask == 0 {
			high := uint64(first) & (uint64(mask) - 1)
			return v | high<<(8*i), nil
		}
		c, err := w.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c) << (8 * i)
		mask >>= 1
	}
	return v, nil
}

// count reads a number that sizes a table: it may not exceed the bytes
// left in the header.
func (w *szWalker) count() (int, error) {
	v, err := w.num()
	if err != nil {
		return 0, err
	}
	if v > uint64(len(w.b)-w.p) {
		return 0, fmt.Errorf("%w: %d with %d header bytes left", errSevenZipCount, v, len(w.b)-w.p)
	}
	return int(v), nil
}

func (w *szWalker) skip(n uint64) error {
	if n > uint64(len(w.b)-w.p) {
		return errSZShort
	}
	w.p += int(n)
	return nil
}

func (w *szWalker) header() error {
	for {
		id, err := w.num()
		if err != nil {
			return err
		}
		switch id {
		case szEnd:
			return nil
		case szArchiveProps:
			for {
				t, err := w.num()
				if err != nil || t == 0 {
					if err != nil {
						return err
					}
					break
				}
				n, err := w.num()
				if err != nil {
					return err
				}
				if err := w.skip(n); err != nil {
					return err
				}
			}
		case szAdditionalStream, szMainStreams:
			if _, err := w.streamsInfo(); err != nil {
				return err
			}
		case szFilesInfo:
			if err := w.filesInfo(); err != nil {
				return err
			}
		default:
			return nil // unknown: the library decides
		}
	}
}

// szStreams is what decoding an encoded header needs.
type szStreams struct {
	packPos   uint64
	packSizes []uint64
	folders   []szFolder
}

type szFolder struct {
	coders  []szCoder
	unpacks []uint64
}

type szCoder struct {
	id    []byte
	props []byte
}

func (w *szWalker) streamsInfo() (*szStreams, error) {
	si := &szStreams{}
	for {
		id, err := w.num()
		if err != nil {
			return nil, err
		}
		switch id {
		case szEnd:
			return si, nil
		case szPackInfo:
			if si.packPos, err = w.num(); err != nil {
				return nil, err
			}
			n, err := w.count()
			if err != nil {
				return nil, err
			}
			for {
				t, err := w.num()
				if err != nil {
					return nil, err
				}
				if t == szEnd {
					break
				}
				switch t {
				case szSize:
					si.packSizes = make([]uint64, n)
					for i := range si.packSizes {
						if si.packSizes[i], err = w.num(); err != nil {
							return nil, err
						}
					}
				case szCRC:
					if err := w.digests(n); err != nil {
						return nil, err
					}
				default:
					return si, nil
				}
			}
		case szUnpackInfo:
			if err := w.unpackInfo(si); err != nil {
				return nil, err
			}
		case szSubStreams:
			if err := w.subStreams(len(si.folders)); err != nil {
				return nil, err
			}
		default:
			return si, nil
		}
	}
}

func (w *szWalker) unpackInfo(si *szStreams) error {
	if id, err := w.num(); err != nil || id != szFolderID {
		return err
	}
	n, err := w.count()
	if err != nil {
		return err
	}
	if ext, err := w.byte(); err != nil || ext != 0 {
		return err // external folders: the library refuses them
	}
	si.folders = make([]szFolder, n)
	outs := make([]int, n)
	for i := range si.folders {
		if outs[i], err = w.folder(&si.folders[i]); err != nil {
			return err
		}
	}
	if id, err := w.num(); err != nil || id != szCodersUnpackSize {
		return err
	}
	for i := range si.folders {
		si.folders[i].unpacks = make([]uint64, outs[i])
		for j := range si.folders[i].unpacks {
			if si.folders[i].unpacks[j], err = w.num(); err != nil {
				return err
			}
		}
	}
	for {
		id, err := w.num()
		if err != nil || id == szEnd {
			return err
		}
		if id != szCRC {
			return nil
		}
		if err := w.digests(n); err != nil {
			return err
		}
	}
}

// folder reads one folder's coders and bindings, returning its number of
// output streams.
func (w *szWalker) folder(f *szFolder) (int, error) {
	n, err := w.count()
	if err != nil {
		return 0, err
	}
	totalIn, totalOut := 0, 0
	for range n {
		flag, err := w.byte()
		if err != nil {
			return 0, err
		}
		idLen := uint64(flag & 0x0f)
		if w.p+int(idLen) > len(w.b) {
			return 0, errSZShort
		}
		c := szCoder{id: w.b[w.p : w.p+int(idLen)]}
		w.p += int(idLen)
		in, out := 1, 1
		if flag&0x10 != 0 {
			if in, err = w.count(); err != nil {
				return 0, err
			}
			if out, err = w.count(); err != nil {
				return 0, err
			}
		}
		if flag&0x20 != 0 {
			size, err := w.count()
			if err != nil {
				return 0, err
			}
			c.props = w.b[w.p : w.p+size]
			w.p += size
		}
		totalIn += in
		totalOut += out
		if totalIn > len(w.b) || totalOut > len(w.b) {
			return 0, fmt.Errorf("%w: %d coder streams", errSevenZipCount, totalOut)
		}
		f.coders = append(f.coders, c)
	}
	for range totalOut - 1 { // bind pairs
		if _, err := w.num(); err != nil {
			return 0, err
		}
		if _, err := w.num(); err != nil {
			return 0, err
		}
	}
	if packed := totalIn - (totalOut - 1); packed > 1 {
		for range packed {
			if _, err := w.num(); err != nil {
				return 0, err
			}
		}
	}
	return totalOut, nil
}

func (w *szWalker) subStreams(folders int) error {
	streams := folders
	for {
		id, err := w.num()
		if err != nil || id == szEnd {
			return err
		}
		switch id {
		case szNumUnpackStream:
			streams = 0
			for range folders {
				n, err := w.count()
				if err != nil {
					return err
				}
				streams += n
				if streams > len(w.b) {
					return fmt.Errorf("%w: %d streams", errSevenZipCount, streams)
				}
			}
		case szSize:
			for range streams - min(streams, folders) {
				if _, err := w.num(); err != nil {
					return err
				}
			}
		case szCRC:
			if err := w.digests(streams); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// digests skips n optional CRCs: an all-defined byte or a bit field, then
// four bytes for each defined one.
func (w *szWalker) digests(n int) error {
	all, err := w.byte()
	if err != nil {
		return err
	}
	defined := n
	if all == 0 {
		if w.p+(n+7)/8 > len(w.b) {
			return errSZShort
		}
		defined = 0
		for i := range n {
			if w.b[w.p+i/8]&(0x80>>(i%8)) != 0 {
				defined++
			}
		}
		w.p += (n + 7) / 8
	}
	return w.skip(uint64(defined) * 4)
}

func (w *szWalker) filesInfo() error {
	if _, err := w.count(); err != nil {
		return err
	}
	for {
		t, err := w.num()
		if err != nil || t == 0 {
			return err
		}
		n, err := w.num()
		if err != nil {
			return err
		}
		if err := w.skip(n); err != nil {
			return err
		}
	}
}

// decode returns the encoded header: the first folder's output when it is
// one LZMA or LZMA2 coder, nil (no check possible: the library's own
// decoding, e.g. of an encrypted header, decides) for other coders.
func (si *szStreams) decode(data []byte, base uint64) ([]byte, error) {
	if len(si.folders) != 1 || len(si.folders[0].coders) != 1 || len(si.packSizes) < 1 || len(si.folders[0].unpacks) != 1 {
		return nil, nil
	}
	c := si.folders[0].coders[0]
	size := si.folders[0].unpacks[0]
	start := base + si.packPos
	if size > sevenZipMaxHeader || si.packPos > uint64(len(data)) || start > uint64(len(data)) || si.packSizes[0] > uint64(len(data))-start {
		return nil, fmt.Errorf("%w: encoded header of %d bytes", errSevenZipCount, size)
	}
	packed := data[start : start+si.packSizes[0]]
	var r io.Reader
	switch {
	case bytes.Equal(c.id, []byte{3, 1, 1}) && len(c.props) == 5:
		hdr := append(append([]byte(nil), c.props...), binary.LittleEndian.AppendUint64(nil, size)...)
		lr, err := lzma.ReaderConfig{DictCap: sevenZipMaxHeader}.NewReader(io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(packed)))
		if err != nil {
			return nil, fmt.Errorf("encoded header: %w", err)
		}
		r = lr
	case bytes.Equal(c.id, []byte{0x21}) && len(c.props) == 1:
		// The property byte p codes the dictionary as (2 | p&1) << (p/2 + 11).
		p := int(c.props[0])
		if p > 40 {
			return nil, fmt.Errorf("encoded header: LZMA2 dictionary property %d", p)
		}
		dict := sevenZipMaxHeader
		if p < 40 {
			dict = min(dict, (2|p&1)<<(p/2+11))
		}
		lr, err := lzma.Reader2Config{DictCap: max(dict, 4096)}.NewReader2(bytes.NewReader(packed))
		if err != nil {
			return nil, fmt.Errorf("encoded header: %w", err)
		}
		r = lr
	default:
		return nil, nil
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("encoded header: %w", err)
	}
	return out, nil
}
