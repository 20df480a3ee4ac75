package unpack

import (
	"bytes"
	"os"
	"testing"
)

// TestPESpinClamTestFile unpacks clam-pespin.exe and compares the rebuilt
// file with the one clamscan writes (--leave-temps): the same section
// table and contents. It
// holds clam.exe, which the engine carves from it next; clamscan finds
// the same body signature.
func TestPESpinClamTestFile(t *testing.T) {
	path := testFile(t, "clam-pespin.exe")
	data := readFile(t, path)
	if !pespinFormat().Detect(data) {
		t.Fatal("Detect: no PESpin loader found")
	}
	ms := unpackOK(t, pespinFormat(), data)
	if len(ms) != 1 {
		t.Fatalf("%d members, want the rebuilt image", len(ms))
	}
	got := ms[0].Data
	clam := readFile(t, testFile(t, "clam.exe"))
	if !bytes.Contains(got, clam[len(clam)/2:len(clam)/2+64]) {
		t.Error("the rebuilt image does not hold clam.exe's body")
	}
	want := clamscanRebuild(t, path, "PEspin", 1)
	// Each tool writes its own DOS stub, and ClamAV's generic rebuild
	// (unlike its UPX one, which perebuild.go follows) stamps a few
	// informational header fields of its own (TimeDateStamp "CLAM", OS and
	// subsystem versions): from the section table on the files are the
	// same.
	from := peStubSize + peHeadersSize
	if len(got) != len(want) || !bytes.Equal(got[from:], want[from:]) {
		n := from
		for n < min(len(got), len(want)) && got[n] == want[n] {
			n++
		}
		t.Fatalf("rebuilt image (%d bytes) differs from clamscan's (%d bytes) from offset %#x", len(got), len(want), n)
	}
}

// TestPESpinDamaged damages the loader's keys and lengths and the packed
// sections: each ends in an image or a clear error.
func TestPESpinDamaged(t *testing.T) {
	data := readFile(t, testFile(t, "clam-pespin.exe"))
	checkDamaged(t, pespinFormat(), data)
	ep := 0xc87
	for _, off := range []int{ep + 0xdb, ep + 0xe1, ep + 0x26f0, ep + 0x429, ep + 0x3207, ep + 0x644, ep + 0x28dd, ep + 0x28ec, ep + 0x3061, 0x400, 0xa10} {
		if off >= len(data) {
			continue
		}
		d := bytes.Clone(data)
		d[off] ^= 0xa5
		checkUnpack(t, pespinFormat(), d, Limits{})
	}
}

// TestPESpinExec runs the routine interpreter on a routine using each
// instruction, and checks that a routine not ending at its stosb fails.
func TestPESpinExec(t *testing.T) {
	code := []byte{
		0x04, 0x21, // add al, 21h
		0x2a, 0xc1, // sub al, cl
		0xeb, 0x00, 0x0f, // jmp short, junk byte
		0x0a, 0xc0, // or al, al
		0xfe, 0xc0, // inc al
		0xfe, 0xc8, // dec al
		0xfe, 0xc8, // dec al
		0xc0, 0xc0, 0x02, // rol al, 2
		0xc0, 0xc8, 0x05, // ror al, 5
		0x34, 0x77, // xor al, 77h
		0x32, 0xc1, // xor al, cl
		0x2c, 0x03, // sub al, 3
		0x02, 0xc1, // add al, cl
	}
	for len(code) < 0x24 {
		code = append(code, 0x90)
	}
	code = append(code, 0xaa, 0x00)
	for _, in := range []byte{0, 1, 0x7f, 0x80, 0xff} {
		cl := byte(7)
		want := in + 0x21 - cl
		want--
		want = want<<2 | want>>6
		want = want>>5 | want<<3
		want ^= 0x77 ^ cl
		want = want - 3 + cl
		got, ok := pespinExec(in, cl, code)
		if !ok || got != want {
			t.Errorf("pespinExec(%#02x) = %#02x, %v; want %#02x", in, got, ok, want)
		}
	}
	broken := bytes.Clone(code)
	broken[0x24] = 0x90
	if _, ok := pespinExec(1, 1, broken); ok {
		t.Error("a routine without its stosb ran")
	}
	broken = bytes.Clone(code)
	broken[0] = 0x0f
	if _, ok := pespinExec(1, 1, broken); ok {
		t.Error("an instruction outside the set ran")
	}
}

func FuzzUnpackPESpin(f *testing.F) {
	var seeds [][]byte
	if d, err := os.ReadFile("/usr/share/clamav-testfiles/clam-pespin.exe"); err == nil {
		seeds = append(seeds, d)
	}
	fuzzFormat(f, pespinFormat(), seeds...)
}
