package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file holds hostile inputs for the packed-executable unpackers:
// each is a real packed file (or a file built to look like one) altered
// so that a header field, a record list or a section table asks for far
// more memory or time than the file is worth. Each must end within a few
// seconds, allocating little, in a limit or format error.

// hostileRun unpacks data under l in a goroutine and reports the bytes it
// allocated (runtime.MemStats.TotalAlloc, so the count does not depend on
// when the collector runs), how long it took and its error. A run
// still going after within fails the test (the goroutine is left behind:
// the test binary ends soon after).
func hostileRun(t *testing.T, fm *Format, data []byte, l Limits, within time.Duration) (alloc uint64, took time.Duration, err error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		b := NewBudget(l)
		done <- fm.Unpack(context.Background(), data, b, func(Member) error { return nil })
	}()
	select {
	case err = <-done:
	case <-time.After(within):
		t.Fatalf("%s: unpacking %d bytes still runs after %v", fm.Name, len(data), within)
	}
	took = time.Since(start)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, took, err
}

// peSec is a section header, as peReadSections reads it and
// peWriteSections writes it.
type peSec struct {
	name                string
	va, vs, raw, rs, ch uint32
}

func peSectionTable(t *testing.T, d []byte) (at, n int) {
	t.Helper()
	le := binary.LittleEndian
	pe := int(le.Uint32(d[0x3c:]))
	return pe + 24 + int(le.Uint16(d[pe+20:])), int(le.Uint16(d[pe+6:]))
}

func peReadSections(t *testing.T, d []byte) []peSec {
	le := binary.LittleEndian
	at, n := peSectionTable(t, d)
	var s []peSec
	for i := 0; i < n; i++ {
		h := d[at+40*i:]
		s = append(s, peSec{string(bytes.TrimRight(h[:8], "\x00")), le.Uint32(h[12:]), le.Uint32(h[8:]), le.Uint32(h[20:]), le.Uint32(h[16:]), le.Uint32(h[36:])})
	}
	return s
}

// peWriteSections replaces the section table of PE file d with secs (the
// caller keeps them within the headers' room).
func peWriteSections(t *testing.T, d []byte, secs []peSec) {
	t.Helper()
	le := binary.LittleEndian
	at, _ := peSectionTable(t, d)
	pe := int(le.Uint32(d[0x3c:]))
	if at+40*len(secs) > len(d) {
		t.Fatalf("%d section headers do not fit in %d bytes", len(secs), len(d))
	}
	le.PutUint16(d[pe+6:], uint16(len(secs)))
	for i, s := range secs {
		h := d[at+40*i : at+40*i+40]
		clear(h)
		copy(h, s.name)
		le.PutUint32(h[8:], s.vs)
		le.PutUint32(h[12:], s.va)
		le.PutUint32(h[16:], s.rs)
		le.PutUint32(h[20:], s.raw)
		le.PutUint32(h[36:], s.ch)
	}
}

// pespinKeyOffsets returns, for a PESpin 1.1 file, where in the file the
// checksum key is stored and how many leading bytes the checksum covers
// (the loader's first two layers decrypted as unpackPESpin does).
func pespinKeyOffsets(t *testing.T, data []byte) (keyAt, crcLen int) {
	t.Helper()
	le := binary.LittleEndian
	v := pespinDetect(data)
	if v == nil {
		t.Fatal("not a PESpin file")
	}
	last := v.last()
	spin := bytes.Clone(data[last.raw : last.raw+last.rsz])
	ep := int(v.vep - last.rva)
	key8, n := spin[ep+0xdc], int(le.Uint32(spin[ep+0xe1:]))
	for p := ep + 0x1fe5 + n - 1; n > 0; n-- {
		spin[p] ^= key8
		key8--
		p--
	}
	lfsr(spin[ep+0x2d5:ep+0x2d5+0x5a0], le.Uint32(spin[ep+0x26eb:]), 0x8c328834, true)
	return int(last.raw) + ep + 0x3217, len(data) - int(le.Uint32(spin[ep+0x429:]))
}

// pespinManySections builds from clam-pespin.exe a PESpin file of about
// pad more bytes whose section table lists extra sections before the
// loader's, each covering the whole padded file: the stored checksum
// key is recomputed so that the loader still decrypts.
func pespinManySections(t *testing.T, extra int, pad int) []byte {
	t.Helper()
	orig := readFile(t, testFile(t, "clam-pespin.exe"))
	le := binary.LittleEndian
	keyAt, crcLen := pespinKeyOffsets(t, orig)
	key := le.Uint32(orig[keyAt:]) - pespinChecksum(orig[:crcLen])

	secs := peReadSections(t, orig)
	loader := secs[len(secs)-1]
	d := append(bytes.Clone(orig[:loader.raw]), make([]byte, pad)...)
	d = append(d, orig[loader.raw:]...)
	loader.raw += uint32(pad)
	secs = secs[:len(secs)-1]
	for i := 0; i < extra; i++ {
		secs = append(secs, peSec{"x", 0x10000000 + uint32(i)<<24, 0x1000, 0x400, uint32(len(d)) - 0x400, 0xc0000040})
	}
	secs = append(secs, loader)
	peWriteSections(t, d, secs)
	keyAt, crcLen = pespinKeyOffsets(t, d)
	if keyAt < crcLen {
		t.Fatalf("the checksum key at 0x%x lies inside the 0x%x checksummed bytes", keyAt, crcLen)
	}
	le.PutUint32(d[keyAt:], key+pespinChecksum(d[:crcLen]))
	return d
}

// TestPESpinManySections: sections that are neither encrypted nor
// compressed were appended to the rebuilt image one after the other
// before its size was checked, so a section table listing the file's
// bytes again and again bought nsections times the file (a 90 MB file
// with 9 extra sections: over 1 GB). Now their total is checked against
// MaxFileSize first.
func TestPESpinManySections(t *testing.T) {
	const pad = 4 << 20
	d := pespinManySections(t, 9, pad)
	alloc, took, err := hostileRun(t, pespinFormat(), d, Limits{MaxFileSize: 8 << 20}, 20*time.Second)
	t.Logf("%d bytes, %d sections: %v; allocated %d MiB in %v", len(d), len(peReadSections(t, d)), err, alloc>>20, took)
	if le, ok := IsLimit(err); !ok || le.Limit != LimitFileSize {
		t.Errorf("error %v, want a %s limit", err, LimitFileSize)
	}
	if alloc > 4*uint64(len(d)) {
		t.Errorf("allocated %d MiB for a %d MiB file", alloc>>20, len(d)>>20)
	}
	// Without the extra sections the padded file still unpacks.
	ms := unpackOK(t, pespinFormat(), pespinManySections(t, 0, pad))
	if len(ms) != 1 {
		t.Errorf("%d members from the padded file, want 1", len(ms))
	}
}

// petiteLiterals encodes u as a Petite stream of literals only: the first
// byte as it is, then per eight bytes a tag byte of zero bits and the
// bytes XORed with the low byte of the count still to come.
func petiteLiterals(u []byte) []byte {
	out := []byte{u[0]}
	left := len(u) - 1
	for i := 1; i < len(u); i++ {
		if (i-1)%8 == 0 {
			out = append(out, 0)
		}
		out = append(out, u[i]^byte(left))
		left--
	}
	return out
}

// petiteThunkLoop builds a Petite 2.2 file whose one packed section ends
// in the loader code Petite leaves behind, with an encrypted entry point
// and an import thunk array of words words that each point back at the
// array itself: the entry point's decryption walks every import list once
// per thunk.
func petiteThunkLoop(t *testing.T, words int) []byte {
	t.Helper()
	le := binary.LittleEndian
	const base, unpacked = 0x400000, 0x400
	region := uint32(0x2000) // RVA of the thunk array, in section 0's raw bytes
	sec0 := peAlignT(0x1000+uint32(words+1)*4, 0x1000)
	loaderRVA := 0x1000 + sec0
	// The unpacked section: the loader's leftovers at its end.
	u := make([]byte, unpacked)
	at := unpacked - 0x355
	le.PutUint32(u[at+0x07:], 0x9d6661aa)
	le.PutUint32(u[at+0x0b:], 0xe908c483)
	le.PutUint32(u[at+0x0f:], 0x1234) // encrypted entry point
	le.PutUint32(u[at+0x54:], 0x645ec033)
	le.PutUint32(u[at+0x58:], 0x1b8b188b)
	le.PutUint32(u[at+0x121:], region)
	le.PutUint32(u[at+0x1c0:], 0x90909090)
	stream := petiteLiterals(u)

	loader := make([]byte, 0x1000)
	loader[0] = 0xb8 // mov eax, loader section VA
	le.PutUint32(loader[1:], loaderRVA+base)
	le.PutUint32(loader[0x1b8:], loaderRVA+0x400) // packed data
	le.PutUint32(loader[0x1bc:], unpacked)
	le.PutUint32(loader[0x1c0:], 0x1000) // destination
	copy(loader[0x400:], stream)

	s0 := make([]byte, sec0)
	for i := 0; i < words; i++ {
		le.PutUint32(s0[region-0x1000+uint32(4*i):], region)
	}
	d := make([]byte, 0x400)
	d[0], d[1] = 'M', 'Z'
	le.PutUint32(d[0x3c:], 0x80)
	copy(d[0x80:], "PE\x00\x00")
	le.PutUint16(d[0x84:], 0x14c)
	le.PutUint16(d[0x94:], 0xe0)
	le.PutUint16(d[0x96:], 0x10f)
	o := d[0x98:]
	le.PutUint16(o[0:], 0x10b)
	le.PutUint32(o[16:], loaderRVA)
	le.PutUint32(o[28:], base)
	le.PutUint32(o[32:], 0x1000)
	le.PutUint32(o[36:], 0x200)
	le.PutUint32(o[56:], loaderRVA+0x1000)
	le.PutUint32(o[60:], 0x400)
	le.PutUint32(o[92:], 16)
	d = append(d, s0...)
	d = append(d, loader...)
	peWriteSections(t, d, []peSec{
		{"", 0x1000, sec0, 0x400, sec0, 0xe0000060},
		{".petite", loaderRVA, 0x1000, 0x400 + sec0, 0x1000, 0xe2000060},
	})
	return d
}

func peAlignT(v, a uint32) uint32 { return (v + a - 1) / a * a }

// TestPetiteThunkLoop: the entry point's decryption walked the import
// thunks without a bound on the total, each thunk's list to its end: an
// array of n thunks all naming the array cost n² steps (256 Ki thunks, a
// 1 MiB file: hours) with no deadline check. The walk now reads each word
// of the image at most once in total, as an honest import table does, and
// falls back to the first section as a broken walk does.
func TestPetiteThunkLoop(t *testing.T) {
	small := petiteThunkLoop(t, 16)
	if !petiteFormat().Detect(small) {
		t.Fatal("Detect: the built file is not Petite")
	}
	ms := unpackOK(t, petiteFormat(), small)
	if len(ms) != 1 {
		t.Fatalf("%d members, want 1", len(ms))
	}
	d := petiteThunkLoop(t, 256<<10)
	alloc, took, err := hostileRun(t, petiteFormat(), d, Limits{}, 20*time.Second)
	t.Logf("%d bytes: %v; allocated %d MiB in %v", len(d), err, alloc>>20, took)
	if err != nil {
		t.Errorf("error %v, want the rebuilt image", err)
	}
	if took > 5*time.Second {
		t.Errorf("took %v", took)
	}
}

// wwpackRepeatedBlocks builds from clam-wwpack.exe a file whose .clam
// section spans size bytes of memory and whose loader lists n block
// records, each naming the whole section as its packed data; the first
// packed word is the end code, and so is the 0xff filler the decoder
// leaves in place of the packed data, so every block succeeds at once.
func wwpackRepeatedBlocks(t *testing.T, size uint32, n int) []byte {
	t.Helper()
	le := binary.LittleEndian
	d := readFile(t, testFile(t, "clam-wwpack.exe"))
	secs := peReadSections(t, d)
	ww := &secs[len(secs)-1]
	rec := int(ww.raw) + wwpackRecords
	d = append(d[:rec], make([]byte, 17*n)...)
	ww.rs = peAlignT(uint32(len(d))-ww.raw, 0x200)
	d = append(d, make([]byte, int(ww.raw+ww.rs)-len(d))...)
	clam := &secs[3]
	clam.vs = size
	le.PutUint32(d[clam.raw:], 0xffffffff)
	for k := 0; k < n; k++ {
		r := d[rec+17*k:]
		le.PutUint32(r[0:], ww.va-clam.va)
		le.PutUint32(r[8:], size/4)
		le.PutUint32(r[12:], size-4)
		if k+1 < n {
			r[16] = 1 // another record follows
		}
	}
	peWriteSections(t, d, secs)
	return d
}

// TestWWPackRepeatedBlocks: every block record copied its packed words
// aside and filled their place, so 1,024 records naming the same 16 MiB
// of the image cost 16 GiB of copies (over a minute with a 64 MiB
// image). The packed data of all blocks, and their output, may now add
// up to the image's size at most (each block unpacks a section of its
// own); more ends unpacking as a cut record list does, with the image.
func TestWWPackRepeatedBlocks(t *testing.T) {
	d := wwpackRepeatedBlocks(t, 16<<20, wwpackMaxBlocks)
	if !wwpackFormat().Detect(d) {
		t.Fatal("Detect: the built file is not WWPack32")
	}
	alloc, took, err := hostileRun(t, wwpackFormat(), d, Limits{}, 60*time.Second)
	t.Logf("%d bytes: %v; allocated %d MiB in %v", len(d), err, alloc>>20, took)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Format != "wwpack" {
		t.Errorf("error %v, want a wwpack format error", err)
	}
	if alloc > 4*(16<<20) {
		t.Errorf("allocated %d MiB for a 16 MiB image", alloc>>20)
	}
	// One block over the same data is a plain file.
	if ms := unpackOK(t, wwpackFormat(), wwpackRepeatedBlocks(t, 1<<20, 1)); len(ms) != 1 {
		t.Errorf("%d members, want the image", len(ms))
	}
}

// ycOverlapping builds from clam-yc.exe a file with pad more bytes at its
// end and extra sections before the loader's, each covering those bytes:
// the sections' decryption runs over the same bytes once per section.
func ycOverlapping(t *testing.T, extra, pad int) []byte {
	t.Helper()
	d := readFile(t, testFile(t, "clam-yc.exe"))
	from := peAlignT(uint32(len(d)), 0x200) // past the loader's bytes, which decrypt the rest
	d = append(d, make([]byte, int(from)-len(d)+pad)...)
	secs := peReadSections(t, d)
	loader := secs[len(secs)-1]
	secs = secs[:len(secs)-1]
	for i := 0; i < extra; i++ {
		secs = append(secs, peSec{"x", 0x10000000 + uint32(i)<<24, 0x1000, from, uint32(len(d)) - from, 0xe0000040})
	}
	peWriteSections(t, d, append(secs, loader))
	return d
}

// TestYCOverlappingSections: each section was decrypted over all of its
// bytes whatever the others covered, so a section table listing the
// file's bytes again and again multiplied the emulation's work (ten
// extra sections over an 8 MiB file: 88 MiB emulated byte by byte). The
// sections' bytes may now add up to the image at most, as those of a
// packed program do.
func TestYCOverlappingSections(t *testing.T) {
	d := ycOverlapping(t, 10, 8<<20)
	if !ycFormat().Detect(d) {
		t.Fatal("Detect: the built file is not yC")
	}
	// One extra section decrypts the padding once: the time it takes is
	// the yardstick (the machine may be loaded).
	_, once, err := hostileRun(t, ycFormat(), ycOverlapping(t, 1, 8<<20), Limits{}, 60*time.Second)
	if err != nil {
		t.Fatalf("one extra section: %v", err)
	}
	alloc, took, err := hostileRun(t, ycFormat(), d, Limits{}, 120*time.Second)
	t.Logf("%d bytes: %v; allocated %d MiB in %v (one section: %v)", len(d), err, alloc>>20, took, once)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Format != "yc" {
		t.Errorf("error %v, want a yc format error", err)
	}
	if took > 4*once+time.Second {
		t.Errorf("took %v, %.1f times one section's decryption", took, float64(took)/float64(once))
	}
}

// TestYCJumpsPerByte: the emulator counted the routine's jumps over the
// whole run and called more than 10⁸ of them a loop, so a routine with
// four jumps decrypting 26 MiB failed as "loops" though every pass ends.
// A loop is now a pass longer than the routine can be without one.
func TestYCJumpsPerByte(t *testing.T) {
	const n = 26 << 20
	img := make([]byte, 0x33+n)
	copy(img, "\xeb\x00\xeb\x00\xeb\x00\xeb\x00\x34\x5a") // four jumps to the next instruction; xor al, 0x5a
	for i := 10; i < 0x33; i++ {
		img[i] = 0x90
	}
	if err := ycEmulate(context.Background(), NewBudget(Limits{}), img, 0, 0x33, n, n); err != nil {
		t.Fatalf("%d bytes: %v", n, err)
	}
	if img[0x33] != 0x5a || img[len(img)-1] != 0x5a {
		t.Errorf("decrypted bytes %#x ... %#x, want 0x5a", img[0x33], img[len(img)-1])
	}
	// A routine that jumps back on itself is still a loop.
	copy(img, "\x90\xeb\xfd")
	if err := ycEmulate(context.Background(), NewBudget(Limits{}), img, 0, 0x33, 16, 16); err == nil || !strings.Contains(err.Error(), "loops") {
		t.Errorf("looping routine: %v, want a loop error", err)
	}
}

// ishieldManyCabs builds an executable (clam.exe) followed by an
// InstallShield overlay: data1.hdr listing files files, all in a cabinet
// no record holds, then cabs empty dataN.cab records.
func ishieldManyCabs(t *testing.T, files, cabs int) []byte {
	t.Helper()
	le := binary.LittleEndian
	hdr := make([]byte, 20+ishieldObjectsLen+files*ishieldFileLen)
	le.PutUint32(hdr, ishieldHdrMagic)
	le.PutUint32(hdr[12:], 20) // the object table
	objs := hdr[20:]
	le.PutUint32(objs[40:], uint32(files))
	le.PutUint32(objs[44:], ishieldObjectsLen) // the directories: the files follow the table
	for i := 0; i < files; i++ {
		f := hdr[20+ishieldObjectsLen+i*ishieldFileLen:]
		le.PutUint16(f, 4)
		le.PutUint64(f[2:], 100) // size
		le.PutUint64(f[10:], 10) // compressed size
	}
	// clam.exe, its one section grown to the end of the file: no overlay.
	d := append(bytes.Clone(readFile(t, testFile(t, "clam.exe"))), make([]byte, 0x200)...)[:0x400]
	secs := peReadSections(t, d)
	secs[0].rs = 0x400
	peWriteSections(t, d, secs)
	record := func(name string, body []byte) {
		d = append(d, name+"\x00"+name+"\x00\x00"+strconv.Itoa(len(body))+"\x00"...)
		d = append(d, body...)
	}
	record("data1.hdr", hdr)
	for n := 1; n <= cabs; n++ {
		record("data"+strconv.Itoa(n)+".cab", nil)
	}
	return d
}

// TestIShieldManyCabs: each dataN.cab record was checked against every
// earlier one, and each file of data1.hdr looked for its cabinet in the
// list of all: 65,535 cabinet records and 20,000 files cost 3·10⁹ steps.
// Cabinets are now found by number.
func TestIShieldManyCabs(t *testing.T) {
	d := ishieldManyCabs(t, 20000, 65535)
	if !ishieldFormat().Detect(d) {
		t.Fatal("Detect: the built file is not an InstallShield installer")
	}
	// The same files with one cabinet, and the cabinets with one file,
	// are the yardstick (the machine may be loaded): with both at once
	// the work must add, not multiply.
	_, files, _ := hostileRun(t, ishieldFormat(), ishieldManyCabs(t, 20000, 1), Limits{}, 60*time.Second)
	_, cabs, _ := hostileRun(t, ishieldFormat(), ishieldManyCabs(t, 1, 65535), Limits{}, 60*time.Second)
	alloc, took, err := hostileRun(t, ishieldFormat(), d, Limits{}, 60*time.Second)
	t.Logf("%d bytes: %.100v; allocated %d MiB in %v (files alone %v, cabinets alone %v)", len(d), err, alloc>>20, took, files, cabs)
	if le, ok := IsLimit(err); !ok || le.Limit != LimitFiles {
		// Every empty cabinet is a member: MaxFiles ends it.
		t.Errorf("error %v, want a %s limit", err, LimitFiles)
	}
	if took > 4*(files+cabs)+time.Second/2 {
		t.Errorf("took %v", took)
	}
}

// largePE returns a 40 MB Windows executable: clam.exe, its one section
// grown to 1 MiB, then a 39 MiB overlay of pseudo-random bytes sprinkled
// with the first bytes of the markers the installer formats look for.
func largePE(b testing.TB) []byte {
	d := append(bytes.Clone(readFile(b, testFile(b, "clam.exe"))), make([]byte, 40<<20)...)
	d = d[:40<<20]
	x := uint32(1)
	for i := 0x400; i < len(d); i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		d[i] = byte(x)
	}
	for i := 1 << 20; i+32 < len(d); i += 4093 {
		copy(d[i:], autoitMarker[:8])
		copy(d[i+16:], ishieldMSIMarker[:8])
	}
	le := binary.LittleEndian
	at := 0x100 + 24 + 224
	le.PutUint32(d[at+16:], 1<<20) // SizeOfRawData
	return d
}

// BenchmarkDetectLargePE measures each executable format's Detect on a
// 40 MB executable none of them packed, with a large overlay: what every
// big Windows program pays before it is scanned.
func BenchmarkDetectLargePE(b *testing.B) {
	data := largePE(b)
	for _, fm := range Formats() {
		if fm.Detect == nil {
			continue
		}
		b.Run(fm.Name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if fm.Detect(data) {
					b.Fatalf("%s detects a plain executable", fm.Name)
				}
			}
		})
	}
}

// petiteBits packs bits (0 or 1 each) into Petite's tag bytes, eight a
// byte, the first bit in the top bit.
func petiteBits(bits []byte) []byte {
	var out []byte
	for i := 0; i < len(bits); i += 8 {
		var c byte
		for k := 0; k < 8; k++ {
			c <<= 1
			if i+k < len(bits) {
				c |= bits[i+k]
			}
		}
		out = append(out, c)
	}
	return out
}

// petiteRun returns a Petite stream that unpacks to size bytes: one
// literal, then one match of the rest at distance 1.
func petiteRun(size uint32) []byte {
	bits := []byte{1, 1, 0} // a match; the distance's gamma code: 1 then stop
	bits = append(bits, make([]byte, 8)...)
	bits = append(bits, 0, 0) // the length's two bits are zero: a gamma code follows
	v := size - 1 - 3         // the gamma value: the length less the two and the one it gets added
	n := 31
	for v>>n&1 == 0 {
		n--
	}
	for k := n - 1; k >= 0; k-- {
		more := byte(1)
		if k == 0 {
			more = 0
		}
		bits = append(bits, byte(v>>k&1), more)
	}
	return append([]byte{'A'}, petiteBits(bits)...)
}

// petiteRepeated builds a Petite 2.2 file whose loader lists n records,
// each unpacking the same small stream to the same size bytes at RVA
// 0x1000.
func petiteRepeated(t *testing.T, size uint32, n int) []byte {
	t.Helper()
	le := binary.LittleEndian
	const base = 0x400000
	sec0 := peAlignT(size, 0x1000)
	loaderRVA := 0x1000 + sec0
	loader := make([]byte, 0x1000)
	loader[0] = 0xb8 // mov eax, loader section VA
	le.PutUint32(loader[1:], loaderRVA+base)
	for k := 0; k < n; k++ {
		r := loader[0x1b8+16*k:]
		le.PutUint32(r[0:], loaderRVA+0xc00) // packed data
		le.PutUint32(r[4:], size)
		le.PutUint32(r[8:], 0x1000) // destination
	}
	copy(loader[0xc00:], petiteRun(size))
	d := make([]byte, 0x400)
	d[0], d[1] = 'M', 'Z'
	le.PutUint32(d[0x3c:], 0x80)
	copy(d[0x80:], "PE\x00\x00")
	le.PutUint16(d[0x84:], 0x14c)
	le.PutUint16(d[0x94:], 0xe0)
	le.PutUint16(d[0x96:], 0x10f)
	o := d[0x98:]
	le.PutUint16(o[0:], 0x10b)
	le.PutUint32(o[16:], loaderRVA)
	le.PutUint32(o[28:], base)
	le.PutUint32(o[32:], 0x1000)
	le.PutUint32(o[36:], 0x200)
	le.PutUint32(o[56:], loaderRVA+0x1000)
	le.PutUint32(o[60:], 0x400)
	le.PutUint32(o[92:], 16)
	d = append(d, loader...)
	// Section 0 has no bytes in the file: the packer fills it.
	peWriteSections(t, d, []peSec{
		{"", 0x1000, sec0, 0, 0, 0xe0000060},
		{".petite", loaderRVA, 0x1000, 0x400, 0x1000, 0xe2000060},
	})
	return append(d, make([]byte, int(size/1000))...) // room for the ratio limit
}

// TestPetiteRepeatedRecords: each record unpacked its section whatever
// the others had written, so 96 records naming one tiny stream wrote the
// image 96 times (8 MiB each here; 9.6 GB byte by byte for a 100 MiB
// image). The records may now write the image's size in all, as the
// sections of a packed program do.
func TestPetiteRepeatedRecords(t *testing.T) {
	one := petiteRepeated(t, 1<<20, 1)
	ms := unpackOK(t, petiteFormat(), one)
	if len(ms) != 1 || !bytes.Contains(ms[0].Data, bytes.Repeat([]byte{'A'}, 1<<20)) {
		t.Fatalf("%d members, want one holding the 1 MiB section", len(ms))
	}
	// One record unpacking the 8 MiB once is the yardstick (the machine
	// may be loaded).
	_, once, err := hostileRun(t, petiteFormat(), petiteRepeated(t, 8<<20, 1), Limits{}, 60*time.Second)
	if err != nil {
		t.Fatalf("one record: %v", err)
	}
	d := petiteRepeated(t, 8<<20, petiteMaxSections)
	alloc, took, err := hostileRun(t, petiteFormat(), d, Limits{}, 120*time.Second)
	t.Logf("%d bytes: %v; allocated %d MiB in %v (one record: %v)", len(d), err, alloc>>20, took, once)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Format != "petite" {
		t.Errorf("error %v, want a petite format error", err)
	}
	if took > 4*once+time.Second/2 {
		t.Errorf("took %v, %.1f times one record's", took, float64(took)/float64(once))
	}
}

// fsgLongSupport builds an FSG 1.33 file whose support data (in the
// headers, running to the packed section's bytes) lists the same section
// start over n bytes without the zero that ends the list.
func fsgLongSupport(t *testing.T, n int) []byte {
	t.Helper()
	le := binary.LittleEndian
	f, _ := fsgFixture(t, "1.33", []byte("body"))
	f = append(f[:0x400:0x400], append(make([]byte, n), f[0x400:]...)...)
	le.PutUint32(f[0x80+0xf8+0x28+20:], 0x400+uint32(n)) // the packed section's bytes
	for i := 0x300 + 12; i+4 <= 0x400+n; i += 4 {
		le.PutUint32(f[i:], fsgFixBase+0x2000+1)
	}
	return f
}

// TestFSGLongSupport: the 1.33 support data's section starts were all
// collected before their number was checked, so a list running over the
// file bought a slice of its size (16 MiB of support data: 4 Mi entries,
// 40 MiB allocated). The count is now checked as the list is read.
func TestFSGLongSupport(t *testing.T) {
	d := fsgLongSupport(t, 16<<20)
	if !fsgFormat().Detect(d) {
		t.Fatal("Detect: the built file is not FSG")
	}
	alloc, took, err := hostileRun(t, fsgFormat(), d, Limits{}, 60*time.Second)
	t.Logf("%d bytes: %v; allocated %d KiB in %v", len(d), err, alloc>>10, took)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Format != "fsg" {
		t.Errorf("error %v, want an fsg format error", err)
	}
	if alloc > 4<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}
