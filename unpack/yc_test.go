package unpack

import (
	"bytes"
	"os"
	"testing"
)

// TestYCClamTestFile decrypts clam-yc.exe and compares the image with the
// one clamscan rebuilds (--leave-temps keeps it): they must be the same
// bytes. The image is UPX-packed clam.exe, which the engine opens next
// (engine's TestClamTestFiles shows the chain).
func TestYCClamTestFile(t *testing.T) {
	path := testFile(t, "clam-yc.exe")
	data := readFile(t, path)
	if !ycFormat().Detect(data) {
		t.Fatal("Detect: no yC loader found")
	}
	ms := unpackOK(t, ycFormat(), data)
	if len(ms) != 1 {
		t.Fatalf("%d members, want the decrypted image", len(ms))
	}
	got := ms[0].Data
	want := clamscanRebuild(t, path, "yC", 1)
	if !bytes.Equal(got, want) {
		n := 0
		for n < min(len(got), len(want)) && got[n] == want[n] {
			n++
		}
		t.Fatalf("decrypted image (%d bytes) differs from clamscan's (%d bytes) from offset %#x", len(got), len(want), n)
	}
}

// TestYCDamaged flips bytes of the loader and the encrypted section and
// truncates the file: each ends in an image or a clear error.
func TestYCDamaged(t *testing.T) {
	data := readFile(t, testFile(t, "clam-yc.exe"))
	checkDamaged(t, ycFormat(), data)
	for _, off := range []int{0xc93, 0xc95, 0xca0, 0xcc0, 0x1057, 0x1060, 0x500} {
		d := bytes.Clone(data)
		d[off] = 0x0f // an instruction outside the set, or damaged data
		checkUnpack(t, ycFormat(), d, Limits{})
	}
}

// TestYCEmulatorOps runs a routine using every instruction of the set
// (and a short jump over a byte that would fail) on known input.
func TestYCEmulatorOps(t *testing.T) {
	routine := []byte{
		0x04, 0x10, // add al, 10h
		0x2a, 0xc1, // sub al, cl
		0xeb, 0x01, 0x0f, // jmp over an invalid byte
		0x34, 0x5a, // xor al, 5Ah
		0xc0, 0xc0, 0x03, // rol al, 3
		0xc0, 0xc8, 0x01, // ror al, 1
		0xfe, 0xc8, // dec al
		0x90, 0xf8, 0xf9, // nop, clc, stc
	}
	for len(routine) < 0x33 {
		routine = append(routine, 0x90)
	}
	code := []byte{0x00, 0x41, 0xff}
	img := append(bytes.Clone(routine), code...)
	if err := ycEmulate(t.Context(), NewBudget(Limits{}), img, 0, int64(len(routine)), uint32(len(code)), 100); err != nil {
		t.Fatal(err)
	}
	for i, c := range code {
		cl := byte(len(code) - i)
		al := c + 0x10 - cl
		al ^= 0x5a
		al = al<<3 | al>>5
		al = al>>1 | al<<7
		al--
		if img[len(routine)+i] != al {
			t.Errorf("byte %d: %#02x, want %#02x", i, img[len(routine)+i], al)
		}
	}
}

func FuzzUnpackYC(f *testing.F) {
	var seeds [][]byte
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-yc.exe"); err == nil {
		seeds = append(seeds, d)
	}
	fuzzFormat(f, ycFormat(), seeds...)
}
