package unpack

import (
	"context"
	"encoding/binary"
	"errors"

	"github.com/glassav/glassav/filetype"
)

// Petite 2.x packs an executable's sections with an NRV-like LZ77 coder
// (literals XORed with the count of bytes still to come) and appends its
// loader as the last section (v2.2) or the one before it (v2.1). The
// loader starts with "mov eax, <loader section VA>"; 0x1b8 bytes (v2.2)
// or 0x178 bytes (v2.1) into that section, a list of 32-bit records
// drives unpacking:
//
//   - a word with bit 31 set starts a data group: the low bits are a count
//     of words, and two RVAs follow, the group's last word now and where
//     it goes; the loader moves the words there first, so that unpacking
//     in place does not overwrite them;
//   - any other nonzero word is the RVA of a packed section, followed by
//     its unpacked size and destination RVA (and a word the loader skips);
//   - zero ends the list.
//
// Like ClamAV's petite.c, the unpacker follows the records on the memory
// image of the file's sections, recognises the loader's own code left at
// the end of an unpacked section (by two fixed words), strips it and
// reads from it the encrypted original entry point and the import array
// the decryption walks, then sorts the unpacked sections by RVA, guesses
// their virtual sizes from the next section's start, compacts them and
// rebuilds a PE file from them. Imports are not rebuilt (ClamAV does not
// either).

// petiteFormat unpacks Petite 2.1/2.2-packed executables.
func petiteFormat() *Format {
	return &Format{
		Name:   "petite",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { return petiteVersion(viewExe(data)) != 0 },
		Unpack: unpackPetite,
	}
}

// petiteLevelZero is the loader word (0x80 bytes past the entry point)
// of Petite's "level zero" (store only) mode, which ClamAV does not unpack.
const petiteLevelZero = 0x163c988d

// petiteVersion returns 2 for Petite 2.2 (the entry point loads the last
// section's address), 1 for 2.1 (the next to last), 0 for neither or an
// unsupported level-zero file. ClamAV also requires 200 bytes at the
// entry point.
func petiteVersion(v *exeView) int {
	if v == nil || len(v.epbuf) < 200 || v.epbuf[0] != 0xb8 {
		return 0
	}
	va, _ := v.epU32(1)
	n := len(v.sections)
	ver := 0
	switch {
	case va == v.sections[n-1].rva+v.imageBase:
		ver = 2
	case n >= 2 && va == v.sections[n-2].rva+v.imageBase:
		ver = 1
	}
	if w, _ := v.epU32(0x80); w == petiteLevelZero {
		return 0
	}
	return ver
}

func unpackPetite(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	const name = "petite"
	v := viewExe(data)
	ver := petiteVersion(v)
	if ver == 0 {
		return Corrupt(name, -1, "not a Petite 2.1/2.2-packed PE file")
	}
	// The memory image spans the sections' raw data in memory.
	if v.max <= v.min {
		return Corrupt(name, -1, "sections span no memory (0x%x..0x%x)", v.min, v.max)
	}
	buf, err := imageBuffer(b, uint64(v.max-v.min), len(data))
	if err != nil {
		return err
	}
	for i, s := range v.sections {
		if s.raw == 0 {
			continue
		}
		at := int64(s.rva) - int64(v.min)
		if s.rsz == 0 {
			return Corrupt(name, int64(s.raw), "section %d's data at 0x%x lies past the end of the %d-byte file", i, s.raw, len(data))
		}
		if !inImage(len(buf), at, int64(s.ursz)) {
			return Corrupt(name, int64(s.raw), "section %d (RVA 0x%x, 0x%x bytes) outside the memory image", i, s.rva, s.ursz)
		}
		copy(buf[at:], data[s.raw:s.raw+s.ursz])
	}
	secs := v.sections
	if ver == 1 {
		secs = secs[:len(secs)-1]
	}
	p := &petite{ctx: ctx, b: b, buf: buf, min: v.min, secs: secs, base: v.imageBase, vep: v.vep, ver: ver, room: int64(len(buf))}
	img, err := p.unpack()
	if err != nil {
		if _, ok := IsLimit(err); ok || ctx.Err() != nil {
			return err
		}
		return Corrupt(name, -1, "%v", err)
	}
	img.ResourceRVA, img.ResourceSize = v.dir(2).VirtualAddress, v.dir(2).Size
	pe, err := img.rebuild(b, name)
	if err != nil {
		return err
	}
	return emitPE(ctx, b, name, pe, emit)
}

// petite is one unpacking: the memory image buf holds the sections from
// RVA min on.
type petite struct {
	ctx  context.Context
	b    *Budget
	buf  []byte
	min  uint32
	secs []exeViewSection
	base uint32
	vep  uint32
	ver  int
	// room is what the records may still unpack: each unpacks a section
	// of its own, so all of them write no more than the image, however
	// many records name the same stream.
	room int64
}

// petiteSection is an unpacked section found by the records.
type petiteSection struct {
	rva, vsz, rsz, raw uint32
}

// petiteMaxSections is the most unpacked sections ClamAV accepts;
// petiteMaxGroups bounds the data groups, which the loader has one or two
// of, so that a forged record list cannot move the image around at will.
const (
	petiteMaxSections = 96
	petiteMaxGroups   = 96
)

var (
	errPetiteBounds = errors.New("data outside the memory image")
	errPetiteRoom   = errors.New("the records unpack more bytes than the memory image holds")
)

// off turns an RVA into an offset of buf (may be out of range).
func (p *petite) off(rva uint32) int64 { return int64(rva) - int64(p.min) }

// u32 reads the word at buf offset off.
func (p *petite) u32(off int64) (uint32, bool) {
	if !inImage(len(p.buf), off, 4) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(p.buf[off:]), true
}

// unpack follows the records and returns the image to rebuild.
func (p *petite) unpack() (*peImage, error) {
	grown, skew := int64(0x355), int64(0x35) // loader code left in the last section
	packed := p.off(p.secs[len(p.secs)-1].rva) + 0x1b8
	if p.ver == 1 {
		packed = p.off(p.secs[len(p.secs)-1].rva) + 0x178
		grown, skew = 0x323, 0x34
	}
	var (
		usects       []petiteSection
		bottom       uint32
		encEP, irva  uint32
		mangled      bool
		findResource = true // the first section after a data group may hold raw data ahead of it
		groups       int
	)
	for {
		if err := p.b.Check(p.ctx); err != nil {
			return nil, err
		}
		srva, ok := p.u32(packed)
		if !ok {
			return nil, errors.New("record list runs out of the image")
		}
		if srva == 0 {
			break
		}
		size := srva & 0x7fffffff
		if srva != size { // a data group: move its words into place
			findResource = true
			if groups++; groups > petiteMaxGroups {
				return nil, errors.New("more than 96 data groups")
			}
			from, ok1 := p.u32(packed + 4)
			to, ok2 := p.u32(packed + 8)
			if !ok1 || !ok2 {
				return nil, errors.New("data group record runs out of the image")
			}
			bottom = to + 4
			// Word counts are multiplied in 32 bits, as the loader does.
			n, back := int64(size*4), int64((size-1)*4)
			src := int64(int32(from)) - int64(p.min) - back
			dst := int64(int32(to)) - int64(p.min) - back
			if !inImage(len(p.buf), src, n) || !inImage(len(p.buf), dst, n) {
				return nil, errPetiteBounds
			}
			copy(p.buf[dst:dst+n], p.buf[src:src+n])
			packed += 12
			continue
		}
		size, ok1 := p.u32(packed + 4)
		rva, ok2 := p.u32(packed + 8)
		if !ok1 || !ok2 {
			return nil, errors.New("section record runs out of the image")
		}
		packed += 16
		if len(usects) >= petiteMaxSections {
			return nil, errors.New("more than 96 packed sections")
		}
		us := petiteSection{rva: rva, rsz: size, vsz: size}
		if int32(bottom-rva) > 0 {
			us.vsz = bottom - rva
		}
		if size == 0 { // a section without data (stripped relocations)
			usects = append(usects, us)
			continue
		}
		if findResource {
			// Data the packer left unpacked ahead of the destination
			// (such as the icon) belongs to the section.
			for _, s := range p.secs {
				if rva <= s.rva || rva >= s.rva+s.vsz {
					continue
				}
				us.rva, us.rsz = s.rva, rva-s.rva+size
				break
			}
		}
		usects = append(usects, us)
		end, err := p.inflate(p.off(srva), p.off(rva), size)
		if err != nil {
			return nil, err
		}
		// The loader's code left at the end of the section: strip it,
		// and read the encrypted entry point while it is there.
		last := &usects[len(usects)-1]
		reloc, strip := int64(0), false
		if int64(last.rsz) > grown && p.loaderMagic(end-grown+5+0x4f) {
			strip = true
		} else if int64(last.rsz) > grown+skew && p.loaderMagic(end-grown+5+0x4f-skew) {
			reloc, strip = skew, true
		}
		if strip {
			at := end - grown - reloc
			t1, ok1 := p.u32(at + 0x0f - 8)
			t2, ok2 := p.u32(at + 0x0f - 4)
			if ok1 && ok2 {
				t1 ^= 0x9d6661aa
				t2 ^= 0xe908c483
				if t1 == t2 && inImage(len(p.buf), at+0x0f, 0x1c0-0x0f+4) {
					irva, _ = p.u32(at + 0x121)
					e, _ := p.u32(at + 0x0f)
					encEP = e ^ t1
					nop, _ := p.u32(at + 0x1c0)
					mangled = nop != 0x90909090
				}
				last.rsz -= uint32(grown + reloc)
			}
		}
		findResource = false
	}
	if len(usects) == 0 {
		return nil, errors.New("no packed sections")
	}
	// Sort by RVA (a stable exchange sort, as ClamAV's) and guess each
	// virtual size as the distance to the next section.
	for swapped := true; swapped; {
		swapped = false
		for t := 0; t < len(usects)-1; t++ {
			if usects[t].rva > usects[t+1].rva {
				usects[t], usects[t+1] = usects[t+1], usects[t]
				swapped = true
			}
		}
	}
	for t := 0; t < len(usects)-1; t++ {
		usects[t].vsz = usects[t+1].rva - usects[t].rva
	}
	ep := uint32(0)
	if encEP != 0 {
		ep = p.decryptEP(encEP, irva, mangled, usects[0].rva)
	}
	// Compact the sections' bytes to the start of the image.
	img := &peImage{Data: p.buf, ImageBase: p.base, EntryRVA: ep}
	for t := range usects {
		s := &usects[t]
		if t > 0 {
			s.raw = usects[t-1].raw + usects[t-1].rsz
		}
		if s.rsz != 0 {
			from := p.off(s.rva)
			if !inImage(len(p.buf), int64(s.raw), int64(s.rsz)) || !inImage(len(p.buf), from, int64(s.rsz)) {
				return nil, errors.New("unpacked section outside the memory image")
			}
			copy(p.buf[s.raw:], p.buf[from:from+int64(s.rsz)])
		}
		img.Sections = append(img.Sections, imageSection{RVA: s.rva, VirtualSize: s.vsz, Raw: s.raw, RawSize: s.rsz})
	}
	return img, nil
}

// loaderMagic reports whether the two words at off are those of the
// loader code Petite leaves behind ("xor eax,eax; pop esi; mov ebx,fs:[eax]...").
func (p *petite) loaderMagic(off int64) bool {
	a, ok1 := p.u32(off)
	b, ok2 := p.u32(off + 4)
	return ok1 && ok2 && a == 0x645ec033 && b == 0x1b8b188b
}

// decryptEP recovers the original entry point from its encrypted form:
// v2.2 rotates it once for every import it resolves, and moves it down for
// imports that land above the loader or below the current thunk; the
// decrypted value is relative to the end of the loader's first jump. A
// walk that does not end cleanly gives the first section's RVA, as in
// ClamAV.
func (p *petite) decryptEP(enc, irva uint32, mangled bool, fallback uint32) uint32 {
	done := true
	if p.ver == 2 {
		done = false
		virtaddr := p.vep + 5 + p.base
		loaderVA := p.secs[len(p.secs)-1].rva + p.base
		rndm := int64(0)
		thunk := p.off(irva)
		more := true
		// An honest import table reads each word of the image once at
		// most (every library has its own thunk list): words counts the
		// words read in both loops, so that thunks naming the same list
		// over and over cannot make the walk quadratic. A walk that
		// reads more has no clean end.
		words := len(p.buf)/4 + 1
		for more && words > 0 {
			words--
			t, ok := p.u32(thunk)
			if !ok {
				break
			}
			if t == 0 {
				done = true
				break
			}
			imports := p.off(t)
			thunk += 4
			more = false
			for ; words > 0; imports += 4 {
				words--
				api, ok := p.u32(imports)
				if !ok {
					break
				}
				if api == 0 { // the end of this library's thunks
					more = true
					break
				}
				// The countdown only runs for mangled imports by name.
				byName := api&0x80000000 == 0 && mangled
				if byName {
					rndm--
				}
				if byName && rndm < 0 {
					api = virtaddr
					virtaddr += 5
					rndm = int64(virtaddr & 7)
				} else {
					api = 0xbff01337
				}
				if loaderVA < api {
					enc--
				}
				if api < virtaddr {
					enc--
				}
				enc = enc>>3&0x1fffffff | (enc&7)<<29
			}
		}
	}
	if !done {
		return fallback
	}
	return p.vep + 5 + enc
}

// inflate unpacks size bytes from src to dst (offsets of buf) and returns
// where the output ended.
func (p *petite) inflate(src, dst int64, size uint32) (int64, error) {
	var check1, check2 int32
	var goback int
	switch {
	case size < 0x10000:
		check1, check2, goback = -0x3fa0, -0x3a0, 5 // 0xffffc060, 0xfffffc60
	case size < 0x40000:
		check1, check2, goback = -0x7e80, -0x680, 7 // 0xffff8180, 0xfffff980
	default:
		check1, check2, goback = -0x7d00, -0x500, 8 // 0xffff8300, 0xfffffb00
	}
	buf := p.buf
	n := int64(len(buf))
	if !inImage(len(buf), src, 1) || !inImage(len(buf), dst, 1) {
		return 0, errPetiteBounds
	}
	// The first byte is stored as it is.
	buf[dst] = buf[src]
	dst++
	src++
	size--
	var tag uint8 // the bit buffer: a sentinel bit marks when it is empty
	bit := func() (int32, bool) {
		old := tag
		tag <<= 1
		if old&0x7f == 0 {
			// ClamAV never reads the image's last byte as tags.
			if src < 0 || src >= n-1 {
				return 0, false
			}
			old = buf[src]
			tag = old<<1 | 1
			src++
		}
		return int32(old >> 7), true
	}
	var oldback int32
	for iter := 0; size > 0; iter++ {
		if iter&0xffff == 0 {
			if err := p.b.Check(p.ctx); err != nil {
				return 0, err
			}
		}
		t, ok := bit()
		if !ok {
			return 0, errPetiteBounds
		}
		if t == 0 { // literal, XORed with the low byte of the remaining size
			if src < 0 || src >= n || dst < 0 || dst >= n {
				return 0, errPetiteBounds
			}
			if p.room--; p.room < 0 {
				return 0, errPetiteRoom
			}
			buf[dst] = buf[src] ^ byte(size)
			dst++
			src++
			size--
			continue
		}
		var back, length, add int32
		back = 1
		for { // Elias-gamma-like code of the distance's high part
			b1, ok1 := bit()
			back = back*2 + b1
			b2, ok2 := bit()
			if !ok1 || !ok2 {
				return 0, errPetiteBounds
			}
			if b2 == 0 {
				break
			}
		}
		back -= 3
		if back >= 0 { // a new distance: low bits follow
			for k := 0; k < goback; k++ {
				b1, ok := bit()
				if !ok {
					return 0, errPetiteBounds
				}
				back = back*2 + b1
			}
			back = ^back
			add = 1
			if back < check2 {
				add++
			}
			if back < check1 {
				add++
			}
			oldback = back
		} else { // the previous distance again
			length = back + 1
			back = oldback
		}
		for k := 0; k < 2; k++ {
			b1, ok := bit()
			if !ok {
				return 0, errPetiteBounds
			}
			length = length*2 + b1
		}
		if length == 0 {
			length = 1
			for {
				b1, ok1 := bit()
				length = length*2 + b1
				b2, ok2 := bit()
				if !ok1 || !ok2 {
					return 0, errPetiteBounds
				}
				if b2 == 0 {
					break
				}
			}
			length += 2
		}
		length += add
		if length <= 0 || uint32(length) > size {
			return 0, errors.New("match longer than the section")
		}
		size -= uint32(length)
		if p.room -= int64(length); p.room < 0 {
			return 0, errPetiteRoom
		}
		from := dst + int64(back)
		if !inImage(len(buf), dst, int64(length)) || !inImage(len(buf), from, int64(length)) {
			return 0, errPetiteBounds
		}
		for k := int64(0); k < int64(length); k++ {
			buf[dst+k] = buf[from+k]
		}
		dst += int64(length)
	}
	return dst, nil
}
