package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/bits"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
)

// ycFormat decrypts executables protected by yoda's Crypter (yC) 1.3 and
// its variants, as ClamAV does. yC appends a section holding its loader,
// whose entry point lies 0x60 bytes into it, and encrypts the other
// sections byte by byte with a generated ("polymorphic") routine: a few
// dozen bytes of x86 drawn from a small instruction set (add, sub, xor with
// a constant or with CL, dec, rol and ror by a constant or by CL, short
// jumps, no-ops), run once per byte with CL counting down from the length.
// The section decryptor is itself encrypted by a first routine of the same
// kind. Both routines are interpreted here, no x86 executed: first the
// loader's own second stage is decrypted, then every section but the
// resources, relocations, export, import and TLS data and the loader
// itself. The result keeps the loader section's header but not its data,
// the original entry point (stored in the loader), no import directory and
// a SizeOfImage without the loader.
//
// A yC-protected file is often packed as well (clamav-testfiles'
// clam-yc.exe is UPX inside yC): the decrypted image is scanned as an
// executable again, where the next unpacker takes over.
func ycFormat() *Format {
	return &Format{
		Name:   "yc",
		Within: []filetype.Type{filetype.MSEXE},
		Detect: func(data []byte) bool { _, ok := ycDetect(data); return ok },
		Unpack: unpackYC,
	}
}

// ycLayout is what the entry point code says of one yC file.
type ycLayout struct {
	v      *exeView
	names  []string
	ecx    uint32 // length of the loader's encrypted second stage
	offset int32  // where this variant's loader code sits, relative to 1.3
}

// ycDetect recognises the loader at the entry point: the entry point is
// 0x60 bytes into the last section, and one of three known loader
// prologues gives the length of the encrypted stage.
func ycDetect(data []byte) (*ycLayout, bool) {
	if len(data) < 0x40 || !bytes.Contains(data[:min(len(data), 4096)], []byte("PE\x00\x00")) {
		return nil, false
	}
	v := viewExe(data)
	if v == nil || len(v.sections) < 2 || v.vep != v.last().rva+0x60 {
		return nil, false
	}
	u32 := func(off int) uint32 { x, _ := v.epU32(off); return x }
	var ecx uint32
	var offset int32
	switch {
	case v.epAt(0, "\x55\x8b\xec\x53\x56\x57\x60\xe8\x00\x00\x00\x00\x5d\x81\xed") &&
		v.epAt(0x26, "\x8d\x3a\x8b\xf7\x33\xc0\xeb\x04\x90\xeb\x01\xc2\xac") &&
		v.epAt(0x13, "\xb9") && uint16(u32(0x18)) == 0xe981 && v.epAt(0x1e, "\x8b\xd5\x81\xc2"):
		// yC 1.3.
		if 0x6c-u32(0xf)+u32(0x22) == 0xc6 {
			ecx = u32(0x14) - u32(0x1a)
		}
	case v.epAt(0, "\x55\x8b\xec\x83\xec\x40\x53\x56\x57") &&
		v.epAt(0x17, "\xe8\x00\x00\x00\x00\x5d\x81\xed") && v.epAt(0x23, "\xb9"):
		// A 1.3 variant with a stack frame.
		offset = 0x10
		if 0x6c-u32(0x1f)+u32(0x32) == 0xc6 {
			ecx = u32(0x24) - u32(0x2a)
		}
	case v.epAt(0, "\x60\xe8\x00\x00\x00\x00\x5d\x81\xed") && v.epAt(0xd, "\xb9") &&
		uint16(u32(0x12)) == 0xbd8d && v.epAt(0x18, "\x8b\xf7\xac"):
		// yC 1.x, modified.
		offset = -0x18
		if 0x66-u32(0x9)+u32(0x14) == 0xae {
			ecx = u32(0xe)
		}
	}
	if ecx <= 0x800 || ecx >= 0x2000 || !v.epAt(int(0x63+offset), "\xaa\xe2\xcc") ||
		int64(len(data)) < int64(v.last().raw)+0xc6+int64(ecx)+int64(offset) {
		return nil, false
	}
	info, err := exe.ParsePEHeaders(data)
	if err != nil || info.PE == nil {
		return nil, false
	}
	names := make([]string, len(info.PE.Headers))
	for i, h := range info.PE.Headers {
		names[i] = h.Name
	}
	return &ycLayout{v: v, names: names, ecx: ecx, offset: offset}, true
}

// ycSkipped are the sections yC leaves unencrypted, by the first four
// bytes of their names (or the first two: its own, "yC").
var ycSkipped = []string{"rsrc", ".rsr", "relo", ".rel", ".eda", ".rda", ".ida", ".tls"}

func unpackYC(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	l, ok := ycDetect(data)
	if !ok {
		return Corrupt("yc", -1, "no yC loader at the entry point")
	}
	if int64(len(data)) > b.Limits().MaxFileSize {
		return b.Fail(LimitFileSize, b.Limits().MaxFileSize)
	}
	img := bytes.Clone(data)
	last := l.v.last()
	loader := int64(last.raw) + int64(l.offset)
	// Stage one: the loader decrypts its own second stage.
	if err := ycEmulate(ctx, b, img, loader+0x93, loader+0xc6, l.ecx, l.ecx); err != nil {
		return err
	}
	size := int64(len(img)) - int64(last.ursz)
	dec := loader + 0x457
	if l.offset == -0x18 {
		dec = loader + 0x3ea
	}
	// Stage two: the sections.
	// The sections of a packed program do not overlap: together they
	// decrypt no more than the image. Counting lets a section table that
	// lists the same bytes again and again end early instead of costing
	// the emulation of the file once per section.
	var decrypted int64
	for i, s := range l.v.sections[:len(l.v.sections)-1] {
		name := l.names[i] + "\x00\x00\x00\x00"
		if s.raw == 0 || s.rsz == 0 || name[:2] == "yC" || containsString(ycSkipped, name[:4]) {
			continue
		}
		room := size - int64(s.raw)
		if room < 0 || room > size {
			return Corrupt("yc", int64(s.raw), "section %d starts past the decrypted image", i)
		}
		if decrypted += min(int64(s.ursz), room); decrypted > size {
			return Corrupt("yc", int64(s.raw), "section %d: the sections overlap (%d bytes to decrypt in a %d-byte image)", i, decrypted, size)
		}
		if err := ycEmulate(ctx, b, img, dec, int64(s.raw), s.ursz, uint32(min(room, 1<<32-1))); err != nil {
			return err
		}
	}
	// The header: one section fewer, no imports, the original entry
	// point, the image without the loader.
	le := binary.LittleEndian
	pe := int64(l.v.lfanew)
	opt := pe + 24
	if opt+0x70 > int64(len(img)) || loader+0xa0f+4 > int64(len(img)) || size < opt+0x70 {
		return Corrupt("yc", pe, "headers out of the image")
	}
	le.PutUint16(img[pe+6:], uint16(len(l.v.sections)-1))
	clear(img[opt+0x68 : opt+0x70])
	le.PutUint32(img[opt+16:], le.Uint32(img[loader+0xa0f:]))
	le.PutUint32(img[opt+0x38:], le.Uint32(img[opt+0x38:])-last.vsz)
	return emitStored(b, img[:size], Member{Name: "yc", Type: filetype.MSEXE, Offset: -1}, emit)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ycEmulate runs the decryption routine at dec over n bytes at code (at
// most limit of them), in place: for each byte, AL takes its value and the
// routine's first 0x30 bytes are interpreted; CL starts as the low byte of
// n and counts down. An instruction outside the routine's set or a read
// outside the image is an error, as for ClamAV (which reports the latter
// as Heuristics.BoundsCheck).
func ycEmulate(ctx context.Context, b *Budget, img []byte, dec, code int64, n, limit uint32) error {
	size := int64(len(img))
	if dec < 0 || dec >= size || code < 0 {
		return Corrupt("yc", dec, "decryption routine out of the image")
	}
	r := img[dec:min(size, dec+0x33)]
	cl := byte(n)
	count := min(n, limit)
	// The routine has no conditional jump, so it takes the same path for
	// every byte: its instructions are read once, unless the bytes being
	// decrypted overlap the routine itself (then it changes as it runs
	// and is read again for every byte, as the loader would).
	overlap := code < dec+int64(len(r)) && dec < code+int64(count)
	var ops []ycOp
	for i := uint32(0); i < count; i++ {
		if i&0xffff == 0 {
			if err := b.Check(ctx); err != nil {
				return err
			}
		}
		p := code + int64(i)
		if p >= size {
			return Corrupt("yc", p, "encrypted bytes run past the image")
		}
		if ops == nil || overlap {
			var err error
			if ops, err = ycCompile(r, dec); err != nil {
				return err
			}
		}
		img[p] = ycRun(ops, img[p], cl)
		cl--
	}
	return nil
}

// ycOp is one instruction of a decryption routine: its opcode, for the
// two-byte rotations the ModRM byte, and its immediate.
type ycOp struct{ op, m, imm byte }

// ycMaxSteps bounds the instructions of one pass through the routine:
// the path depends on nothing but the routine's bytes, so a pass that
// runs longer than the routine has positions has entered a loop.
const ycMaxSteps = 0x100

// ycCompile follows the routine r (at dec in the image) through its
// jumps as the loader runs it for one byte and returns the instructions
// that change AL, in order. An instruction outside the routine's set, a
// read past the image or a loop is an error.
func ycCompile(r []byte, dec int64) ([]ycOp, error) {
	at := func(j int) (byte, error) {
		if j >= len(r) {
			return 0, Corrupt("yc", dec+int64(j), "decryption routine runs past the image")
		}
		return r[j], nil
	}
	ops := make([]ycOp, 0, 16)
	steps := 0
	for j := 0; j >= 0 && j < 0x30; j++ {
		if steps++; steps > ycMaxSteps {
			return nil, Corrupt("yc", dec, "decryption routine loops")
		}
		op, err := at(j)
		if err != nil {
			return nil, err
		}
		switch op {
		case 0xeb: // jmp short
			j++
			d, err := at(j)
			if err != nil {
				return nil, err
			}
			j += int(int8(d))
		case 0xfe, 0x2a, 0x02, 0x32: // dec al; sub, add, xor al, cl
			ops = append(ops, ycOp{op: op})
			j++
		case 0x04, 0x34, 0x2c: // add, xor, sub al, imm8
			j++
			d, err := at(j)
			if err != nil {
				return nil, err
			}
			ops = append(ops, ycOp{op: op, imm: d})
		case 0xc0: // rol/ror al, imm8
			j++
			m, err := at(j)
			if err != nil {
				return nil, err
			}
			j++
			d, err := at(j)
			if err != nil {
				return nil, err
			}
			ops = append(ops, ycOp{op: op, m: m, imm: d})
		case 0xd2: // rol/ror al, cl
			j++
			m, err := at(j)
			if err != nil {
				return nil, err
			}
			j++
			ops = append(ops, ycOp{op: op, m: m})
		case 0x90, 0xf8, 0xf9: // nop, clc, stc
		default:
			return nil, Corrupt("yc", dec+int64(j), "instruction %#02x outside yC's decryptor set", op)
		}
	}
	return ops, nil
}

// ycRun applies the compiled routine to one byte.
func ycRun(ops []ycOp, al, cl byte) byte {
	for _, o := range ops {
		switch o.op {
		case 0xfe:
			al--
		case 0x2a:
			al -= cl
		case 0x02:
			al += cl
		case 0x32:
			al ^= cl
		case 0x04:
			al += o.imm
		case 0x34:
			al ^= o.imm
		case 0x2c:
			al -= o.imm
		case 0xc0:
			if o.m == 0xc0 {
				al = bits.RotateLeft8(al, int(o.imm&7))
			} else {
				al = bits.RotateLeft8(al, -int(o.imm&7))
			}
		case 0xd2:
			if o.m == 0xc8 {
				al = bits.RotateLeft8(al, -int(cl&7))
			} else {
				al = bits.RotateLeft8(al, int(cl&7))
			}
		}
	}
	return al
}
