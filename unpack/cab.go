package unpack

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/glassav/glassav/filetype"
)

// cabFormat opens Microsoft Cabinet files (MS-CAB) and CAB SFX
// executables, whose cabinet follows a stub. A cabinet groups its files
// into folders, each one compressed stream cut into data blocks of at
// most 32 KiB of output; files are ranges of their folder's stream.
// Folders may be stored, MSZIP (one deflate block per data block, each
// using the previous block's output as its dictionary) or LZX; Quantum
// folders are reported as unsupported and their files skipped, as files
// continued from or into another cabinet of a set are.
func cabFormat() *Format {
	return &Format{Name: "cab", Types: []filetype.Type{filetype.MSCAB, filetype.CABSFX}, Unpack: unpackCab}
}

const (
	cabHeaderLen  = 36
	cabFlagPrev   = 1
	cabFlagNext   = 2
	cabFlagRsv    = 4
	cabCompNone   = 0
	cabCompMSZIP  = 1
	cabCompQntm   = 2
	cabCompLZX    = 3
	cabBlockMax   = 32768
	cabMaxFolders = 65535
)

type cabFolder struct {
	off    int64 // first data block
	blocks int
	comp   uint16
}

type cabFile struct {
	name   string
	size   int64
	off    int64 // in the folder's stream
	folder int
	at     int64 // header offset, for errors
}

func unpackCab(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	base := int64(bytes.Index(data, []byte("MSCF\x00\x00\x00\x00")))
	if base < 0 {
		return Corrupt("cab", 0, "no cabinet header")
	}
	cab := data[base:]
	if len(cab) < cabHeaderLen {
		return Corrupt("cab", base, "header truncated")
	}
	le := binary.LittleEndian
	filesOff := int64(le.Uint32(cab[16:]))
	nFolders := int(le.Uint16(cab[26:]))
	nFiles := int(le.Uint16(cab[28:]))
	flags := le.Uint16(cab[30:])
	p := int64(cabHeaderLen)
	var folderRsv, dataRsv int64
	if flags&cabFlagRsv != 0 {
		if len(cab) < cabHeaderLen+4 {
			return Corrupt("cab", base+p, "reserve sizes truncated")
		}
		hdrRsv := int64(le.Uint16(cab[36:]))
		folderRsv, dataRsv = int64(cab[38]), int64(cab[39])
		p += 4 + hdrRsv
	}
	for _, f := range []uint16{cabFlagPrev, cabFlagNext} {
		if flags&f != 0 {
			for range 2 { // cabinet name, disk name
				_, n, ok := cabString(cab, p)
				if !ok {
					return Corrupt("cab", base+p, "previous/next cabinet name truncated")
				}
				p += n
			}
		}
	}
	folders := make([]cabFolder, 0, min(nFolders, len(cab)/8))
	for i := range nFolders {
		if p+8 > int64(len(cab)) {
			return Corrupt("cab", base+p, "folder %d truncated", i)
		}
		folders = append(folders, cabFolder{
			off:    int64(le.Uint32(cab[p:])),
			blocks: int(le.Uint16(cab[p+4:])),
			comp:   le.Uint16(cab[p+6:]),
		})
		p += 8 + folderRsv
	}
	p = filesOff
	files := make([]cabFile, 0, min(nFiles, len(cab)/16))
	var ferr error
	for i := range nFiles {
		if p < 0 || p+16 > int64(len(cab)) {
			ferr = Corrupt("cab", base+p, "file entry %d truncated", i)
			break
		}
		name, n, ok := cabString(cab, p+16)
		if !ok {
			ferr = Corrupt("cab", base+p, "file entry %d: name truncated", i)
			break
		}
		files = append(files, cabFile{
			name:   name,
			size:   int64(le.Uint32(cab[p:])),
			off:    int64(le.Uint32(cab[p+4:])),
			folder: int(le.Uint16(cab[p+8:])),
			at:     base + p,
		})
		p += 16 + n
	}
	dec := make(map[int]*cabFolderReader)
	for _, f := range files {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if f.folder >= 0xfffd {
			// Continued from or into another cabinet: the bytes are not all here.
			continue
		}
		if f.folder >= len(folders) {
			return Corrupt("cab", f.at, "file %q in folder %d of %d", f.name, f.folder, len(folders))
		}
		fo := folders[f.folder]
		r := dec[f.folder]
		if r == nil || r.pos > f.off {
			var err error
			r, err = newCabFolderReader(cab, fo, dataRsv)
			if err != nil {
				// An unsupported method loses this folder's files only.
				if ferr == nil {
					ferr = &FormatError{Format: "cab", Offset: base + fo.off, Err: fmt.Errorf("folder %d, file %q: %w", f.folder, f.name, err)}
				}
				continue
			}
			dec[f.folder] = r
		}
		if err := r.skipTo(ctx, b, f.off); err != nil {
			return classify(err, "cab", base+fo.off)
		}
		m := Member{Name: f.name, Offset: -1}
		if err := emitRead(ctx, b, io.LimitReader(r, f.size), r.packed, m, "cab", f.at, emit); err != nil {
			if !memberLimited(err) {
				return err
			}
			keepFirst(&ferr, err)
			continue
		}
		if r.err == nil && r.pos < f.off+f.size {
			return Corrupt("cab", f.at, "file %q: folder ends %d bytes short", f.name, f.off+f.size-r.pos)
		}
	}
	return ferr
}

// cabString reads a NUL-terminated string at p, returning it and the bytes
// it takes with its NUL.
func cabString(b []byte, p int64) (string, int64, bool) {
	if p < 0 || p >= int64(len(b)) {
		return "", 0, false
	}
	i := bytes.IndexByte(b[p:min(int64(len(b)), p+1024)], 0)
	if i < 0 {
		return "", 0, false
	}
	return string(b[p : p+int64(i)]), int64(i) + 1, true
}

var errCabUnsupported = errors.New("unsupported compression")

// cabFolderReader reads a folder's uncompressed stream block by block.
type cabFolderReader struct {
	cab     []byte
	next    int64 // next data block header
	left    int   // blocks not yet read
	rsv     int64
	comp    uint16
	packed  int64 // packed bytes of the whole folder
	buf     []byte
	out     []byte // unread part of buf
	pos     int64  // stream position of out[0]
	history []byte // MSZIP dictionary: the previous block's output
	lzx     *lzxDecoder
	err     error
}

func newCabFolderReader(cab []byte, fo cabFolder, rsv int64) (*cabFolderReader, error) {
	r := &cabFolderReader{cab: cab, next: fo.off, left: fo.blocks, rsv: rsv, comp: fo.comp & 0x0f}
	switch r.comp {
	case cabCompNone, cabCompMSZIP:
	case cabCompLZX:
	case cabCompQntm:
		return nil, fmt.Errorf("method Quantum: %w", errCabUnsupported)
	default:
		return nil, fmt.Errorf("type %d: %w", r.comp, errCabUnsupported)
	}
	// Sum the packed sizes for the ratio limit; a broken chain is found
	// again, with its offset, when the blocks are read.
	// LZX reads the blocks as one bit stream: join them.
	var joined []byte
	p := fo.off
	for range fo.blocks {
		if p < 0 || p+8+rsv > int64(len(cab)) {
			break
		}
		n := int64(binary.LittleEndian.Uint16(cab[p+4:]))
		r.packed += n
		if r.comp == cabCompLZX {
			joined = append(joined, cab[min(p+8+rsv, int64(len(cab))):min(p+8+rsv+n, int64(len(cab)))]...)
		}
		p += 8 + rsv + n
	}
	if r.comp == cabCompLZX {
		d, err := newLZXDecoder(joined, int(fo.comp>>8)&0x1f)
		if err != nil {
			return nil, err
		}
		r.lzx = d
	}
	return r, nil
}

func (r *cabFolderReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.left == 0 {
			r.err = io.EOF
			return 0, io.EOF
		}
		if err := r.block(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	r.pos += int64(n)
	return n, nil
}

// skipTo reads and drops the folder's stream up to off.
func (r *cabFolderReader) skipTo(ctx context.Context, b *Budget, off int64) error {
	for r.pos < off {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if len(r.out) == 0 {
			if _, err := r.Read(nil); err != nil && err != io.EOF {
				return err
			} else if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			continue
		}
		n := min(int64(len(r.out)), off-r.pos)
		r.out = r.out[n:]
		r.pos += n
	}
	return nil
}

// block decodes the next data block into r.out.
func (r *cabFolderReader) block() error {
	h := r.next
	if h < 0 || h+8+r.rsv > int64(len(r.cab)) {
		return fmt.Errorf("data block at %d truncated", h)
	}
	le := binary.LittleEndian
	packed := int64(le.Uint16(r.cab[h+4:]))
	size := int(le.Uint16(r.cab[h+6:]))
	start := h + 8 + r.rsv
	if start+packed > int64(len(r.cab)) {
		return fmt.Errorf("data block at %d: %d bytes past the end", h, start+packed-int64(len(r.cab)))
	}
	if size > cabBlockMax {
		return fmt.Errorf("data block at %d: %d bytes of output, over %d", h, size, cabBlockMax)
	}
	in := r.cab[start : start+packed]
	r.next = start + packed
	r.left--
	switch r.comp {
	case cabCompNone:
		r.out = in
		return nil
	case cabCompMSZIP:
		if len(in) < 2 || in[0] != 'C' || in[1] != 'K' {
			return fmt.Errorf("MSZIP block at %d: no CK signature", h)
		}
		if cap(r.buf) < cabBlockMax {
			r.buf = make([]byte, cabBlockMax)
		}
		zr := flate.NewReaderDict(bytes.NewReader(in[2:]), r.history)
		n, err := io.ReadFull(zr, r.buf[:size])
		if err != nil && !(err == io.ErrUnexpectedEOF && n == size) {
			return fmt.Errorf("MSZIP block at %d: %w", h, err)
		}
		r.out = r.buf[:n]
		// The next block's dictionary; copied since buf is reused.
		r.history = append(r.history[:0], r.out...)
		return nil
	case cabCompLZX:
		if size == 0 {
			r.out = nil
			return nil
		}
		out, err := r.lzx.decodeFrame(size)
		if err != nil {
			return fmt.Errorf("LZX block at %d: %w", h, err)
		}
		r.out = out
		return nil
	}
	return errCabUnsupported
}
