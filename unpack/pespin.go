package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/bits"

	"github.com/glassav/glassav/filetype"
)

// pespinFormat unpacks executables protected by PESpin 1.1, as ClamAV
// does. PESpin's loader is the last section; the entry point code starts
// with a short jump and a call/pop pair. The loader hides behind several
// layers, each keyed by values found in the one before:
//
//  1. a stretch of the loader XORed with a decreasing byte key;
//  2. a stretch XORed with the low byte of a right-shifting LFSR;
//  3. a checksum of the file up to the loader's end fixes the key of the
//     sections' first layer, another LFSR XOR, applied to the sections a
//     bitmap selects;
//  4. a third LFSR decrypts the loader's polymorphic routine, a few dozen
//     bytes of x86 (add, sub, xor with a constant or CL, inc, dec, rol,
//     ror, no-ops) that this package interprets, once per byte, to
//     decrypt first a table and then, with the routine the table holds,
//     the sections a second bitmap selects;
//  5. sections a third bitmap selects are compressed with FSG's aPLib
//     coder and grow to their virtual size; so may the resources, from
//     an offset the loader stores.
//
// The sections are then laid out one after the other and rebuilt into a
// PE file as ClamAV rebuilds it (image base 0x400000, entry point 0x1000:
// PESpin's redirections of the original entry point are not followed, as
// ClamAV does not, so signatures match the code, not the start).
func pespinFormat() *Format {
	return &Format{
		Name:   "pespin",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { return pespinDetect(data) != nil },
		Unpack: unpackPESpin,
	}
}

// pespinDetect recognises PESpin's entry point in the last section.
func pespinDetect(data []byte) *exeView {
	if len(data) < 0x40 || !bytes.Contains(data[:min(len(data), 4096)], []byte("PE\x00\x00")) {
		return nil
	}
	v := viewExe(data)
	if v == nil || len(v.sections) < 2 {
		return nil
	}
	last := v.last()
	if v.vep < last.rva || uint64(v.vep)-uint64(last.rva)+0x3217+4 > uint64(last.rsz) {
		return nil
	}
	if !v.epAt(4, "\xe8\x00\x00\x00\x00\x8b\x1c\x24\x83\xc3") {
		return nil
	}
	return v
}

func unpackPESpin(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	v := pespinDetect(data)
	if v == nil {
		return Corrupt("pespin", -1, "no PESpin loader at the entry point")
	}
	if int64(len(data)) > b.Limits().MaxFileSize {
		return b.Fail(LimitFileSize, b.Limits().MaxFileSize)
	}
	le := binary.LittleEndian
	sects := v.sections[:len(v.sections)-1]
	last := v.last()
	if uint64(last.raw)+uint64(last.rsz) > uint64(len(data)) {
		return Corrupt("pespin", int64(last.raw), "loader section out of the file")
	}
	// Layers 1 and 2 work on a copy of the loader, so the checksum of
	// layer 3 reads the file as it was.
	spin := bytes.Clone(data[last.raw : last.raw+last.rsz])
	ep := int64(v.vep - last.rva)
	in := func(buf []byte, off, n int64) bool { return off >= 0 && n >= 0 && off+n <= int64(len(buf)) }
	bad := func(what string) error {
		return Corrupt("pespin", int64(last.raw)+ep, "not PESpin 1.1 or damaged: %s", what)
	}

	if !in(spin, ep+0xe5, 0) || spin[ep+0xdb] != 0xbb || spin[ep+0xe0] != 0xb9 {
		return bad("first key")
	}
	key8 := spin[ep+0xdc]
	n := le.Uint32(spin[ep+0xe1:])
	// (ClamAV checks one byte less than the loop below writes.)
	if n != 0x11fe || !in(spin, ep, int64(n)+0x1fe5) {
		return bad("first layer")
	}
	for p := ep + 0x1fe5 + int64(n) - 1; n > 0; n-- {
		spin[p] ^= key8
		key8--
		p--
	}
	if !in(spin, ep+0x3217, 4) {
		return bad("checksum key")
	}
	key32 := le.Uint32(spin[ep+0x26eb:])
	if n = le.Uint32(spin[ep+0x26f0:]); n != 0x5a0 {
		return bad("second layer")
	}
	lfsr(spin[ep+0x2d5:ep+0x2d5+int64(n)], key32, 0x8c328834, true)

	crcLen := uint32(len(data)) - le.Uint32(spin[ep+0x429:])
	if crcLen >= uint32(len(data)) {
		return bad("checksum length")
	}
	key32 = le.Uint32(spin[ep+0x3217:]) - pespinChecksum(data[:crcLen])

	img := bytes.Clone(data)
	copy(img[last.raw:], spin)
	ep += int64(last.raw) // now in img
	if !in(img, ep+0x3207, 4) {
		return bad("section key")
	}
	bitmap := le.Uint32(img[ep+0x3207:])
	for j, s := range sects {
		if bitmap>>uint(j%32)&1 != 0 && j < 32 {
			if !in(img, int64(s.raw), int64(s.rsz)) {
				return Corrupt("pespin", int64(s.raw), "section %d out of the file", j)
			}
			lfsr(img[s.raw:s.raw+s.rsz], key32, 0xed43af31, false)
		}
	}

	if n = le.Uint32(img[ep+0x644:]); n != 0x180 {
		return bad("table layer")
	}
	key32 = le.Uint32(img[ep+0x644+0xc:])
	if !in(img, ep+0x28d3, int64(n)) {
		return bad("table layer bounds")
	}
	lfsr(img[ep+0x28d3:ep+0x28d3+int64(n)], key32, 0xed43af32, true)

	if !in(img, ep+0x28dd, 4) {
		return bad("routine")
	}
	if n = le.Uint32(img[ep+0x28dd:]); n != 0x1a1 {
		return bad("routine length")
	}
	routine := ep + 0x28dd + 0xf
	if !in(img, ep+0x6d4, int64(n)) || !in(img, routine, 0x26) {
		return bad("routine bounds")
	}
	for i := int64(0); n > 0; i++ {
		al, ok := pespinExec(img[ep+0x6d4+i], byte(n), img[routine:routine+0x26])
		if !ok {
			return bad("first polymorphic routine")
		}
		img[ep+0x6d4+i] = al
		n--
	}
	bitmap = le.Uint32(img[ep+0x6f1:])
	routine = ep + 0x755
	for j, s := range sects {
		if j >= 32 || bitmap>>uint(j)&1 == 0 {
			continue
		}
		if !in(img, routine, 0x26) {
			return bad("section routine bounds")
		}
		code := img[routine : routine+0x26]
		sec := img[s.raw : s.raw+s.rsz]
		for i := range sec {
			if i&0xffff == 0 {
				if err := b.Check(ctx); err != nil {
					return err
				}
			}
			al, ok := pespinExec(sec[i], byte(len(sec)-i), code)
			if !ok {
				return Corrupt("pespin", int64(s.raw), "section %d: polymorphic routine fails", j)
			}
			sec[i] = al
		}
	}

	// Layer 5: decompression.
	compressed := le.Uint32(img[ep+0x3061:])
	var total int64
	for j, s := range sects {
		if j < 32 && compressed>>uint(j)&1 != 0 {
			total += int64(s.vsz)
		}
	}
	if total > b.Limits().MaxFileSize {
		return b.Fail(LimitFileSize, b.Limits().MaxFileSize)
	}
	grown := make([][]byte, len(sects))
	for j, s := range sects {
		if j < 32 && compressed>>uint(j)&1 != 0 {
			grown[j] = make([]byte, s.vsz)
			if _, _, err := aplibDecode(ctx, b, img[s.raw:s.raw+s.rsz], grown[j]); err != nil {
				if _, ok := IsLimit(err); ok || ctx.Err() != nil {
					return err
				}
				return Corrupt("pespin", int64(s.raw), "section %d: %v", j, err)
			}
		} else {
			grown[j] = img[s.raw : s.raw+s.rsz]
		}
	}
	if res := le.Uint32(img[ep+0x2fee:]); res != 0 {
		for j, s := range sects {
			split := int64(res) - int64(s.rva)
			if s.rva > res || split >= int64(s.vsz) || split <= 0 || split > int64(s.rsz) {
				continue
			}
			if j < 32 && compressed>>uint(j)&1 == 0 {
				// The resources are stored as they are up to res and
				// compressed after it; a failure keeps them as stored.
				buf := make([]byte, s.vsz)
				copy(buf, img[s.raw:int64(s.raw)+split])
				if _, _, err := aplibDecode(ctx, b, img[int64(s.raw)+split:s.raw+s.rsz], buf[split:]); err == nil {
					grown[j] = buf
					compressed |= 1 << uint(j)
				} else if _, ok := IsLimit(err); ok {
					return err
				}
			}
			break
		}
	}

	// The image holds every section's bytes one after the other, and
	// sections may all list the same bytes of the file: their total is
	// checked before it is allocated, or a section table repeating the
	// file would buy nsections times its size.
	secSize := func(j int, s exeViewSection) uint32 {
		if j < 32 && compressed>>uint(j)&1 != 0 {
			return s.vsz
		}
		return s.rsz
	}
	if len(sects) >= peMaxSections {
		return Corrupt("pespin", int64(v.lfanew), "%d sections (at most %d)", len(sects)+1, peMaxSections)
	}
	total = 0
	for j, s := range sects {
		total += int64(secSize(j, s))
	}
	if total > b.Limits().MaxFileSize {
		return b.Fail(LimitFileSize, b.Limits().MaxFileSize)
	}
	p := &peImage{ImageBase: 0x400000, EntryRVA: 0x1000, Data: make([]byte, 0, total)}
	var raw uint32
	for j, s := range sects {
		size := secSize(j, s)
		p.Sections = append(p.Sections, imageSection{RVA: s.rva, VirtualSize: s.vsz, Raw: raw, RawSize: size})
		p.Data = append(p.Data, grown[j][:size]...)
		raw += size
	}
	out, err := p.rebuild(b, "pespin")
	if err != nil {
		return err
	}
	return emitPE(ctx, b, "pespin", out, emit)
}

// lfsr XORs buf with the low byte of a right-shifting register: the
// feedback mask is XORed in after a shift that drops a 1 bit (onOdd) or a
// 0 bit (!onOdd). Each byte is XORed after its shift.
func lfsr(buf []byte, key, mask uint32, onOdd bool) {
	for i := range buf {
		odd := key&1 != 0
		key >>= 1
		if odd == onOdd {
			key ^= mask
		}
		buf[i] ^= byte(key)
	}
}

// pespinChecksum is the loader's checksum of the file's first bytes: two
// 32-bit words stirred four rounds per byte with adds, XORs and a rotation
// by the other word's low byte.
func pespinChecksum(src []byte) uint32 {
	eax, ebx := uint32(0xffffffff), uint32(0xffffffff)
	for _, c := range src {
		eax ^= uint32(c) << 8
		eax = eax >> 3 & 0x1fffffff
		for range 4 {
			eax ^= ebx >> 8 & 0xff
			eax += 0x7801a108
			eax ^= ebx
			eax = bits.RotateLeft32(eax, -int(ebx&31))
			eax, ebx = ebx, eax
		}
	}
	return ebx
}

// pespinExec interprets PESpin's polymorphic routine, 0x24 bytes followed
// by a stosb (0xaa), on one byte (AL) with CL = cl. Short jumps and "or"
// instructions are skipped as PESpin's junk; anything outside the set, or
// a routine that does not end exactly at the stosb, fails.
func pespinExec(al, cl byte, code []byte) (byte, bool) {
	at := func(i int) (byte, bool) {
		if i >= len(code) {
			return 0, false
		}
		return code[i], true
	}
	n := 0
	for n < 0x24 {
		op, ok := at(n)
		if !ok {
			return al, false
		}
		n++
		switch op {
		case 0xeb: // jmp short: its operand and the byte after are junk
			n += 2
		case 0x0a: // or: one operand byte
			n++
		case 0x90, 0xf8, 0xf9:
		case 0x02: // add al, cl
			al += cl
			n++
		case 0x2a: // sub al, cl
			al -= cl
			n++
		case 0x32: // xor al, cl
			al ^= cl
			n++
		case 0x04, 0x2c, 0x34: // add, sub, xor al, imm8
			d, ok := at(n)
			if !ok {
				return al, false
			}
			switch op {
			case 0x04:
				al += d
			case 0x2c:
				al -= d
			default:
				al ^= d
			}
			n++
		case 0xfe: // inc al (c0) or dec al
			m, ok := at(n)
			if !ok {
				return al, false
			}
			if m == 0xc0 {
				al++
			} else {
				al--
			}
			n++
		case 0xc0: // rol (c0) or ror al, imm8
			m, ok1 := at(n)
			d, ok2 := at(n + 1)
			if !ok1 || !ok2 {
				return al, false
			}
			if m == 0xc0 {
				al = bits.RotateLeft8(al, int(d&7))
			} else {
				al = bits.RotateLeft8(al, -int(d&7))
			}
			n += 2
		default:
			return al, false
		}
	}
	end, ok := at(0x24)
	return al, ok && n == 0x24 && end == 0xaa
}
