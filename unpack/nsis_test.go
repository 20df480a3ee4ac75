package unpack

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/internal/testenv"
)

// nsisCompressors are makensis's SetCompressor methods.
var nsisCompressors = []string{"zlib", "bzip2", "lzma"}

// buildNSIS builds with makensis an installer of the payload and a
// second, larger file (two bzip2 blocks' worth of /usr/bin/false),
// compressed with comp, solid or not.
func buildNSIS(t testing.TB, comp string, solid bool) (path string, second []byte) {
	t.Helper()
	second = bytes.Repeat(readFile(t, "/usr/bin/false"), 40)
	return buildNSISFiles(t, comp, solid, readPayload(t), second), second
}

// buildNSISFiles builds an installer of payload.exe and second.bin.
func buildNSISFiles(t testing.TB, comp string, solid bool, payload, second []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payload.exe"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "second.bin"), second, 0o644); err != nil {
		t.Fatal(err)
	}
	mode := ""
	if solid {
		mode = "/SOLID "
	}
	script := fmt.Sprintf(`OutFile "out.exe"
SetCompressor %s%s
InstallDir "$TEMP\glassav"
Section
SetOutPath $INSTDIR
File "payload.exe"
File "second.bin"
SectionEnd
`, mode, comp)
	if err := os.WriteFile(filepath.Join(dir, "out.nsi"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, dir, "makensis", "-V1", "out.nsi")
	return filepath.Join(dir, "out.exe")
}

// clamscanExtracts runs clamscan on path with a signature that matches
// nothing, leaving its temporary files, and returns the files ClamAV
// extracted into directories whose name starts with prefix, by name.
func clamscanExtracts(t *testing.T, path, prefix string) map[string][]byte {
	t.Helper()
	clamscan := testenv.NeedTool(t, "clamscan")
	tmp := t.TempDir()
	db := filepath.Join(tmp, "none.ndb")
	if err := os.WriteFile(db, []byte("Glassav.Test.None:0:*:676c61737361762d6e6f6e652d6d61746368\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(clamscan, "--no-summary", "--leave-temps", "--tempdir="+tmp, "-d", db, path).CombinedOutput()
	if err != nil {
		t.Fatalf("clamscan: %v, want exit status 0\n%s", err, out)
	}
	got := map[string][]byte{}
	filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.HasPrefix(filepath.Base(filepath.Dir(p)), prefix) {
			got[d.Name()] = readFile(t, p)
		}
		return nil
	})
	return got
}

// sameAsClamscan fails unless ms are exactly the files ClamAV extracted,
// in order: its names are headers, content.001, content.002...
func sameAsClamscan(t *testing.T, ms []Member, peer map[string][]byte) {
	t.Helper()
	if len(peer) < 2 {
		t.Fatalf("clamscan extracted %d files, want at least 2", len(peer))
	}
	var names []string
	for name := range peer {
		if name != "headers" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	names = append([]string{"headers"}, names...)
	if len(ms) != len(names) {
		t.Errorf("%d members %q, clamscan extracted %d: %q", len(ms), memberNames(ms), len(names), names)
	}
	for i := range min(len(ms), len(names)) {
		if want := peer[names[i]]; !bytes.Equal(ms[i].Data, want) {
			t.Errorf("member %d %q: %d bytes differ from clamscan's %s (%d bytes)", i, ms[i].Name, len(ms[i].Data), names[i], len(want))
		}
	}
}

func TestNSIS(t *testing.T) {
	payload := readPayload(t)
	for _, comp := range nsisCompressors {
		for _, solid := range []bool{false, true} {
			name := comp
			if solid {
				name += "-solid"
			}
			t.Run(name, func(t *testing.T) {
				path, second := buildNSIS(t, comp, solid)
				data := readFile(t, path)
				if !nsisDetect(data) {
					t.Fatal("Detect: false")
				}
				if !formatInside(filetype.MSEXE, data, "nsis") {
					t.Fatal(`Inside(MSEXE) does not list "nsis"`)
				}
				a := &nsisArchive{}
				off := bytes.Index(data, []byte(nsisMarker)) - 4
				a.data, a.size = data[off:], int64(len(data)-off-nsisFirstHeader)
				if err := a.guess(context.Background(), NewBudget(Limits{})); err != nil {
					t.Fatal(err)
				}
				if a.solid != solid || a.comp.String() != comp {
					t.Errorf("guessed %v solid %v, want %s solid %v", a.comp, a.solid, comp, solid)
				}
				ms := unpackOK(t, nsisFormat(), data)
				want := []string{"headers", `$INSTDIR\payload.exe`, `$INSTDIR\second.bin`}
				if !slices.Equal(memberNames(ms), want) {
					t.Fatalf("members %q, want %q", memberNames(ms), want)
				}
				wantMember(t, ms, "payload.exe", payload)
				wantMember(t, ms, "second.bin", second)
				sameAsClamscan(t, ms, clamscanExtracts(t, path, "nulsft-tmp"))
				clamscanFinds(t, path, payload)
			})
		}
	}
}

// TestNSISNames: members take the names the script gives their data —
// output directory and all, in ANSI and Unicode installers — and a
// block the script extracts twice (makensis stores identical files
// once) takes the first name.
func TestNSISNames(t *testing.T) {
	payload := readPayload(t)
	text := []byte("glassav: a file whose name is not ASCII\n")
	for _, unicode := range []bool{false, true} {
		for _, solid := range []bool{false, true} {
			dir := t.TempDir()
			for name, data := range map[string][]byte{"payload.exe": payload, "text.txt": text, "empty.txt": nil} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			mode := ""
			if solid {
				mode = "/SOLID "
			}
			// In an ANSI installer ü is one byte, 0xFC, which NSIS 2
			// used as a code.
			script := fmt.Sprintf("Unicode %v\nOutFile out.exe\nSetCompressor %slzma\nInstallDir \"$TEMP\\g\"\n"+
				"Section\nSetOutPath $INSTDIR\nFile payload.exe\nSetOutPath \"$INSTDIR\\sub dir\"\n"+
				"File /oname=copy.exe payload.exe\nFile empty.txt\nFile \"/oname=$SYSDIR\\ü.txt\" text.txt\n"+
				"File \"/oname=$TEMP\\t.exe\" /usr/bin/false\nSectionEnd\n", unicode, mode)
			if err := os.WriteFile(filepath.Join(dir, "out.nsi"), []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			runTool(t, dir, "makensis", "-V1", "out.nsi")
			ms := unpackOK(t, nsisFormat(), readFile(t, filepath.Join(dir, "out.exe")))
			want := []string{"headers", `$INSTDIR\payload.exe`, `$SYSDIR\ü.txt`, `$TEMP\t.exe`}
			if got := memberNames(ms); !slices.Equal(got, want) {
				t.Errorf("unicode %v solid %v: members %q, want %q", unicode, solid, got, want)
				continue
			}
			if !bytes.Equal(ms[1].Data, payload) || !bytes.Equal(ms[2].Data, text) {
				t.Errorf("unicode %v solid %v: members' data differ", unicode, solid)
			}
		}
	}
}

// TestNSISStored: in a non-solid installer makensis stores a file that
// does not compress as it is (no compression bit): the member is sliced
// from the installer, offset and all.
func TestNSISStored(t *testing.T) {
	noise := make([]byte, 64<<10)
	r := rand.New(rand.NewPCG(6, 4))
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	for _, comp := range nsisCompressors {
		path := buildNSISFiles(t, comp, false, readPayload(t), noise)
		data := readFile(t, path)
		ms := unpackOK(t, nsisFormat(), data)
		m := wantMember(t, ms, "second.bin", noise)
		if m.Offset < 0 || !bytes.Equal(data[m.Offset:m.Offset+int64(len(noise))], noise) {
			t.Errorf("%s: stored member at offset %d, want where its bytes are", comp, m.Offset)
		}
		sameAsClamscan(t, ms, clamscanExtracts(t, path, "nulsft-tmp"))
		clamscanFinds(t, path, noise)
	}
}

// TestNSISScriptHostile: a script of many instructions that all extract
// files with long names costs a map of offsets, and only the names of
// blocks that exist are decoded.
func TestNSISScriptHostile(t *testing.T) {
	const size = 8 << 20
	d := make([]byte, size)
	le := binary.LittleEndian
	entries := (size/2 - 100) / nsisEntrySize
	le.PutUint32(d[nsisBlocksTable+8*nsisBlockEntries:], 100)
	le.PutUint32(d[nsisBlocksTable+8*nsisBlockEntries+4:], uint32(entries))
	le.PutUint32(d[nsisBlocksTable+8*nsisBlockStrings:], size/2)
	for i := range entries {
		e := d[100+nsisEntrySize*i:]
		le.PutUint32(e, nsisOpExtract)
		le.PutUint32(e[8:], uint32(i))  // name
		le.PutUint32(e[12:], uint32(i)) // data position
	}
	for i := size / 2; i < size; i++ {
		d[i] = 'a'
	}
	start := time.Now()
	s := parseNSISScript(d)
	if s == nil || len(s.files) != entries {
		t.Fatalf("script not read")
	}
	name, ok := s.name(7)
	if !ok || len(name) != nsisMaxNameLen {
		t.Errorf("name of %d characters, want it cut at %d", len(name), nsisMaxNameLen)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("reading the script took %v", d)
	}
}

// formatInside reports whether Inside(t, data) lists the format name.
func formatInside(t filetype.Type, data []byte, name string) bool {
	for _, f := range Inside(t, data) {
		if f.Name == name {
			return true
		}
	}
	return false
}

func TestNSISClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	path := testFile(t, "clam-nsis.exe")
	ms := unpackOK(t, nsisFormat(), readFile(t, path))
	if names := memberNames(ms); !slices.Equal(names, []string{"headers", `$INSTDIR\clam.exe`}) {
		t.Errorf("members %q, want headers and the name the script gives clam.exe", names)
	}
	wantMember(t, ms, "clam.exe", clam)
	sameAsClamscan(t, ms, clamscanExtracts(t, path, "nulsft-tmp"))
	clamscanFinds(t, path, clam)
}

func TestNSISNotDetected(t *testing.T) {
	for _, p := range []string{"/usr/bin/true", "/usr/share/clamav-testfiles/clam.exe"} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if nsisDetect(data) {
			t.Errorf("%s: Detect: true", p)
		}
	}
	// The marker at the very start has no room for the flags before it.
	if nsisDetect([]byte(nsisMarker + strings.Repeat("\x00", 40))) {
		t.Error("marker at offset 0: Detect: true")
	}
}

// TestNSISDamaged cuts and flips installers of every compression: each
// cut inside the archive ends in an error, none in a panic or a hang. (A
// cut before the archive leaves a plain executable: no error.)
func TestNSISDamaged(t *testing.T) {
	damage := func(name string, data []byte) {
		start := time.Now()
		hdr := bytes.Index(data, []byte(nsisMarker)) - 4
		size := len(data) - hdr
		for _, cut := range []int{24, nsisFirstHeader + 2, 40, 200, size / 3, size / 2, size - 3} {
			if _, err := checkUnpack(t, nsisFormat(), data[:hdr+cut], Limits{}); err == nil {
				t.Errorf("%s: cut %d bytes into the archive of %d: no error", name, cut, size)
			}
		}
		for _, at := range []int{nsisFirstHeader + 1, nsisFirstHeader + 7, 100, size / 3, size / 2, size - 5} {
			d := bytes.Clone(data)
			d[hdr+at] ^= 0x55
			checkUnpack(t, nsisFormat(), d, Limits{})
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("%s: damaged copies took %v", name, d)
		}
	}
	for _, comp := range nsisCompressors {
		for _, solid := range []bool{false, true} {
			path, _ := buildNSIS(t, comp, solid)
			damage(fmt.Sprintf("%s solid %v", comp, solid), readFile(t, path))
		}
	}
	damage("clam-nsis.exe", readFile(t, testFile(t, "clam-nsis.exe")))
}

// TestNSISLimits: a member over MaxFileSize is cut and the limit named,
// and the members after it are still read, solid or not.
func TestNSISLimits(t *testing.T) {
	payload := readPayload(t)
	for _, solid := range []bool{false, true} {
		path, _ := buildNSIS(t, "lzma", solid)
		l := Limits{MaxFileSize: int64(len(payload)) + 10}
		ms, err := checkUnpack(t, nsisFormat(), readFile(t, path), l)
		if le, ok := IsLimit(err); !ok || le.Limit != LimitFileSize {
			t.Errorf("solid %v: error %v, want the MaxFileSize limit", solid, err)
		}
		if len(ms) != 3 || !bytes.Equal(ms[1].Data, payload) || int64(len(ms[2].Data)) != l.MaxFileSize {
			t.Errorf("solid %v: members %v, want the payload whole and the second cut", solid, memberNames(ms))
		}
	}
}

// TestNSISLZMADictionary: a stated dictionary of 4 GiB is not allocated.
func TestNSISLZMADictionary(t *testing.T) {
	clam := readFile(t, testFile(t, "clam-nsis.exe"))
	d := bytes.Clone(clam)
	off := bytes.Index(d, []byte(nsisMarker)) - 4
	// The first block is 0x80000425 then the LZMA properties: 5D and the
	// dictionary size.
	copy(d[off+nsisFirstHeader+5:], "\xff\xff\xff\xff")
	ms, _ := checkUnpack(t, nsisFormat(), d, Limits{MaxFileSize: 1 << 20})
	wantMember(t, ms, "clam.exe", readFile(t, testFile(t, "clam.exe")))
}

func nsisSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam-nsis.exe"); err == nil {
		tail := data[bytes.Index(data, []byte(nsisMarker))-4:]
		seeds = append(seeds, tail, tail[:len(tail)/2])
	}
	if _, err := exec.LookPath("makensis"); err == nil {
		// Small files, so the fuzzer spends its time on the format.
		small := []byte(strings.Repeat("glassav nsis fuzz seed ", 20))
		for _, comp := range nsisCompressors {
			for _, solid := range []bool{false, true} {
				data := readFile(f, buildNSISFiles(f, comp, solid, small[:100], small))
				seeds = append(seeds, data[bytes.Index(data, []byte(nsisMarker))-4:])
			}
		}
	}
	return append(seeds, []byte("\x00\x00\x00\x00"+nsisMarker+"\x00\x10\x00\x00\x40\x00\x00\x00"))
}

func FuzzUnpackNSIS(f *testing.F) {
	fuzzFormat(f, nsisFormat(), nsisSeeds(f)...)
}

// FuzzNSISBzip2 runs the bzip2 decoder alone on the compressed data of
// solid bzip2 installers and any other input.
func FuzzNSISBzip2(f *testing.F) {
	for _, s := range nsisSeeds(f) {
		if len(s) > nsisFirstHeader {
			f.Add(s[nsisFirstHeader:])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewBudget(fuzzLimits)
		r := newNSISBzip2(data)
		out, err := b.Read(context.Background(), r, int64(len(data)))
		if int64(len(out)) > fuzzLimits.MaxFileSize {
			t.Fatalf("%d bytes out, over the limit", len(out))
		}
		_ = err
	})
}

func BenchmarkUnpackNSIS(b *testing.B) {
	for _, comp := range nsisCompressors {
		path, _ := buildNSIS(b, comp, true)
		data := readFile(b, path)
		b.Run(comp, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := unpackNSIS(context.Background(), data, NewBudget(Limits{}), func(Member) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzNSISScript reads names from any script block.
func FuzzNSISScript(f *testing.F) {
	for _, s := range nsisSeeds(f) {
		ms, _ := checkUnpack(f, nsisFormat(), s, fuzzLimits)
		if len(ms) > 0 && ms[0].Name == "headers" {
			f.Add(ms[0].Data)
		}
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		s := parseNSISScript(script)
		if s == nil {
			return
		}
		n := 0
		for pos := range s.files {
			if n++; n > 1000 {
				break
			}
			if name, ok := s.name(pos); ok && len(name) > 4*nsisMaxNameLen+64 {
				t.Fatalf("name of %d bytes at %d", len(name), pos)
			}
		}
	})
}
