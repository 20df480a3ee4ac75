package dex

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDex returns the DEX file of yara's test suite, from the shared
// conformance corpus (skipping when it is absent, failing under CI=true).
func corpusDex(t testing.TB) []byte {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "testdata", "yara", "yara-test-cases.jsonl")
	f, err := os.Open(p)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared corpus missing: %v", err)
		}
		t.Skipf("skipping: shared corpus not present (%v)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var c struct {
			Rule string
			Data []byte
		}
		if json.Unmarshal(sc.Bytes(), &c) == nil && strings.Contains(c.Rule, `import "dex"`) && len(c.Data) > 0 {
			return c.Data
		}
	}
	t.Fatal("no DEX case in the corpus")
	return nil
}

func TestParseCorpus(t *testing.T) {
	f, err := Parse(corpusDex(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"magic", string(f.Header.Magic), "dex\n035"},
		{"checksum", f.Header.Checksum, uint32(0x3f9c602f)},
		{"data size", f.Header.DataSize, uint32(0x18c)},
		{"strings", len(f.StringIDs), 11},
		{"string 8", string(f.StringIDs[8].Value), "com.google.helloyara"},
		{"map list", f.MapListSize, uint32(12)},
		{"fields", f.NumFields, 2},
		{"field 0", string(f.Fields[0].Name), "applicationId"},
		{"methods", f.NumMethods, 2},
		{"method 0", string(f.Methods[0].ClassName) + "." + string(f.Methods[0].Name), "Lcom/android/tools/ir/server/AppInfo;.<clinit>"},
		{"method 1 code", f.Methods[1].Code.InsnsSize, uint32(4)},
		{"counts", f.HasCounts, true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestSharedClassData checks the bound on encoded items: many class
// definitions sharing one class data item with many methods.
func TestSharedClassData(t *testing.T) {
	d := corpusDex(t)
	f, _ := Parse(d)
	// Point every class definition of a file with 2000 of them at the
	// corpus file's class data.
	const classes = 2000
	b := append([]byte(nil), d...)
	off := len(b)
	for i := 0; i < classes; i++ {
		c := make([]byte, 32)
		binary.LittleEndian.PutUint32(c[24:], f.ClassDefs[0].ClassDataOffset)
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint32(b[0x60:], classes)
	binary.LittleEndian.PutUint32(b[0x64:], uint32(off))
	g, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	limit := MaxEncodedItems + len(b)/8
	if g.NumMethods > limit || g.NumMethods < 2*classes || len(g.ClassData) != classes {
		t.Fatalf("%d methods (limit %d), %d class data", g.NumMethods, limit, len(g.ClassData))
	}
}

func TestTruncated(t *testing.T) {
	d := corpusDex(t)
	for n := 0; n <= len(d); n++ {
		f, err := Parse(d[:n:n])
		if n < headerSize {
			if err == nil {
				t.Fatalf("%d bytes parsed", n)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if n < len(d) && f.HasCounts && f.NumMethods == 2 && f.Methods[1].Code != nil && f.Methods[1].Code.Insns != nil &&
			int(f.Methods[1].CodeOff)+16+8 > n {
			t.Fatalf("%d bytes: instructions read past the end", n)
		}
	}
}

func TestULEB128(t *testing.T) {
	for _, tt := range []struct {
		in []byte
		v  uint32
		n  uint64
		ok bool
	}{
		{[]byte{0x05}, 5, 1, true},
		{[]byte{0x80, 0x01}, 128, 2, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 0xffffffff, 5, true},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff}, 0xffffffff, 5, true}, // high bits of the fifth byte lost
		{[]byte{0x80}, 0, 1, false},
		{nil, 0, 0, false},
	} {
		p := &parser{d: tt.in, le: binary.LittleEndian}
		v, n, ok := p.uleb128(0)
		if ok != tt.ok || (ok && (v != tt.v || n != tt.n)) {
			t.Errorf("% x: %d, %d, %v; want %d, %d, %v", tt.in, v, n, ok, tt.v, tt.n, tt.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(corpusDex(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			return
		}
		if limit := MaxEncodedItems + len(b)/8; len(d.Methods) > limit+1 || len(d.Fields) > limit+1 {
			t.Fatalf("%d methods, %d fields from %d bytes", len(d.Methods), len(d.Fields), len(b))
		}
	})
}

func BenchmarkParse(b *testing.B) {
	d := corpusDex(b)
	b.SetBytes(int64(len(d)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(d); err != nil {
			b.Fatal(err)
		}
	}
}
