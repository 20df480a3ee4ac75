package unpack

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/glassav/glassav/filetype"
)

// ASPack 2.x compresses an executable's sections in blocks with an LZ77
// coder whose literals, match lengths and distances are Huffman-coded
// (canonical codes, code lengths themselves coded, tables replaced
// mid-stream on a special symbol), and adds a loader section holding the
// unpacking code, a table of (RVA, size) blocks to unpack in place, the
// tables the distance coder needs, and the original entry point. After
// unpacking the first block, the loader turns the relative targets of
// call and jmp instructions back from the absolute form the packer wrote
// (marked by a tag byte the loader also holds).
//
// As ClamAV's aspack.c does, the unpacker recognises versions 2.12, 2.42
// and those between by where the loader's "push <OEP>; ret" lies past
// the entry point, follows the block table on the file's memory image,
// drops the loader's two sections when the entry point opens the next to
// last and the last is empty, and rebuilds a PE file whose sections are
// the image's (raw size = virtual size) with the original entry point.

// aspackLayout is where a version keeps its tables, relative to the
// loader's start (one byte before the entry point).
type aspackLayout struct {
	name       string
	epCheck    int    // "push imm32; ret" past the entry point
	blocks     uint32 // the block table
	distBits   uint32 // 58 distance-slot widths
	compTables uint32 // length and distance-slot tables of the decoder
	callTag    uint32 // the tag byte of rewritten call/jmp targets
	oep        uint32 // the original entry point
	blockStep  uint32 // bytes per block-table entry
}

var aspackLayouts = []aspackLayout{
	{name: "2.12", epCheck: 0x3b9, blocks: 0x57c, distBits: 0x70e, compTables: 0x6d6, callTag: 0x148, oep: 0x39b, blockStep: 8},
	{name: ">2.12 <2.42", epCheck: 0x41f, blocks: 0x5d8, distBits: 0x76a, compTables: 0x732, callTag: 0x13a, oep: 0x401, blockStep: 12},
	{name: "2.42", epCheck: 0x42b, blocks: 0x5e4, distBits: 0x776, compTables: 0x73e, callTag: 0x148, oep: 0x40d, blockStep: 12},
}

// aspackMaxBlocks bounds the block table (the packer writes one block
// per section), so that a forged table cannot unpack the image over and
// over.
const aspackMaxBlocks = 1024

// aspackEntry opens the loader: pushad; call +3; jmp ...
const aspackEntry = "\x60\xe8\x03\x00\x00\x00\xe9\xeb"

// aspackFormat unpacks ASPack 2.x-packed executables.
func aspackFormat() *Format {
	return &Format{
		Name:   "aspack",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { return aspackDetect(viewExe(data)) != nil },
		Unpack: unpackASPack,
	}
}

// aspackDetect returns the layout of v's ASPack version, or nil. As in
// ClamAV, the file must reach 0x748 bytes past the entry point (the
// smallest version's tables) and hold 0x3bf bytes of loader.
func aspackDetect(v *exeView) *aspackLayout {
	if v == nil || uint64(v.ep)+58+0x70e >= uint64(len(v.data)) || len(v.epbuf) < 0x3bf || !v.epAt(0, aspackEntry) {
		return nil
	}
	for i := range aspackLayouts {
		if v.epAt(aspackLayouts[i].epCheck, "\x68\x00\x00\x00\x00\xc3") {
			return &aspackLayouts[i]
		}
	}
	return nil
}

func unpackASPack(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	const name = "aspack"
	v := viewExe(data)
	lay := aspackDetect(v)
	if lay == nil {
		return Corrupt(name, -1, "not an ASPack 2.x-packed PE file")
	}
	size := uint64(0)
	for _, s := range v.sections {
		size = max(size, uint64(s.rva+s.vsz))
	}
	if size == 0 {
		return Corrupt(name, -1, "sections span no memory")
	}
	img, err := imageBuffer(b, size, len(data))
	if err != nil {
		return err
	}
	for i, s := range v.sections {
		if s.rsz == 0 {
			continue
		}
		if !inImage(len(img), int64(s.rva), int64(s.rsz)) {
			return Corrupt(name, int64(s.raw), "section %d (RVA 0x%x, 0x%x bytes) outside the 0x%x-byte image", i, s.rva, s.rsz, size)
		}
		copy(img[s.rva:], data[s.raw:s.raw+s.rsz])
	}
	ep := v.vep - 1 // the loader starts one byte before the entry point
	if err := aspackUnpack(ctx, b, img, ep, lay); err != nil {
		if _, ok := IsLimit(err); ok || ctx.Err() != nil {
			return err
		}
		return Corrupt(name, -1, "version %s: %v", lay.name, err)
	}
	secs := v.sections
	if n := len(secs); n > 2 && ep == secs[n-2].rva && secs[n-1].rsz == 0 {
		secs = secs[:n-2] // the loader's code and data sections
	}
	p := &peImage{Data: img, ImageBase: v.imageBase}
	if oep := uint64(ep) + uint64(lay.oep); oep+4 <= uint64(len(img)) {
		p.EntryRVA = binary.LittleEndian.Uint32(img[oep:])
	}
	for _, s := range secs {
		p.Sections = append(p.Sections, imageSection{RVA: s.rva, VirtualSize: s.vsz, Raw: s.rva, RawSize: s.vsz})
	}
	pe, err := p.rebuild(b, name)
	if err != nil {
		return err
	}
	return emitPE(ctx, b, name, pe, emit)
}

// aspackUnpack unpacks every block of the table in place in img.
func aspackUnpack(ctx context.Context, b *Budget, img []byte, ep uint32, lay *aspackLayout) error {
	at := func(off uint32, n int) ([]byte, bool) {
		o := uint64(ep) + uint64(off)
		if o+uint64(n) > uint64(len(img)) {
			return nil, false
		}
		return img[o : o+uint64(n)], true
	}
	tables, ok := at(lay.compTables, aspackTablesSize)
	if !ok {
		return errors.New("decoder tables outside the image")
	}
	// The tables and the call tag are read from the image as it is being
	// unpacked, as the loader reads them.
	tag, ok := at(lay.callTag, 1)
	if !ok {
		return errors.New("call tag outside the image")
	}
	s := newASPackStream()
	// Distance slot bases: each slot covers 2^width distances.
	var base uint32
	for i := range s.slotBase {
		s.slotBase[i] = base
		if w, ok := at(lay.distBits+uint32(i), 1); ok {
			base += 1 << (w[0] & 31)
		}
	}
	le := binary.LittleEndian
	blocks := uint64(ep) + uint64(lay.blocks)
	unrolled := uint32(0) // ClamAV's counter of the first block's call fixing
	for n := 0; ; n++ {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if n == aspackMaxBlocks {
			return errors.New("more than 1024 blocks in the table")
		}
		if blocks+8 > uint64(len(img)) {
			return errors.New("block table runs out of the image")
		}
		rva, size := le.Uint32(img[blocks:]), le.Uint32(img[blocks+4:])
		if rva == 0 {
			return nil // the end of the table
		}
		if size == 0 {
			return errors.New("empty block in the table")
		}
		if !inImage(len(img), int64(rva), int64(size)) {
			return errors.New("block outside the image")
		}
		in := make([]byte, int(size)+0x10e)
		copy(in, img[rva:rva+size])
		s.in = in
		out := img[rva : rva+size]
		if err := s.block(ctx, b, tables, out); err != nil {
			return err
		}
		if unrolled == 0 && size > 7 {
			// Rewritten call/jmp targets: the tag byte then three bytes of
			// the big-endian absolute target, made relative again.
			for unrolled < size-6 {
				if c := out[unrolled]; (c == 0xe8 || c == 0xe9) && out[unrolled+1] == tag[0] {
					t := le.Uint32(out[unrolled+1:]) & 0xffffff00
					t = t<<24 | t>>8
					le.PutUint32(out[unrolled+1:], t-unrolled)
					unrolled += 4
				}
				unrolled++
			}
		}
		blocks += uint64(lay.blockStep)
		if lay.blockStep == 12 {
			// Entries whose size is -0x10e are skipped.
			for k := 0; ; k++ {
				if blocks+8 > uint64(len(img)) {
					return errors.New("block table runs out of the image")
				}
				if le.Uint32(img[blocks+4:]) != 0xfffffef2 {
					break
				}
				if k&0xffff == 0 {
					if err := b.Check(ctx); err != nil {
						return err
					}
				}
				blocks += 12
			}
		}
	}
}

// aspackTablesSize is how many bytes of decoder tables the loader holds:
// the base (at 0) and extra-bit count (at 0x1c) of each long match length
// and, at 0x38, the extra-bit count of each of the 58 distance slots.
const aspackTablesSize = 0x38 + 58

// aspackHuff is one canonical Huffman table over 24-bit left-aligned
// codes: limits[l] is the first code longer than l bits, first[l] the
// index in syms of the first symbol of length l, syms the symbols in code
// order, and fast the length of the codes (of at most 8 bits) that start
// with each top byte.
type aspackHuff struct {
	limits [24]uint32
	first  [24]uint32
	syms   []uint32
	fast   [0x100]uint8
}

// aspackStream is the decoder's state, kept across blocks as the loader
// keeps it.
type aspackStream struct {
	in       []byte
	pos      int
	bitpos   uint32
	hash     uint32
	slotBase [58]uint32
	huff     [4]aspackHuff // literals/lengths (721), long lengths (28), distance low bits (8), code lengths (19)
	prevLens [757]uint8    // the previous table's code lengths, deltas apply to them
	lens     [758]uint8
	clens    [19]uint8
	fineDist bool // distances carry 3 Huffman-coded low bits
}

func newASPackStream() *aspackStream {
	s := &aspackStream{hash: 0x10000}
	for i, n := range []int{721, 28, 8, 19} {
		s.huff[i].syms = make([]uint32, n)
	}
	return s
}

var errASPackData = errors.New("compressed data ends early or is inconsistent")

// fill moves whole bytes of input into the bit window.
func (s *aspackStream) fill() bool {
	for s.bitpos >= 8 {
		if s.pos >= len(s.in) {
			return false
		}
		s.hash = s.hash<<8 | uint32(s.in[s.pos])
		s.pos++
		s.bitpos -= 8
	}
	return true
}

// peek returns the next 24 bits of the window, left-aligned.
func (s *aspackStream) peek() uint32 { return s.hash >> (8 - s.bitpos) & 0xffffff }

// getbits reads n bits (n < 24; counts past 24 shift as x86 does).
func (s *aspackStream) getbits(n uint32) (uint32, bool) {
	if !s.fill() {
		return 0, false
	}
	v := s.peek() >> ((24 - n) & 31)
	s.bitpos += n
	return v, true
}

// decode reads one symbol of table which.
func (s *aspackStream) decode(which int) (uint32, bool) {
	if !s.fill() {
		return 0, false
	}
	h := &s.huff[which]
	code := s.peek() & 0xfffe00
	var l uint32
	if code < h.limits[8] {
		l = uint32(h.fast[code>>16])
		if l == 0 || l >= 24 {
			return 0, false
		}
	} else {
		// Longer codes, compared in the loader's order (the limits need
		// not grow on hostile tables, so the order matters).
		switch {
		case code < h.limits[10]:
			l = 10
			if code < h.limits[9] {
				l = 9
			}
		case code < h.limits[11]:
			l = 11
		case code < h.limits[12]:
			l = 12
		case code < h.limits[13]:
			l = 13
		case code < h.limits[14]:
			l = 14
		default:
			l = 15
		}
	}
	s.bitpos += l
	i := (code-h.limits[l-1])>>(24-l) + h.first[l]
	if i >= uint32(len(h.syms)) {
		return 0, false
	}
	return h.syms[i], true
}

// build makes table which from code lengths (0..17; 0: unused).
func (s *aspackStream) build(which int, lens []uint8) bool {
	h := &s.huff[which]
	var count, next [18]uint32
	for _, l := range lens {
		if l > 17 {
			return false
		}
		count[l]++
	}
	h.limits[0], h.first[0] = 0, 0
	var sum, end uint32
	for i, shift := 0, uint32(23); shift >= 9; i, shift = i+1, shift-1 {
		sum += count[i+1] << shift
		if sum > 0x1000000 {
			return false
		}
		h.limits[i+1] = sum
		h.first[i+1] = count[i] + h.first[i]
		next[i+1] = h.first[i+1]
		if shift >= 16 {
			old := end
			end = sum >> 16
			if end != old {
				if end < old || end > 0x100 {
					return false
				}
				for k := old; k < end; k++ {
					h.fast[k] = uint8(i + 1)
				}
			}
		}
	}
	if sum != 0x1000000 {
		return false
	}
	for i, l := range lens {
		if l == 0 {
			continue
		}
		if next[l] >= uint32(len(h.syms)) {
			return false
		}
		h.syms[next[l]] = uint32(i)
		next[l]++
	}
	return true
}

// tables reads a new set of Huffman tables: 19 code-length code lengths,
// then 757 code lengths as deltas to the previous set (with runs of
// zeros and repeats), split into the literal/length, long-length and
// distance tables.
func (s *aspackStream) tables() bool {
	keep, ok := s.getbits(1)
	if keep == 0 {
		clear(s.prevLens[:])
	}
	if !ok {
		return false
	}
	for i := range s.clens {
		v, ok := s.getbits(4)
		if !ok {
			return false
		}
		s.clens[i] = uint8(v)
	}
	if !s.build(3, s.clens[:]) {
		return false
	}
	for n := 0; n < 757; {
		c, ok := s.decode(3)
		if !ok {
			return false
		}
		switch {
		case c < 16:
			s.lens[1+n] = uint8((uint32(s.prevLens[n]) + c) & 0xf)
			n++
		case c == 16: // repeat the previous length 3..6 times
			r, ok := s.getbits(2)
			if !ok {
				return false
			}
			for r += 3; r > 0 && n < 757; r-- {
				s.lens[1+n] = s.lens[n]
				n++
			}
		default: // zeros: 3..10 or 11..138 times
			var r uint32
			if c == 17 {
				r, ok = s.getbits(3)
				r += 3
			} else {
				r, ok = s.getbits(7)
				r += 11
			}
			if !ok {
				return false
			}
			for ; r > 0 && n < 757; r-- {
				s.lens[1+n] = 0
				n++
			}
		}
	}
	if !s.build(0, s.lens[1:722]) || !s.build(1, s.lens[722:750]) || !s.build(2, s.lens[750:758]) {
		return false
	}
	s.fineDist = false
	for _, l := range s.lens[750:758] {
		if l != 3 {
			s.fineDist = true
			break
		}
	}
	copy(s.prevLens[:], s.lens[1:758])
	return true
}

// block decodes one block into out (its unpacked size), reading the
// block's own first set of tables.
func (s *aspackStream) block(ctx context.Context, b *Budget, tables []byte, out []byte) error {
	for i := range s.huff {
		s.huff[i].limits = [24]uint32{}
		s.huff[i].first = [24]uint32{}
	}
	clear(s.prevLens[:])
	s.bitpos = 0x20
	s.pos = 0
	if !s.tables() {
		return errASPackData
	}
	var hist [4]uint32
	size := uint32(len(out))
	for n, iter := uint32(0), 0; n < size; iter++ {
		if iter&0xffff == 0 {
			if err := b.Check(ctx); err != nil {
				return err
			}
		}
		sym, ok := s.decode(0)
		if !ok {
			return errASPackData
		}
		if sym < 256 {
			out[n] = byte(sym)
			n++
			continue
		}
		if sym >= 720 { // new tables
			if !s.tables() {
				return errASPackData
			}
			continue
		}
		slot := (sym - 256) >> 3
		if slot >= 58 {
			return errASPackData
		}
		length := (sym-256)&7 + 2
		if length == 9 { // a long length: base and extra bits from the tables
			x, ok := s.decode(1)
			if !ok || x >= 0x56 {
				return errASPackData
			}
			w := uint32(tables[x+0x1c])
			if !s.fill() {
				return errASPackData
			}
			length += uint32(tables[x]) + s.peek()>>((0x18-w)&31)
			s.bitpos += w
		}
		dist := s.slotBase[slot]
		w := uint32(tables[slot+0x38])
		if !s.fineDist || w < 3 {
			if !s.fill() {
				return errASPackData
			}
			dist += s.peek() >> ((24 - w) & 31)
			s.bitpos += w
		} else {
			w -= 3
			if !s.fill() {
				return errASPackData
			}
			dist += (s.peek() >> ((24 - w) & 31)) * 8
			s.bitpos += w
			low, ok := s.decode(2)
			if !ok {
				return errASPackData
			}
			dist += low
		}
		// Distances 0..2 reuse recent ones (most recent first).
		var back uint32
		if dist < 3 {
			back = hist[dist]
			if dist != 0 {
				hist[dist] = hist[0]
				hist[0] = back
			}
		} else {
			hist[2], hist[1] = hist[1], hist[0]
			back = dist - 3
			hist[0] = back
		}
		back++
		if back == 0 || back > n || length > size-n {
			return errASPackData
		}
		for k := uint32(0); k < length; k++ {
			out[n] = out[n-back]
			n++
		}
	}
	return nil
}
