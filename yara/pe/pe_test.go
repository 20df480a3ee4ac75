package pe

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// minimalPE builds a small PE32 (or PE32+) file with the given sections
// (raw offset, raw size, virtual address, virtual size) and file
// alignment.
func minimalPE(is64 bool, align uint32, sections [][4]uint32) []byte {
	const lfanew = 0x80
	optSize := opt32Size
	if is64 {
		optSize = opt64Size
	}
	tab := lfanew + 4 + fileHeaderSize + optSize
	size := tab + sectionSize*len(sections)
	for _, s := range sections {
		size = max(size, int(s[0]+s[1]))
	}
	b := make([]byte, size)
	le := binary.LittleEndian
	le.PutUint16(b, 0x5a4d)
	le.PutUint32(b[0x3c:], lfanew)
	le.PutUint32(b[lfanew:], 0x4550)
	fh := b[lfanew+4:]
	le.PutUint16(fh, 0x14c)
	le.PutUint16(fh[2:], uint16(len(sections)))
	le.PutUint16(fh[16:], uint16(optSize))
	oh := fh[fileHeaderSize:]
	if is64 {
		le.PutUint16(oh, Magic64)
		le.PutUint32(oh[108:], 16)
	} else {
		le.PutUint16(oh, Magic32)
		le.PutUint32(oh[92:], 16)
	}
	le.PutUint32(oh[36:], align)
	for i, s := range sections {
		sh := b[tab+i*sectionSize:]
		copy(sh, ".s")
		le.PutUint32(sh[8:], s[3])
		le.PutUint32(sh[12:], s[2])
		le.PutUint32(sh[16:], s[1])
		le.PutUint32(sh[20:], s[0])
	}
	return b
}

func TestIsPE(t *testing.T) {
	good := minimalPE(false, 0x200, nil)
	good64 := minimalPE(true, 0x200, nil)
	negLfanew := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(negLfanew[0x3c:], 0xfffffff0)
	noSig := append([]byte(nil), good...)
	noSig[0x80] = 'X'
	odd := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(odd[0x84:], 0x1234) // any machine will do
	tests := []struct {
		name string
		data []byte
		want bool
	}{
		{"pe32", good, true},
		{"pe32+", good64, true},
		{"unknown machine", odd, true},
		{"empty", nil, false},
		{"mz only", []byte("MZ"), false},
		{"negative e_lfanew", negLfanew, false},
		{"no PE signature", noSig, false},
		{"optional header cut", good[:len(good)-1], false},
		{"pe32+ header cut to pe32 size", good64[:0x80+4+fileHeaderSize+opt32Size], false},
	}
	for _, tt := range tests {
		if got := IsPE(tt.data); got != tt.want {
			t.Errorf("%s: IsPE = %v, want %v", tt.name, got, tt.want)
		}
		if _, err := Parse(tt.data); (err == nil) != tt.want {
			t.Errorf("%s: Parse error %v", tt.name, err)
		}
	}
}

func TestRVAToOffset(t *testing.T) {
	// Two sections: .s at RVA 0x1000 (raw 0x400, 0x200 bytes) and one at
	// 0x2000 whose raw offset 0x610 rounds down to 0x600.
	f, err := Parse(minimalPE(false, 0x200, [][4]uint32{
		{0x400, 0x200, 0x1000, 0x1000},
		{0x610, 0x100, 0x2000, 0x800},
	}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rva  uint64
		want int64
	}{
		{0x10, 0x10},    // below the first section: identity
		{0x1000, 0x400}, // start of the first section
		{0x11ff, 0x5ff}, // last raw byte
		{0x1200, -1},    // in virtual size, past the raw data
		{0x2010, 0x610}, // rounded raw offset
		{0x2100, -1},    // past the raw data of the second
		{0x3000, -1},    // in no section
		{1 << 40, -1},   // far away
		{0x700, 0x700},  // below the first section, inside the file
		{0xfff, -1},     // below the first section, past the end of the file
		{0x0, 0x0},
	}
	for _, tt := range tests {
		if got := f.RVAToOffset(tt.rva); got != tt.want {
			t.Errorf("RVAToOffset(%#x) = %#x, want %#x", tt.rva, got, tt.want)
		}
	}
}

func TestOverlay(t *testing.T) {
	data := minimalPE(false, 0x200, [][4]uint32{{0x400, 0x200, 0x1000, 0x200}})
	f, _ := Parse(append(data, "overlay"...))
	if f.OverlayOffset != 0x600 || f.OverlaySize != 7 {
		t.Errorf("overlay = (%#x, %d), want (0x600, 7)", f.OverlayOffset, f.OverlaySize)
	}
	f, _ = Parse(data)
	if f.OverlayOffset != 0 || f.OverlaySize != 0 {
		t.Errorf("overlay without one = (%#x, %d)", f.OverlayOffset, f.OverlaySize)
	}
}

func TestOrdinalName(t *testing.T) {
	tests := []struct {
		dll  string
		ord  uint16
		want string
	}{
		{"WS2_32.dll", 1, "accept"},
		{"ws2_32.DLL", 115, "WSAStartup"},
		{"wsock32.dll", 151, "__WSAFDIsSet"},
		{"wsock32.dll", 100, "ord100"},
		{"ws2_32.dllx", 3, "closesocket"}, // a prefix match, as yara's strncasecmp
		{"ws2_32.dl", 3, "ord3"},
		{"OLEAUT32.dll", 2, "SysAllocString"},
		{"oleaut32.dll", 144, "DllCanUnloadNow"},
		{"oleaut32.dll", 200, "GetErrorInfo"},
		{"oleaut32.dll", 283, "BSTR_UserSize"},
		{"oleaut32.dll", 302, "ord302"},
		{"oleaut32.dll", 443, "UnRegisterTypeLibForUser"},
		{"kernel32.dll", 1, "ord1"},
	}
	for _, tt := range tests {
		if got := string(OrdinalName([]byte(tt.dll), tt.ord)); got != tt.want {
			t.Errorf("OrdinalName(%q, %d) = %q, want %q", tt.dll, tt.ord, got, tt.want)
		}
	}
}

func TestRich(t *testing.T) {
	data := minimalPE(false, 0x200, nil)
	le := binary.LittleEndian
	key := uint32(0x11223344)
	words := []uint32{richDanS ^ key, key, key, key, (5<<16 | 30319) ^ key, 3 ^ key, (7<<16 | 1) ^ key, 4 ^ key, richRich, key}
	for i, w := range words {
		le.PutUint32(data[0x40+4*i:], w)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if f.Rich == nil || f.Rich.Offset != 0x40 || f.Rich.Length != 32 || f.Rich.Key != key {
		t.Fatalf("rich = %+v", f.Rich)
	}
	for _, tt := range []struct {
		version, tool, want int64
	}{
		{30319, Any, 3}, {Any, 7, 4}, {1, 7, 4}, {30319, 7, 0}, {Any, Any, 0}, {-1, Any, 0},
	} {
		if got, ok := f.RichCount(tt.version, tt.tool); !ok || got != tt.want {
			t.Errorf("RichCount(%d, %d) = %d, %v; want %d", tt.version, tt.tool, got, ok, tt.want)
		}
	}
}

func TestCalculateChecksum(t *testing.T) {
	// The CheckSum field does not count; every other byte does.
	data := minimalPE(false, 0x200, nil)
	f, _ := Parse(data)
	a := f.CalculateChecksum()
	binary.LittleEndian.PutUint32(data[0x80+4+fileHeaderSize+64:], 0xdeadbeef)
	f, _ = Parse(data)
	if b := f.CalculateChecksum(); a != b {
		t.Errorf("checksum depends on the CheckSum field: %#x vs %#x", a, b)
	}
	data[0x10]++
	f, _ = Parse(data)
	if c := f.CalculateChecksum(); c == a {
		t.Errorf("checksum ignores a changed byte")
	}
}

// sharedData returns a file of yara's test data, skipping when the shared
// folder is absent (failing under CI=true).
func sharedData(t *testing.T, name string) []byte {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "testdata", "yara", "data", name)
	b, err := os.ReadFile(p)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data missing: %v", err)
		}
		t.Skipf("skipping: shared test data not present (%v)", err)
	}
	return b
}

// TestYaraData checks values yara's own test suite asserts for its test
// files.
func TestYaraData(t *testing.T) {
	f, err := Parse(sharedData(t, "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if h := f.Imphash(); h != "1720bf764274b7a4052bbef0a71adc0d" {
		t.Errorf("imphash(tiny) = %s", h)
	}
	if f.OptionalHeader.AddressOfEntryPoint != 0x14e0 || f.EntryPoint != 0x14e0 {
		t.Errorf("entry point = %#x", f.EntryPoint)
	}
	if len(f.Sections) != 7 || string(f.Sections[6].Name) != ".tls" {
		t.Errorf("sections = %d", len(f.Sections))
	}
	if f.NumberOfImports != 2 || f.NumberOfImportedFunctions != 48 {
		t.Errorf("imports = %d, functions = %d", f.NumberOfImports, f.NumberOfImportedFunctions)
	}
	m, err := Parse(sharedData(t, "mtxex.dll"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Exports) != 4 || string(m.Exports[2].Name) != "MTSCreateActivity" || string(m.Exports[2].ForwardName) != "COMSVCS.MTSCreateActivity" {
		t.Errorf("exports = %+v", m.Exports)
	}
	if string(m.PDBPath) != "mtxex.pdb" || len(m.VersionInfo) != 8 {
		t.Errorf("pdb %q, %d version strings", m.PDBPath, len(m.VersionInfo))
	}
}

// FuzzParse checks that Parse and the methods never panic and stay within
// the data, whatever the input.
func FuzzParse(f *testing.F) {
	f.Add(minimalPE(false, 0x200, [][4]uint32{{0x400, 0x200, 0x1000, 0x1000}}))
	f.Add(minimalPE(true, 4, [][4]uint32{{0x300, 0x10, 0x1000, 0x10}}))
	for _, name := range []string{"tiny", "mtxex.dll", "pe_imports", "weird_rich", "ChipTune.efi"} {
		p := filepath.Join("..", "..", "..", "shared", "testdata", "yara", "data", name)
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		p.Imphash()
		p.CalculateChecksum()
		p.RichCount(Any, 1)
		if p.Rich != nil {
			if v := p.Rich.VersionData(); len(v)%4 != 0 || len(v) > len(p.Rich.Clear)/2 {
				t.Fatalf("version data of %d bytes from a header of %d", len(v), len(p.Rich.Clear))
			}
		}
		for _, rva := range []uint64{0, 0x1000, uint64(len(b)), 1 << 63} {
			if off := p.RVAToOffset(rva); off >= int64(len(b)) {
				t.Fatalf("RVAToOffset(%#x) = %d past the end (%d)", rva, off, len(b))
			}
		}
	})
}

func benchFile(b *testing.B, name string) []byte {
	p := filepath.Join("..", "..", "..", "shared", "testdata", "yara", "data", name)
	data, err := os.ReadFile(p)
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	return data
}

// BenchmarkParse measures a full parse of a small DLL with imports,
// exports, resources and version information.
func BenchmarkParse(b *testing.B) {
	data := benchFile(b, "mtxex.dll")
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIsPE measures the check made for every scanned file.
func BenchmarkIsPE(b *testing.B) {
	data := make([]byte, 1<<16)
	copy(data, "\x7fELF")
	for b.Loop() {
		IsPE(data)
	}
}

// TestRichVersionData checks yara 4.3's rich_signature.version_data on a
// header made here: the first word of each record after the preamble.
func TestRichVersionData(t *testing.T) {
	for _, tc := range []struct {
		clear []byte
		want  []byte
	}{
		{append(make([]byte, 16), 1, 2, 3, 4, 9, 9, 9, 9, 5, 6, 7, 8, 9, 9, 9, 9), []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{append(make([]byte, 16), 1, 2, 3, 4, 9, 9, 9, 9, 5, 6, 7, 8), []byte{1, 2, 3, 4}}, // half a record dropped
		{make([]byte, 16), []byte{}},
		{make([]byte, 12), nil}, // shorter than the preamble: undefined
	} {
		got := (&RichSignature{Clear: tc.clear}).VersionData()
		if (got == nil) != (tc.want == nil) || string(got) != string(tc.want) {
			t.Errorf("VersionData(%x) = %x, want %x", tc.clear, got, tc.want)
		}
	}
}
