package unpack

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAutoItClamTestFiles extracts clam.exe from both compiled-script
// samples of clamav-testfiles, byte for byte, and decompiles the EA06
// script; clamscan finds the same body signature in both files.
func TestAutoItClamTestFiles(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	for _, tc := range []struct {
		file, script string // script: text the extracted script holds
	}{
		{"clam.ea05.exe", "FileInstall"},
		{"clam.ea06.exe", "FILEINSTALL"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := testFile(t, tc.file)
			data := readFile(t, path)
			if !autoitFormat().Detect(data) {
				t.Fatal("Detect: no AutoIt marker found")
			}
			ms := unpackOK(t, autoitFormat(), data)
			var found, script bool
			var names []string
			for _, m := range ms {
				names = append(names, m.Name)
				if bytes.Equal(m.Data, clam) {
					found = true
				}
				// EA05 scripts are UTF-16 text as written; EA06 scripts
				// come out of the decompiler as ASCII.
				up := bytes.ToUpper(m.Data)
				if bytes.Contains(up, bytes.ToUpper([]byte(tc.script))) || bytes.Contains(up, utf16le(strings.ToUpper(tc.script))) {
					script = true
				}
			}
			if !found {
				t.Errorf("clam.exe not among the %d members %q", len(ms), names)
			}
			if !script {
				t.Errorf("no member holds the script text %q: members %q", tc.script, names)
			}
			clamscanFinds(t, path, clam)
		})
	}
}

// TestAutoItDamaged cuts and flips the samples: every variant ends with a
// result (members or a clear error), quickly.
func TestAutoItDamaged(t *testing.T) {
	for _, f := range []string{"clam.ea05.exe", "clam.ea06.exe"} {
		data := readFile(t, testFile(t, f))
		checkDamaged(t, autoitFormat(), data)
		i := bytes.Index(data, autoitMarker)
		for _, off := range []int{i + 24, i + 40, i + 44, i + 60, i + 100, i + 400} {
			d := bytes.Clone(data)
			d[off] ^= 0x5a
			checkUnpack(t, autoitFormat(), d, Limits{})
		}
	}
}

// TestAutoItCiphers pins the two keystreams: decrypting twice restores the
// input, different seeds give different streams, and the EA05 stream is
// MT19937's (its first output for seed 5489 is 3499211612, shifted).
func TestAutoItCiphers(t *testing.T) {
	in := []byte(strings.Repeat("glassav autoit keystream ", 40))
	for name, dec := range map[string]func([]byte, uint32){"mt": mtDecrypt, "lame": lameDecrypt} {
		b := bytes.Clone(in)
		dec(b, 0x1234)
		if bytes.Equal(b, in) {
			t.Errorf("%s: encryption changed nothing", name)
		}
		c := bytes.Clone(in)
		dec(c, 0x1235)
		if bytes.Equal(b, c) {
			t.Errorf("%s: seeds 0x1234 and 0x1235 give the same stream", name)
		}
		dec(b, 0x1234)
		if !bytes.Equal(b, in) {
			t.Errorf("%s: decrypting twice does not restore the input", name)
		}
	}
	z := make([]byte, 1)
	mtDecrypt(z, 5489)
	if want := byte(uint32(3499211612) >> 1 & 0xff); z[0] != want {
		t.Errorf("MT19937(5489) first key byte = %#x, want %#x", z[0], want)
	}
}

// TestAutoItFunctionTable checks anchors of the function numbering (the
// later UNKNOWN_n placeholders carry ClamAV's names, which are off by one
// from their index from UNKNOWN_235 on).
func TestAutoItFunctionTable(t *testing.T) {
	fs := strings.Fields(autoitFunctionNames)
	for name, want := range map[string]int{"ABS": 0, "UNKNOWN_89": 89, "UNKNOWN_229": 229, "FILEINSTALL": 108, "WINWAITNOTACTIVE": len(fs) - 1} {
		if got := indexOf(fs, name); got != want {
			t.Errorf("%s at index %d, want %d", name, got, want)
		}
	}
	if len(fs) != 406 {
		t.Errorf("%d functions, want 406", len(fs))
	}
}

func utf16le(s string) []byte {
	var b []byte
	for i := 0; i < len(s); i++ {
		b = append(b, s[i], 0)
	}
	return b
}

// TestAutoItDecompile decompiles a token stream built here.
func TestAutoItDecompile(t *testing.T) {
	var b []byte
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	str := func(op byte, s string) {
		b = append(b, op)
		u32(uint32(len(s)))
		for i := 0; i < len(s); i++ {
			b = append(b, s[i]^byte(len(s)), byte(len(s)>>8))
		}
	}
	u32(2) // lines
	b = append(b, 0)
	u32(28) // LOCAL
	str(0x33, "x")
	b = append(b, 0x41)
	b = append(b, 1)
	u32(uint32(indexOf(strings.Fields(autoitFunctionNames), "STRINGLEN")))
	b = append(b, 0x47)
	str(0x36, "hello")
	b = append(b, 0x48, 0x7f)
	b = append(b, 5)
	u32(0x2a)
	b = append(b, 0x7f)
	got := string(autoitDecompile(b, 1<<20))
	want := "LOCAL $x = STRINGLEN ( \"hello\" ) \n0x0000002a \n"
	if got != want {
		t.Fatalf("decompiled %q, want %q", got, want)
	}
	// Truncated streams end the text, never panic.
	for i := range b {
		autoitDecompile(b[:i], 1<<20)
	}
}

func FuzzUnpackAutoIt(f *testing.F) {
	var seeds [][]byte
	for _, name := range []string{"clam.ea05.exe", "clam.ea06.exe"} {
		if d, err := os.ReadFile(filepath.Join("/usr/share/clamav-testfiles", name)); err == nil {
			i := bytes.Index(d, autoitMarker)
			seeds = append(seeds, d[max(0, i-16):], d[max(0, i-16):min(len(d), i+300)])
		}
	}
	fuzzFormat(f, autoitFormat(), seeds...)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
