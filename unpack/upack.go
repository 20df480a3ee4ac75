package unpack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/glassav/glassav/filetype"
)

// Upack compresses a program with LZMA and hides its loader in the PE
// headers. Two layouts exist, which ClamAV (upack.c and the Upack path of
// pe.c) tells apart by the size of the optional header and the entry
// point's first instructions:
//
//   - three sections and an optional header of 0x148 bytes (Upack 0.39
//     and two later builds, "0151477" and "0297729" in ClamAV's notes):
//     "mov esi, addr; lodsd; push eax" or "mov esi, addr; push [esi]".
//     The image is laid out from the first section's RVA; the file's first
//     bytes (headers and loader) are also mapped at the third section.
//   - two sections, the first empty (Upack 0.39 "2-section", "pusha; call
//     $+9", and 1.1/1.2, "mov esi, addr; lodsd; mov edi, eax"). The image
//     is laid out from RVA 0.
//
// In both the loader copies a block of parameters into a work area, sets
// up the LZMA decoder's state there (range, low end, the four repeat
// distances, then its probabilities, one 32-bit word each) and decodes
// from a packed stream into the image until an end address. The literal
// context (lc) is read from a shift in the loader; lp and pb are 0. The
// decoder is packlzma.go's: only the model's layout differs, and it is
// loaded from and stored back to the work area so the image ends as the
// loader leaves it. Calls are then fixed: after each 0xe8/0xe9 byte whose
// following byte is the loader's marker, the next three bytes hold a
// big-endian absolute target, made relative again.
//
// The rebuilt PE file has one section, the decoded span, placed at the
// first section's RVA, as ClamAV's rebuild does. Its entry point is
// ClamAV's too: for the three-section layout ClamAV subtracts the first
// section's address from the stored entry point, so the rebuilt file's
// entry point is relative to that section (0x20 rather than 0x1020 for
// clam-upack.exe); glassav keeps that, so entry-point signatures written
// against ClamAV's unpacked files match the same bytes.

// upackFormat unpacks Upack-packed executables.
func upackFormat() *Format {
	return &Format{
		Name:   "upack",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { return upackLayout(viewExe(data)) != upackNone },
		Unpack: unpackUpack,
	}
}

// upackKind is the layout of a Upack-packed file.
type upackKind int

const (
	upackNone  upackKind = iota
	upackThree           // three sections, optional header of 0x148 bytes
	upackTwo             // two sections, the first empty
)

// upackEPMin is how many bytes at the entry point ClamAV requires before
// it tries Upack (or FSG or UPX).
const upackEPMin = 168

// upackLayout recognises the entry point of a Upack loader.
func upackLayout(v *exeView) upackKind {
	if v == nil || len(v.epbuf) < upackEPMin {
		return upackNone
	}
	ep := v.epbuf
	esi := le32(ep, 1) - v.imageBase // mov esi, addr
	if upackOptHeader(v) {
		if len(v.sections) == 3 && ep[0] == 0xbe && esi > v.min &&
			(ep[5] == 0xad && ep[6] == 0x50 || ep[5] == 0xff && ep[6] == 0x36) {
			return upackThree
		}
		return upackNone
	}
	if packedSections(v) < 0 || len(v.sections) != 2 {
		return upackNone
	}
	if ep[0] == 0x60 && ep[1] == 0xe8 && le32(ep, 2) == 9 || // pusha; call $+9
		ep[0] == 0xbe && esi < v.min && esi > 0 && ep[5] == 0xad && ep[6] == 0x8b && ep[7] == 0xf8 {
		return upackTwo
	}
	return upackNone
}

// upackOptHeader reports whether the optional header is 0x148 bytes long,
// the mark ClamAV takes for Upack's three-section layout.
func upackOptHeader(v *exeView) bool {
	at := uint64(v.lfanew) + 20
	return at+2 <= uint64(len(v.data)) && binary.LittleEndian.Uint16(v.data[at:]) == 0x148
}

// upackRaw returns section i's PointerToRawData as stored.
func upackRaw(v *exeView, i int) uint32 {
	opt := uint64(binary.LittleEndian.Uint16(v.data[v.lfanew+20:]))
	return le32(v.data, uint64(v.lfanew)+24+opt+uint64(i)*40+20) // exe.Parse checked the table
}

func unpackUpack(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	const name = "upack"
	if err := b.Check(ctx); err != nil {
		return err
	}
	v := viewExe(data)
	kind := upackLayout(v)
	if kind == upackNone {
		return Corrupt(name, -1, "not a Upack-packed PE file")
	}
	s := v.sections
	// The image and where the file's parts go in it.
	var head, off, vma, c uint32
	if kind == upackThree {
		c = s[2].vsz
		head = s[0].ursz + upackRaw(v, 0)
		off = s[0].rva
		vma = v.imageBase + s[0].rva
	} else {
		c = s[1].rva
		head = upackRaw(v, 1)
		vma = s[1].rva - head
	}
	size := s[0].vsz + s[1].vsz + c
	if !within(0, uint64(size), uint64(s[1].rva-off), uint64(s[1].ursz)) ||
		kind == upackThree && !within(0, uint64(size), uint64(s[2].rva-s[0].rva), uint64(head)) || head > size {
		return Corrupt(name, -1, "sections do not fit the 0x%x-byte image", size)
	}
	if uint64(head) > uint64(len(data)) {
		return Corrupt(name, -1, "file shorter than its first 0x%x bytes", head)
	}
	img, err := imageBuffer(b, uint64(size), len(data))
	if err != nil {
		return err
	}
	copy(img, data[:head])
	if kind == upackThree {
		copy(img[s[2].rva-s[0].rva:], img[:head])
	}
	raw1 := upackRaw(v, 1)
	copy(img[s[1].rva-off:], data[raw1:uint64(raw1)+uint64(s[1].ursz)])

	u := &upackImage{img: img, base: v.imageBase, vma: vma}
	var job *upackJob
	if kind == upackThree {
		job, err = u.three(v.epbuf, v.ep)
	} else {
		job, err = u.two(v.epbuf, v.ep)
	}
	if err == nil {
		err = u.decode(ctx, b, job)
	}
	if err == nil {
		err = u.fixCalls(ctx, b, job)
	}
	if err != nil {
		if errors.Is(err, errUpack) || errors.Is(err, errPackLZMA) {
			return Corrupt(name, -1, "%v", err)
		}
		return err
	}

	// One section: the decoded span, at the first section's RVA, its bytes
	// from the image's start (three sections) or from that RVA (two).
	n := uint64(job.end - job.out)
	at := uint64(s[0].rva)
	if kind == upackThree {
		at = 0
	}
	if at+n > uint64(len(img)) {
		return Corrupt(name, -1, "rebuilt section 0x%x+0x%x exceeds the 0x%x-byte image", at, n, len(img))
	}
	p := &peImage{
		Data:      img,
		Sections:  []imageSection{{RVA: s[0].rva, VirtualSize: uint32(n), Raw: uint32(at), RawSize: uint32(n)}},
		ImageBase: v.imageBase,
		EntryRVA:  job.entry,
	}
	pe, err := p.rebuild(b, name)
	if err != nil {
		return err
	}
	return emitPE(ctx, b, name, pe, emit)
}

// errUpack is the error of a loader or parameter block that does not
// read as Upack's.
var errUpack = errors.New("loader")

func upackErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUpack, fmt.Sprintf(format, args...))
}

// upackImage is the memory image being unpacked, with the loader's
// view of it: addresses minus vma (or minus the image base, for some
// parameters) are offsets in img. Offsets are int64 so that the loader's
// address arithmetic, done in 32 bits and then added to a pointer as
// ClamAV does, never wraps here.
type upackImage struct {
	img       []byte
	base, vma uint32
}

// upackJob is what the loader decodes and how.
type upackJob struct {
	entry    uint32 // the original entry point for the rebuilt file
	model    int64  // the decoder's work area: range, low, distances, probabilities
	lc       uint
	src      int64  // the packed stream
	out, end int64  // the output span
	marker   int64  // where the loader holds the call fixing's marker byte
	calls    uint32 // how many calls to fix, or
	callsAt  int64  // where that count is read once decoding is done (when > 0)
}

// in reports whether img[off:off+n] exists, n > 0.
func (u *upackImage) in(off, n int64) bool {
	return n > 0 && off >= 0 && off+n <= int64(len(u.img))
}

func (u *upackImage) u32(off int64) uint32 { return le32(u.img, uint64(off)) }

func (u *upackImage) put32(off int64, x uint32) {
	binary.LittleEndian.PutUint32(u.img[off:], x)
}

// is reports whether img[off] exists and is c.
func (u *upackImage) is(off int64, c byte) bool { return u.in(off, 1) && u.img[off] == c }

// rel is a 32-bit loader address minus sub, as an image offset.
func rel(addr, sub uint32) int64 { return int64(addr - sub) }

// setModel writes the decoder's initial state at ebx as the loaders do:
// full range, zero low end, every distance one byte back, then count
// probabilities of value p.
func (u *upackImage) setModel(ebx int64, count, p uint32) {
	u.put32(ebx, 0xffffffff)
	u.put32(ebx+4, 0)
	for i := int64(0); i < 4; i++ {
		u.put32(ebx+8+4*i, 1)
	}
	for i := int64(0); i < int64(count); i++ {
		u.put32(ebx+24+4*i, p)
	}
}

// three follows the three-section loaders (0.39, "0151477", "0297729")
// from the entry point to the parameter block and sets the work area up.
// ep is the entry point's file offset, which is also its offset in img
// (the file's first bytes are mapped at the image's start).
func (u *upackImage) three(epbuf []byte, epOff uint32) (*upackJob, error) {
	const (
		v399 = iota
		v0151477
		v0297729
	)
	ver := v399
	if epbuf[5] == 0xff && epbuf[6] == 0x36 {
		ver = v0297729
	}
	vma, img := u.vma, u.img
	esi := rel(le32(epbuf, 1), vma)
	if !u.in(esi, 12) {
		return nil, upackErr("entry record 0x%x outside the image", esi)
	}
	job := &upackJob{entry: u.u32(esi) - vma}
	esi += 8
	ep := int64(epOff)
	var edi, al int64
	long := int64(8) // where the long jump is after "mov ch, count"
	if ver == v399 {
		edi = rel(u.u32(esi), vma)
		if !u.in(ep+0xa, 2) || img[ep+0xa] != 0xeb {
			return nil, upackErr("no short jump at the entry point")
		}
		esi = ep + 0xc + int64(int8(img[ep+0xb]))
		al = esi + 0x1a
		if !u.in(al, 2) || img[al] != 0xeb {
			return nil, upackErr("no second short jump")
		}
		al++
		al += int64(img[al]) + 1 + 0xa
	} else {
		if !u.in(ep+7, 5) || img[ep+7] != 0xe9 {
			return nil, upackErr("no jump at the entry point")
		}
		esi = ep + 0xc + int64(int32(u.u32(ep+8)))
		al = esi + 0x25
		long = 10
	}
	if !u.in(al, 2) || img[al] != 0xb5 {
		return nil, upackErr("no mov ch, count")
	}
	al++
	count := uint32(img[al])
	if !u.in(al, long+5) || img[al+long] != 0xe9 {
		return nil, upackErr("no jump to the decoder")
	}
	// The decoder's head, found from that jump.
	head := int64(u.u32(al + long + 1))
	if ver == v399 {
		head = int64(uint32(head + esi + int64(int8(img[esi+0x1b])) + 0x1c + 0x18))
	} else {
		head = int64(uint32(head + esi + 0x35))
	}
	al, short, shr := head+43, int64(8), int64(24)
	if !u.is(al-1, 0xe3) || !u.in(al-1, 2) {
		al = head + 46
		if !u.is(al-1, 0xe3) || !u.in(al-1, 2) {
			return nil, upackErr("no jecxz in the decoder")
		}
		if ver != v0297729 {
			ver = v0151477
		}
		short, shr = 7, 26
	}
	al += int64(img[al]) + 1
	if !u.in(al, short+5) || img[al+short] != 0xe9 {
		return nil, upackErr("no jump to the call fixing")
	}
	al += int64(u.u32(al+short+1) + uint32(short) + 1 + 4 + 27) // to "cmp al, marker"
	if ver == v0297729 {
		al += 2
	}
	job.marker = al
	if !u.in(head+shr, 3) || img[head+shr] != 0xc1 || img[head+shr+1] != 0xed {
		return nil, upackErr("no shr ebp in the decoder")
	}
	shift := uint32(img[head+shr+2])
	if shift < 2 || shift > 8 {
		return nil, upackErr("literal context shift %d out of bounds", shift)
	}
	job.lc = uint(8 - shift)
	count *= 0x100

	// The parameter block.
	if ver == v0297729 {
		if !u.in(esi+6, 10) || img[esi+6] != 0xbe || img[esi+11] != 0xbf {
			return nil, upackErr("no mov esi, mov edi")
		}
		from := u.u32(esi + 7)
		if from < u.base || from > vma {
			return nil, upackErr("parameters at 0x%x outside the image", from)
		}
		edi = rel(u.u32(esi+12), vma)
		esi = rel(from, u.base)
	} else {
		if !u.in(esi+7, 5) || img[esi+7] != 0xbe {
			return nil, upackErr("no mov esi")
		}
		esi = rel(u.u32(esi+8), vma)
	}
	words, last := int64(0x27), int64(0x34)
	if ver == v0297729 {
		words, last = 0x16, 0x64
	}
	if !u.in(edi, 4*words+24+4*int64(count)) || !u.in(esi, 4*words+last+4) {
		return nil, upackErr("parameter block outside the image")
	}
	for i := int64(0); i < words; i++ {
		u.put32(edi, u.u32(esi))
		edi += 4
		esi += 4
	}
	job.calls = u.u32(esi + 4)
	job.src = rel(u.u32(edi-4), vma)
	job.model = edi
	u.setModel(edi, count, 0x400)
	job.out = rel(u.u32(esi+0xc), vma)
	if ver == v0297729 {
		job.out = int64(vma - u.base)
		job.end = rel(u.u32(esi+0x64), vma)
		job.calls = u.u32(esi + 0x40)
	} else {
		job.end = rel(u.u32(esi+0x34), vma)
	}
	if job.out > job.end {
		return nil, upackErr("output starts at 0x%x, after its end 0x%x", job.out, job.end)
	}
	return job, nil
}

// two follows the two-section loaders (0.39 and 1.1/1.2); the image is
// laid out from RVA 0 and ep, the entry point's file offset, sits at
// vma+ep.
func (u *upackImage) two(epbuf []byte, epOff uint32) (*upackJob, error) {
	img := u.img
	v11 := epbuf[0] == 0xbe && epbuf[5] == 0xad && epbuf[6] == 0x8b && epbuf[7] == 0xf8
	esi := int64(u.vma) + int64(epOff)
	jmp, stosd, shr, al := int64(0x217), int64(0x3a), int64(0x5f), esi+0x1c1
	if v11 {
		jmp, stosd, shr, al = 0x1a4, 0x1b, 0x41, esi+0x184
	}
	if !u.in(esi, jmp+4) {
		return nil, upackErr("loader outside the image")
	}
	job := &upackJob{marker: al}
	job.entry = uint32(esi + jmp + 4 + int64(int32(u.u32(esi+jmp))))
	count := uint32(img[esi+stosd]) * 0x100
	shift := 8 - uint32(img[esi+shr])
	if shift < 2 || shift > 8 {
		return nil, upackErr("literal context shift %d out of bounds", shift)
	}
	job.lc = uint(8 - shift)
	base := u.base
	var params int64 // the parameter block
	if !v11 {
		esi += 4
		n := u.u32(esi + 2)
		u.put32(esi+2, 0)
		if n == 0 {
			return nil, upackErr("zero loader displacement")
		}
		esi -= int64(n - 2)
		if !u.in(esi, 12) {
			return nil, upackErr("loader table outside the image")
		}
		delta := uint32(esi) - (u.u32(esi) - base) // how far the loader moved
		esi += 4
		table := rel(u.u32(esi), base)
		edi := table
		esi += 4
		words := int32(u.u32(esi))
		if words < 0 {
			return nil, upackErr("negative copy count")
		}
		esi += 4
		if !u.in(esi, 4*int64(words)) || !u.in(edi, 4*(int64(words)+int64(count))) {
			return nil, upackErr("copied block outside the image")
		}
		for i := int32(0); i < words; i++ {
			u.put32(edi, u.u32(esi))
			edi += 4
			esi += 4
		}
		if !u.in(table, 8) {
			return nil, upackErr("table outside the image")
		}
		// Skip the table's entries, each delta+4 bytes (2^32 of them for
		// a count of zero, as the loader's loop runs).
		entries := uint64(u.u32(table))
		if entries == 0 {
			entries = 1 << 32
		}
		step := uint64(delta) + 4
		if step > 0 && entries > uint64(len(img))/step {
			return nil, upackErr("table entries run past the image")
		}
		esi = table + 4 + int64(entries*step)
		if !u.in(esi, 4) {
			return nil, upackErr("probability value outside the image")
		}
		p := u.u32(esi)
		esi += 4
		for i := uint32(0); i < count; i++ {
			u.put32(edi, p)
			edi += 4
		}
		if !u.in(esi+0x10, 4) {
			return nil, upackErr("relocated word outside the image")
		}
		u.put32(esi+0x10, u.u32(esi+0x10)+delta)
		ebx := esi + 0x14
		params = table + 8
		job.out = rel(u.u32(table+4), base)
		if !u.in(ebx-4, 12+4*4) || !u.in(params+0x24, 4) || !u.in(params+0x40, 4) {
			return nil, upackErr("decoder state outside the image")
		}
		job.src = rel(u.u32(ebx-4), base)
		job.end = rel(u.u32(params+0x24), base)
		// The loader swaps the range and the low end it stored.
		r, l := u.u32(ebx), u.u32(ebx+4)
		u.put32(ebx, l)
		u.put32(ebx+4, r)
		job.model = ebx
	} else {
		const at = 0x148 // where 1.1/1.2 keep their parameters
		if !u.in(at, 16) {
			return nil, upackErr("parameters outside the image")
		}
		edi := rel(u.u32(at), base)
		job.src = rel(u.u32(at+4), base)
		edi += 4
		if !u.in(edi, 4*(6+int64(count))) {
			return nil, upackErr("decoder state outside the image")
		}
		u.setModel(edi, count, 0x400)
		job.model = edi
		job.out = rel(u.u32(at+8), base)
		if !u.in(at+16-0x28, 4) {
			return nil, upackErr("end address outside the image")
		}
		job.end = rel(u.u32(at+16-0x28), base)
	}
	if job.out > job.end {
		return nil, upackErr("output starts at 0x%x, after its end 0x%x", job.out, job.end)
	}
	// The loaders read the count of calls once decoding is done.
	job.callsAt = params + 0x40
	if v11 {
		job.callsAt = int64(u.vma) + int64(epOff) + 0x174 // inside the loader checked above
	}
	return job, nil
}

// upackModel maps LZMA's probabilities (packlzma.go's order) to their
// byte offsets in Upack's work area, for literal context lc: -1 for those
// Upack's model, with lp = pb = 0, does not have. The area starts with
// the range, the low end and the four distances (0x18 bytes), then the
// alignment bits, the state bits (match, repeat, repeat 0, 1, 2, long
// repeat 0 as Upack orders them), the distance slots' special bits, the
// slots, the repeat and match length coders, and the literals.
func upackModel(lc uint) []int32 {
	m := make([]int32, plzLiteral+0x300<<lc)
	for i := range m {
		m[i] = -1
	}
	for s := 0; s < plzStates; s++ {
		o := int32(4 * s)
		m[plzIsMatch+s<<4] = 0x58 + o
		m[plzIsRep+s] = 0x88 + o
		m[plzIsRepG0+s] = 0xb8 + o
		m[plzIsRep0Long+s<<4] = 0xe8 + o
		m[plzIsRepG1+s] = 0x118 + o
		m[plzIsRepG2+s] = 0x148 + o
	}
	for i := 1; i < 16; i++ {
		m[plzAlign+i] = 0x18 + int32(4*i)
	}
	for slot := 4; slot < 14; slot++ {
		n := slot/2 - 1
		base := (2 | slot&1) << n
		for i := 1; i < 1<<n; i++ {
			m[plzSpecPos+base-slot-1+i] = 0x178 + int32(4*(base+i))
		}
	}
	for i := 0; i < 4<<6; i++ {
		if i&63 != 0 {
			m[plzPosSlot+i] = 0x378 + int32(4*i)
		}
	}
	for _, c := range [2]struct{ std, up int }{{plzRepLenCoder, 0x778}, {plzLenCoder, 0xbc0}} {
		m[c.std] = int32(c.up)
		m[c.std+1] = int32(c.up + 4)
		for i := 1; i < 8; i++ {
			m[c.std+2+i] = int32(c.up + 4*(2+i))
			m[c.std+2+16<<3+i] = int32(c.up + 4*(10+i))
		}
		for i := 1; i < 256; i++ {
			m[c.std+2+2*16<<3+i] = int32(c.up + 4*(18+i))
		}
	}
	for i := 0; i < 0x300<<lc; i++ {
		if i%0x300 != 0 {
			m[plzLiteral+i] = 0x1008 + int32(4*i)
		}
	}
	return m
}

// decode runs the loader's LZMA decoder: the model is loaded from the
// work area, the output written into the image, the model stored back.
func (u *upackImage) decode(ctx context.Context, b *Budget, job *upackJob) error {
	model := upackModel(job.lc)
	top := int64(0x1008 + 4*0x300<<job.lc) // the model's end
	if !u.in(job.model, top) {
		return upackErr("decoder model at 0x%x outside the image", job.model)
	}
	if !u.in(job.src, 4) {
		return upackErr("packed stream at 0x%x outside the image", job.src)
	}
	if job.out < 0 || job.end > int64(len(u.img)) {
		return upackErr("output 0x%x..0x%x outside the image", job.out, job.end)
	}
	w := job.model
	code := binary.BigEndian.Uint32(u.img[job.src:]) - u.u32(w+4)
	d := newPackLZMA(job.lc, 0, 0, u.img[job.src:], 4, u.u32(w), code)
	for i := range d.reps {
		d.reps[i] = u.u32(w + 8 + 4*int64(i))
	}
	for i, off := range model {
		if off < 0 {
			continue
		}
		p := u.u32(w + int64(off))
		if p > 0x800 {
			return upackErr("probability 0x%x out of range", p)
		}
		d.probs[i] = uint16(p)
	}
	out, err := d.decode(ctx, b, u.img, int(job.out), int(job.end), false)
	for i, off := range model {
		if off >= 0 {
			u.put32(w+int64(off), uint32(d.probs[i]))
		}
	}
	if errors.Is(err, errPackLZMA) {
		return fmt.Errorf("packed stream at image offset 0x%x: %w after 0x%x of 0x%x bytes", job.src, err, int64(out)-job.out, job.end-job.out)
	}
	return err
}

// fixCalls undoes the packer's call transform on the decoded output:
// after each 0xe8 or 0xe9 byte, a word whose low byte is the marker holds
// a big-endian absolute target in its upper three bytes; it becomes the
// relative displacement again, until the count of calls is done.
func (u *upackImage) fixCalls(ctx context.Context, b *Budget, job *upackJob) error {
	calls := job.calls
	if job.callsAt > 0 {
		calls = u.u32(job.callsAt) // checked in bounds by the loader walk
	}
	if !u.in(job.marker, 1) {
		return upackErr("call marker at 0x%x outside the image", job.marker)
	}
	marker := u.img[job.marker]
	at := job.out
	for i, n := int64(0), 0; calls > 0; n++ {
		if n&0xffff == 0 {
			if err := b.Check(ctx); err != nil {
				return err
			}
		}
		if !u.in(at+i, 1) {
			return upackErr("call %d past the image", calls)
		}
		c := u.img[at+i]
		i++
		if c != 0xe8 && c != 0xe9 {
			continue
		}
		if !u.in(at+i, 4) {
			return upackErr("call %d past the image", calls)
		}
		x := u.u32(at + i)
		if byte(x) != marker {
			continue
		}
		u.put32(at+i, bits.ReverseBytes32(x&0xffffff00)-uint32(i)-4)
		i += 4
		calls--
	}
	return nil
}
