package unpack

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/glassav/glassav/filetype"
)

// WWPack32 packs each section of an executable with a bit-oriented LZ77
// coder and appends a loader section (.WWP32) that holds the unpacking
// code and, 0x2a1 bytes into it, an array of 17-byte block records:
// the distance back from the loader section to the packed data's section,
// an unused word, the packed size in 32-bit words, the offset of the packed
// data's last word, and a flag byte saying whether another record follows.
// The packed data of a block sits at the end of the region it unpacks to;
// the decoder copies it aside and writes the output from the region's
// start, as the loader does in memory.
//
// As ClamAV's wwunpack does, the unpacked image keeps the file's own
// headers and lays every section out at its RVA (raw offset = RVA, raw
// size = virtual size); the loader section is dropped, the entry point
// taken from the loader's jump, and SizeOfImage reduced by the loader's
// size. The result is a PE file whose byte layout matches ClamAV's, so its
// hash and section offsets agree with what clamscan scans.

// wwpackRecords is where the block records start in the loader section.
const wwpackRecords = 0x2a1

// wwpackEPJump is where the loader section stores the original entry
// point, relative to the instruction that follows it at wwpackEPBase.
const (
	wwpackEPJump = 0x295
	wwpackEPBase = 0x299
)

// wwpackMaxBlocks bounds the block records (the packer writes one per
// section), so that a forged loader cannot unpack the image over and over.
const wwpackMaxBlocks = 1024

// wwpackFormat unpacks WWPack32-packed executables.
func wwpackFormat() *Format {
	return &Format{
		Name:   "wwpack",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { return wwpackDetect(viewExe(data)) },
		Unpack: unpackWWPack,
	}
}

// wwpackEntry and wwpackEntry2 are the loader's first instructions and the
// ones 0x68 bytes in, which ClamAV takes for the WWPack32 signature.
const (
	wwpackEntry  = "\x53\x55\x8b\xe8\x33\xdb\xeb"
	wwpackEntry2 = "\xe8\x00\x00\x00\x00\x58\x2d\x6d\x00\x00\x00\x50\x60\x33\xc9\x50\x58\x50\x50"
)

// wwpackDetect reports whether v is packed by WWPack32: more than one
// section, the entry point at the start of the last one, and the loader's
// code there. ClamAV tries no packer after Petite's check when fewer than
// 200 bytes follow the entry point.
func wwpackDetect(v *exeView) bool {
	return v != nil && len(v.sections) > 1 && len(v.epbuf) >= 200 && v.vep == v.last().rva &&
		v.epAt(0, wwpackEntry) && v.epAt(0x68, wwpackEntry2)
}

func unpackWWPack(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	const name = "wwpack"
	v := viewExe(data)
	if !wwpackDetect(v) {
		return Corrupt(name, -1, "not a WWPack32-packed PE file")
	}
	img, stop, err := wwpackImage(ctx, b, v)
	if err != nil {
		return err
	}
	if err := emitPE(ctx, b, name, img, emit); err != nil {
		return err
	}
	return stop
}

// wwpackImage unpacks v into the memory image of its original sections,
// headers included, and fixes the headers to describe it. A block record
// that is cut or points outside the image ends unpacking early, as in
// ClamAV, which keeps the image as unpacked so far: stop says why, and
// img is still the image to scan. A block whose packed data is corrupt
// fails the whole unpacking (err), as in ClamAV.
func wwpackImage(ctx context.Context, b *Budget, v *exeView) (img []byte, stop, err error) {
	const name = "wwpack"
	secs, ww := v.sections[:len(v.sections)-1], v.last()
	// The image holds the headers (up to the first section's raw data)
	// and every section but the loader at its RVA.
	head, size := ww.raw, uint64(0)
	for _, s := range v.sections {
		head = min(head, s.raw)
	}
	for _, s := range secs {
		size = max(size, uint64(s.rva+s.vsz))
	}
	if head == 0 || size == 0 || uint64(head) > size {
		return nil, nil, Corrupt(name, -1, "no room for the headers (headers 0x%x bytes, image 0x%x)", head, size)
	}
	if uint64(head) > uint64(len(v.data)) {
		return nil, nil, Corrupt(name, int64(len(v.data)), "headers of 0x%x bytes truncated", head)
	}
	img, err = imageBuffer(b, size, len(v.data))
	if err != nil {
		return nil, nil, err
	}
	copy(img, v.data[:head])
	for i, s := range secs {
		if s.rsz == 0 {
			continue
		}
		if !inImage(len(img), int64(s.rva), int64(s.rsz)) {
			return nil, nil, Corrupt(name, -1, "section %d (RVA 0x%x, 0x%x bytes) outside the 0x%x-byte image", i, s.rva, s.rsz, size)
		}
		copy(img[s.rva:], v.data[s.raw:s.raw+s.rsz])
	}
	if ww.rsz == 0 {
		return nil, nil, Corrupt(name, int64(ww.raw), "the loader section has no data")
	}
	loader := v.data[ww.raw : ww.raw+ww.rsz]

	// Unpack each block the loader's records describe. Each block is a
	// section of its own, packed at its end and unpacked from its start:
	// all blocks together hold, and unpack to, no more than the image.
	// The totals are kept so that records naming the same bytes again
	// and again cannot make the work grow with their number.
	blocks := 0
	var packedTotal int64
	room := int64(len(img)) // output the remaining blocks may write
	for rec := wwpackRecords; ; rec += 17 {
		if blocks == wwpackMaxBlocks {
			stop = Corrupt(name, int64(ww.raw)+int64(rec), "more than %d blocks", wwpackMaxBlocks)
			break
		}
		if rec+17 > len(loader) {
			stop = Corrupt(name, int64(ww.raw)+int64(rec), "block records run past the loader section after %d blocks", blocks)
			break
		}
		r := loader[rec:]
		le := binary.LittleEndian
		src := ww.rva - le.Uint32(r[0:])
		szd := le.Uint32(r[8:]) * 4
		srcend := le.Uint32(r[12:])
		at := src + srcend + 4 - szd // where the packed words start
		if szd == 0 || !inImage(len(img), int64(at), int64(szd)) {
			stop = Corrupt(name, int64(ww.raw)+int64(rec), "packed data of block %d (0x%x words at RVA 0x%x) outside the image", blocks, szd/4, at)
			break
		}
		if packedTotal += int64(szd); packedTotal > int64(len(img)) {
			stop = Corrupt(name, int64(ww.raw)+int64(rec), "block %d: the blocks' packed data (0x%x bytes) exceeds the 0x%x-byte image", blocks, packedTotal, len(img))
			break
		}
		packed := append([]byte(nil), img[at:at+szd]...)
		for i := range img[at : at+szd] {
			img[int(at)+i] = 0xff
		}
		if err := wwpackInflate(ctx, b, img, int(at), packed, &room); err != nil {
			if _, ok := IsLimit(err); ok || ctx.Err() != nil {
				return nil, nil, err
			}
			return nil, nil, Corrupt(name, int64(ww.raw)+int64(rec), "block %d at RVA 0x%x: %v", blocks, at, err)
		}
		blocks++
		if r[16] == 0 {
			break
		}
	}
	if err := wwpackFixHeaders(img, v, loader); err != nil {
		return nil, nil, Corrupt(name, int64(v.lfanew), "%v", err)
	}
	return img, stop, nil
}

// wwpackFixHeaders rewrites the headers in img to describe the unpacked
// image as ClamAV does: one section fewer, the original entry point, the
// loader's size taken off SizeOfImage, and each section placed at its RVA
// in the file with its virtual size as raw size.
func wwpackFixHeaders(img []byte, v *exeView, loader []byte) error {
	le := binary.LittleEndian
	pe := uint64(v.lfanew)
	if pe+0x54 > uint64(len(img)) {
		return errors.New("PE header outside the image")
	}
	n := len(v.sections) - 1
	ww := v.last()
	le.PutUint16(img[pe+6:], uint16(n))
	if len(loader) >= wwpackEPJump+4 {
		le.PutUint32(img[pe+0x28:], le.Uint32(loader[wwpackEPJump:])+ww.rva+wwpackEPBase)
	}
	le.PutUint32(img[pe+0x50:], le.Uint32(img[pe+0x50:])-ww.vsz)
	at := pe + 0x18 + uint64(le.Uint16(img[pe+0x14:]))
	for i := 0; i <= n; i++ {
		if at+0x28 > uint64(len(img)) {
			return errors.New("section table outside the image")
		}
		h := img[at : at+0x28]
		if i == n { // the loader's header goes
			clear(h)
			break
		}
		s := v.sections[i]
		le.PutUint32(h[8:], s.vsz)
		le.PutUint32(h[12:], s.rva)
		le.PutUint32(h[16:], s.vsz)
		le.PutUint32(h[20:], s.rva)
		at += 0x28
	}
	return nil
}

// errWWPackBits reports compressed data that ends inside a code.
var errWWPackBits = errors.New("compressed data ends inside a code")

// wwpackBits reads the packer's bit stream: 32-bit little-endian words
// consumed from the most significant bit, refilled one word at a time,
// with literal bytes taken from the same stream between words.
type wwpackBits struct {
	src []byte
	pos int
	bt  uint32 // bits not yet consumed, left-aligned
	bc  uint   // how many of them
	err error
}

func (r *wwpackBits) reseed() {
	if r.pos+4 <= len(r.src) {
		r.bt = binary.LittleEndian.Uint32(r.src[r.pos:])
		r.pos += 4
	} else {
		r.err = errWWPackBits
	}
	r.bc = 32
}

func (r *wwpackBits) bit() uint32 {
	b := r.bt >> 31
	r.bt <<= 1
	r.bc--
	if r.bc == 0 {
		r.reseed()
	}
	return b
}

// bits returns the next n bits (1 <= n <= 15).
func (r *wwpackBits) bits(n uint) uint32 {
	v := r.bt >> (32 - n)
	if r.bc >= n {
		r.bc -= n
		r.bt <<= n
		if r.bc == 0 {
			r.reseed()
		}
		return v
	}
	if r.pos+4 > len(r.src) {
		r.err = errWWPackBits
		return v
	}
	r.bt = binary.LittleEndian.Uint32(r.src[r.pos:])
	r.pos += 4
	r.bc += 32 - n
	v |= r.bt >> r.bc
	r.bt <<= 32 - r.bc
	return v
}

// errWWPackRoom reports blocks that together unpack more than the image.
var errWWPackRoom = errors.New("the blocks unpack more bytes than the image holds")

// wwpackInflate decodes the packed bytes src into img from out on, taking
// what it writes off *room. It ends at the end-of-data code and reports
// an error when a code runs out of input, a copy leaves img or the output
// exceeds *room.
func wwpackInflate(ctx context.Context, b *Budget, img []byte, out int, src []byte, room *int64) error {
	r := &wwpackBits{src: src}
	r.reseed()
	for n := 0; r.err == nil; n++ {
		if n&0xffff == 0 {
			if err := b.Check(ctx); err != nil {
				return err
			}
		}
		if r.bit() == 0 { // literal byte
			if r.pos >= len(src) || out >= len(img) {
				return errors.New("literal past the end of the data")
			}
			if *room--; *room < 0 {
				return errWWPackRoom
			}
			img[out] = src[r.pos]
			out++
			r.pos++
			continue
		}
		sel := r.bits(2)
		if sel == 3 { // two bytes from a short distance
			w := r.bits(2)
			shift, sub := uint(w+5), uint32(31)
			if w >= 2 {
				shift++
				sub += 0x80
			}
			dist := uint32(1)<<shift - sub
			v := r.bits(shift)
			if r.err != nil {
				break
			}
			if v == 0x1ff { // end of data
				return nil
			}
			dist += v
			if *room -= 2; *room < 0 {
				return errWWPackRoom
			}
			if err := wwpackCopy(img, out, dist, 2); err != nil {
				return err
			}
			out += 2
			continue
		}
		// A block from a longer distance; sel (0..2) also picks the
		// length coding.
		var dist uint32
		switch k := r.bits(3); {
		case k < 6:
			var width uint32
			switch k {
			case 0, 1, 2:
				width = k + 5
			case 3:
				width = 8 + r.bit()
			case 4:
				width = 10 + r.bit()
			case 5:
				width = 12
			}
			dist = r.bits(uint(width)) + 1<<width - 31
		case k == 6:
			dist = r.bits(14) + 0x1fe1
		default:
			dist = r.bits(15) + 0x5fe1
		}
		var size uint32
		if sel != 0 {
			size = sel + 2
		} else {
			switch {
			case r.bit() == 0:
				size = r.bit() + 5
			default:
				if v := r.bits(3); v != 0 {
					size = v + 6
				} else if v := r.bits(4); v != 0 {
					size = v + 13
				} else {
					cnt, base := uint(4), uint32(0x0d)
					for {
						if cnt == 7 {
							cnt, base = 0x0e, 0
							break
						}
						base = (base+2)<<1 - 1
						cnt++
						if r.bit() != 0 || r.err != nil {
							break
						}
					}
					size = r.bits(cnt) + base
				}
			}
		}
		if r.err != nil {
			break
		}
		if *room -= int64(size); *room < 0 {
			return errWWPackRoom
		}
		if err := wwpackCopy(img, out, dist, size); err != nil {
			return err
		}
		out += int(size)
	}
	return r.err
}

// wwpackCopy copies n bytes from dist bytes back, byte by byte (the
// regions may overlap), both ends inside img.
func wwpackCopy(img []byte, out int, dist, n uint32) error {
	if n == 0 || out < 0 || int64(out)+int64(n) > int64(len(img)) || int64(dist) > int64(out) {
		return errors.New("back-reference outside the image")
	}
	from := out - int(dist)
	for i := 0; i < int(n); i++ {
		img[out+i] = img[from+i]
	}
	return nil
}
