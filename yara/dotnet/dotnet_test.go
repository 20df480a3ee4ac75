package dotnet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// sharedData returns the path of a file of yara's test data, skipping the
// test when the shared folder is absent (failing under CI=true).
func sharedData(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "testdata", "yara", "data", name)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data %s missing: %v", p, err)
		}
		t.Skipf("skipping: shared data %s not present (%v)", p, err)
	}
	return p
}

func readShared(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(sharedData(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseSharedFiles checks the values yara's own tests expect of its
// .NET test files (test-dotnet.c), and more of them.
func TestParseSharedFiles(t *testing.T) {
	tests := []struct {
		file      string
		module    string
		version   string
		assembly  string
		culture   string
		guids     []string
		streams   []string
		resources []Resource
		refs      int
		token     string
	}{
		{
			file: "0ca09bde7602769120fadc4f7a4147347a7a97271370583586c9e587fd396171",
			// yara's tests: module name, version, assembly name, the one
			// resource and GUID, the five streams.
			module: "hpjsoaputility.Sv.resources.dll", version: "v2.0.50727",
			assembly: "hpjsoaputility.Sv.resources", culture: "pt",
			guids:     []string{"3764d539-e21a-4366-bc7c-b56fa67efbb0"},
			streams:   []string{"#~", "#Strings", "#US", "#GUID", "#Blob"},
			resources: []Resource{{Offset: 724, Length: 180, Name: []byte("hpjsoaputility.XmlStreamSoapExtension.pt.resources"), HasName: true}},
			refs:      1,
			// mscorlib's token b77a5c561934e089, less its last byte as in yara.
			token: "\xb7\x7a\x5c\x56\x19\x34\xe0",
		},
		{
			file: "dotnet_misaligned_guid", module: "hpjsoaputility.Sv.resources.dll", version: "v2.0.50727",
			assembly: "hpjsoaputility.Sv.resources", culture: "pt",
			// The #GUID stream starts one byte late: yara reads from there.
			guids:   []string{"1a3764d5-66e2-bc43-7cb5-6fa67efbb000"},
			streams: []string{"#~", "#Strings", "#US", "#GUID", "#Blob"},
			resources: []Resource{{Offset: 724, Length: 180,
				Name: []byte("hpjsoaputility.XmlStreamSoapExtension.pt.resources"), HasName: true}},
			refs: 1, token: "\xb7\x7a\x5c\x56\x19\x34\xe0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.file[:12], func(t *testing.T) {
			f, err := Parse(readShared(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !f.IsDotNet {
				t.Fatal("is_dotnet = 0")
			}
			if string(f.ModuleName) != tt.module || string(f.Version) != tt.version {
				t.Errorf("module %q version %q; want %q %q", f.ModuleName, f.Version, tt.module, tt.version)
			}
			if string(f.Assembly.Name) != tt.assembly || string(f.Assembly.Culture) != tt.culture {
				t.Errorf("assembly %q culture %q; want %q %q", f.Assembly.Name, f.Assembly.Culture, tt.assembly, tt.culture)
			}
			if fmt.Sprint(f.GUIDs) != fmt.Sprint(tt.guids) {
				t.Errorf("guids %v; want %v", f.GUIDs, tt.guids)
			}
			var names []string
			for _, s := range f.Streams {
				names = append(names, string(s.Name))
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.streams) {
				t.Errorf("streams %v; want %v", names, tt.streams)
			}
			if fmt.Sprintf("%+v", f.Resources) != fmt.Sprintf("%+v", tt.resources) {
				t.Errorf("resources %+v; want %+v", f.Resources, tt.resources)
			}
			if len(f.AssemblyRefs) != tt.refs || string(f.AssemblyRefs[0].PublicKeyOrToken) != tt.token {
				t.Errorf("assembly refs %+v; want %d with token %q", f.AssemblyRefs, tt.refs, tt.token)
			}
		})
	}
}

// TestParseNotDotNet checks what is not a PE file (is_dotnet undefined) and
// what is a PE file without CLI metadata (is_dotnet 0).
func TestParseNotDotNet(t *testing.T) {
	tiny := readShared(t, "tiny")
	elf := readShared(t, "elf_with_imports")
	notPE := [][]byte{nil, []byte("MZ"), bytes.Repeat([]byte("MZ"), 32), elf, tiny[:100]}
	for i, data := range notPE {
		if _, err := Parse(data); !errors.Is(err, ErrNotPE) {
			t.Errorf("input %d: err %v; want ErrNotPE", i, err)
		}
	}
	for _, name := range []string{"tiny", "mtxex.dll", "pe_mingw"} {
		f, err := Parse(readShared(t, name))
		if err != nil || f.IsDotNet {
			t.Errorf("%s: %v, %v; want a PE that is not .NET", name, f, err)
		}
	}
	// yara 4.2.3 does not look at the machine: a RISC-V PE is a PE.
	riscv := append([]byte(nil), tiny...)
	binary.LittleEndian.PutUint16(riscv[binary.LittleEndian.Uint32(riscv[0x3c:])+4:], 0x5032)
	if f, err := Parse(riscv); err != nil || f.IsDotNet {
		t.Errorf("RISC-V machine: %v, %v; want a PE that is not .NET", f, err)
	}
}

// TestBlobEntry checks the compressed lengths of heap entries, one less
// than encoded as in yara 4.2.3.
func TestBlobEntry(t *testing.T) {
	tests := []struct {
		data      []byte
		off       int64
		n, length int64
	}{
		{[]byte{0x00}, 0, 1, 0},
		{[]byte{0x01, 0x00}, 0, 1, 0},
		{[]byte{0x08, 1, 2, 3, 4, 5, 6, 7, 8}, 0, 1, 7},
		{[]byte{0x7f}, 0, 1, 0x7e},
		{[]byte{0x80, 0x80}, 0, 2, 0x7f},
		{[]byte{0xbf, 0xff}, 0, 2, 0x3ffe},
		{[]byte{0x80}, 0, 0, 0},                              // second byte missing
		{[]byte{0xc0, 0x00, 0x40, 0x00, 0x00}, 0, 4, 0x3fff}, // four bytes
		{[]byte{0xc0, 0x00, 0x40, 0x00}, 0, 0, 0},            // yara wants a byte after the four
		{[]byte{0xe0, 0, 0, 0, 0}, 0, 0, 0},                  // no such prefix
		{[]byte{0x05}, 1, 0, 0},                              // at the end
		{[]byte{0x05}, -1, 0, 0},
	}
	for _, tt := range tests {
		p := &parser{data: tt.data}
		n, length := p.blobEntry(tt.off)
		if n != tt.n || length != tt.length {
			t.Errorf("blobEntry(% x, %d) = %d, %d; want %d, %d", tt.data, tt.off, n, length, tt.n, tt.length)
		}
	}
}

// TestHeapString checks the heap strings: NUL-terminated, at most 1024
// bytes, the heap's size not checked.
func TestHeapString(t *testing.T) {
	long := bytes.Repeat([]byte("a"), 1024)
	data := append(append([]byte("\x00abc\x00"), long...), "\x00x"...)
	p := &parser{data: data}
	tests := []struct {
		heap  int64
		index uint32
		want  string
		ok    bool
	}{
		{0, 0, "", true},
		{0, 1, "abc", true},
		{1, 1, "bc", true},
		{0, 5, string(long), true}, // 1024 bytes: the longest
		{4, 0, "", true},           // the NUL before it
		{0, 6, string(long[1:]), true},
		{0, uint32(len(data) - 1), "", false}, // no NUL after "x"
		{0, uint32(len(data)), "", false},
		{-1, 0, "", false},
	}
	for _, tt := range tests {
		got, ok := p.heapString(tt.heap, tt.index)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("heapString(%d, %d) = %.20q, %v; want %.20q, %v", tt.heap, tt.index, got, ok, tt.want, tt.ok)
		}
	}
	over := &parser{data: append(bytes.Repeat([]byte("b"), 1025), 0)}
	if s, ok := over.heapString(0, 0); ok {
		t.Errorf("a 1025-byte string: %d bytes; want undefined", len(s))
	}
}

// TestRVAToOffset compares rvaToOffset with yara's pe.rva_to_offset on the
// PE files of yara's test data, at section boundaries and random RVAs.
func TestRVAToOffset(t *testing.T) {
	yara := testenv.NeedTool(t, "yara")
	dir := filepath.Dir(sharedData(t, "tiny"))
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	files = append(files, testenv.Files(6, 8<<20, "/usr/lib/mono/4.5/*.exe", "/usr/share/mono/*.exe")...)
	rng := rand.New(rand.NewPCG(7, 7))
	var checked int
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		im, ok := newImage(data)
		if !ok {
			continue
		}
		rvas := []uint64{0, 1, 0x1000, 0xffffffff}
		nsec := int(u16(data, im.nt+6))
		sec := im.optOff + int64(u16(data, im.nt+20))
		for i := 0; i < min(nsec, 8) && fits(data, sec+int64(i)*40, 40); i++ {
			va := uint64(u32(data, sec+int64(i)*40+12))
			vs := uint64(u32(data, sec+int64(i)*40+8))
			rs := uint64(u32(data, sec+int64(i)*40+16))
			rvas = append(rvas, va, va+1, va+vs-1, va+vs, va+rs-1, va+rs, va+vs/2)
		}
		for range 10 {
			rvas = append(rvas, uint64(rng.Uint32N(0x40000)))
		}
		var src strings.Builder
		src.WriteString("import \"pe\"\n")
		for i, rva := range rvas {
			rva &= 0xffffffff
			want := im.rvaToOffset(rva)
			cond := fmt.Sprintf("pe.rva_to_offset(%d) == %d", rva, want)
			if want < 0 {
				cond = fmt.Sprintf("not defined pe.rva_to_offset(%d)", rva)
			}
			fmt.Fprintf(&src, "rule r%d { condition: %s }\n", i, cond)
		}
		rules := filepath.Join(t.TempDir(), "r.yar")
		if err := os.WriteFile(rules, []byte(src.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(yara, rules, file).Output()
		if err != nil {
			t.Fatalf("yara %s: %v", file, err)
		}
		matched := strings.Count(string(out), "\n")
		if matched != len(rvas) {
			t.Errorf("%s: yara agrees on %d of %d RVAs:\n%s\nmatched:\n%s", file, matched, len(rvas), src.String(), out)
		}
		checked += len(rvas)
	}
	t.Logf("checked %d RVAs", checked)
	if checked < 100 {
		t.Fatalf("checked only %d RVAs", checked)
	}
}

// FuzzParse checks that no input makes Parse panic or return offsets
// outside the data.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"0ca09bde7602769120fadc4f7a4147347a7a97271370583586c9e587fd396171",
		"dotnet_misaligned_guid", "tiny"} {
		p := filepath.Join("..", "..", "..", "shared", "testdata", "yara", "data", name)
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		n := int64(len(data))
		for _, r := range file.Resources {
			if r.Offset < 4 || r.Offset-4+int64(r.Length) > n {
				t.Fatalf("resource %+v outside %d bytes", r, n)
			}
		}
		for _, o := range file.FieldOffsets {
			if o < 0 || o >= n {
				t.Fatalf("field offset %d outside %d bytes", o, n)
			}
		}
		if len(file.GUIDs) > 16 || len(file.UserStrings) > MaxItems || len(file.Constants) > MaxItems {
			t.Fatalf("too many items: %v", file)
		}
	})
}

// BenchmarkParse measures Parse on a .NET file and on data that is not a PE
// file (what most scanned files are).
func BenchmarkParse(b *testing.B) {
	net := readShared(b, "756684f4017ba7e931a26724ae61606b16b5f8cc84ed38a260a34e50c5016f59")
	elf := readShared(b, "elf_with_imports")
	for _, bc := range []struct {
		name string
		data []byte
	}{{"dotnet", net}, {"elf", elf}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				Parse(bc.data)
			}
		})
	}
}
