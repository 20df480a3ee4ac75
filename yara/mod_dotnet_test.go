package yara

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/yara/dotnet"
)

// dotnetFiles returns the .NET assemblies the differential tests compare
// on: those of yara's test data, and the Mono assemblies installed on the
// machine (Debian's mono-mcs brings mscorlib and the compiler).
func dotnetFiles(t testing.TB) (shared, mono []string) {
	t.Helper()
	dir := sharedDir(t, "testdata/yara/data")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			shared = append(shared, filepath.Join(dir, e.Name()))
		}
	}
	for _, f := range testenv.Files(200, 32<<20,
		"/usr/lib/mono/*/*.dll", "/usr/lib/mono/*/*.exe", "/usr/lib/mono/gac/*/*/*.dll",
		"/usr/share/mono/*.exe", "/usr/lib/mono/*/Facades/*.dll") {
		if isDotnetPE(f) {
			mono = append(mono, f)
		}
	}
	return shared, mono
}

// csharpSources are programs compiled with Mono's C# compiler for the
// differential tests: resources, a type library GUID, string constants,
// field data, P/Invoke module references, and (large) metadata heaps
// wide enough for 4-byte indexes.
func csharpSources() map[string]string {
	const small = `using System;
using System.Runtime.InteropServices;
[assembly: Guid("12345678-aaaa-bbbb-cccc-0123456789ab")]
[assembly: System.Reflection.AssemblyVersion("1.2.3.4")]
public class Hello {
  const string Greeting = "hello constant";
  const int Number = 42;
  static readonly int[] Table = new int[] {1,2,3,4,5,6,7,8};
  [DllImport("user32.dll")] static extern int MessageBoxA(IntPtr h, string t, string c, int type);
  [DllImport("kernel32")] static extern int GetTickCount();
  public event EventHandler Changed;
  public int Prop { get; set; }
  class Nested<T> { public T Value; }
  public static int Main(string[] args) {
    Console.WriteLine("user string \u00e9\u4e2d");
    Console.WriteLine(Greeting + Table[3] + Number + new Nested<int>().Value);
    return 0;
  }
}
`
	var big strings.Builder
	big.WriteString("using System;\n[assembly: System.Reflection.AssemblyTitle(\"big\")]\npublic class Big {\n")
	for i := range 3000 {
		fmt.Fprintf(&big, "  public const string ConstantNumber%04dWithALongName = \"the value of constant number %04d\";\n", i, i)
	}
	big.WriteString("  public static void Main() {\n")
	for i := range 400 {
		fmt.Fprintf(&big, "    Console.WriteLine(\"user string %d of the big program\");\n", i)
	}
	big.WriteString("  }\n}\n")
	return map[string]string{"small": small, "big": big.String()}
}

// csharpFiles compiles csharpSources with mcs into dir (several targets and
// platforms), or returns nil when mcs is not installed (failing under
// CI=true, which installs mono-mcs).
func csharpFiles(t testing.TB, dir string) []string {
	t.Helper()
	mcs, err := exec.LookPath("mcs")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mcs not found (required under CI=true: apt-get install mono-mcs): %v", err)
		}
		t.Log("mcs not found (apt-get install mono-mcs): no compiled C# programs")
		return nil
	}
	res := filepath.Join(dir, "res.txt")
	if err := os.WriteFile(res, []byte("resource data"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out []string
	for name, src := range csharpSources() {
		cs := filepath.Join(dir, name+".cs")
		if err := os.WriteFile(cs, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, v := range []struct{ suffix, args string }{
			{"x86.exe", "-platform:x86 -resource:" + res + ",my.res"},
			{"x64.exe", "-platform:x64 -resource:" + res},
			{"any.dll", "-target:library"},
		} {
			bin := filepath.Join(dir, name+"-"+v.suffix)
			args := append(strings.Fields(v.args), "-nowarn:67,169,414,649", "-out:"+bin, cs)
			if b, err := exec.Command(mcs, args...).CombinedOutput(); err != nil {
				t.Fatalf("mcs %s: %v\n%s", strings.Join(args, " "), err, b)
			}
			out = append(out, bin)
		}
	}
	return out
}

// isDotnetPE reports whether file is a PE file with CLI metadata.
func isDotnetPE(file string) bool {
	b, err := os.ReadFile(file)
	return err == nil && bytes.HasPrefix(b, []byte("MZ")) && bytes.Contains(b, []byte("BSJB"))
}

// TestDotnetModuleData compares every value of the dotnet module with what
// yara -D prints, on the shared test data (PE, .NET and other files) and
// the .NET assemblies of the machine.
func TestDotnetModuleData(t *testing.T) {
	shared, mono := dotnetFiles(t)
	files := append(append([]string(nil), shared...), mono...)
	files = append(files, csharpFiles(t, t.TempDir())...)
	if len(mono) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Mono assemblies found (CI installs mono-mcs)")
		}
		t.Log("no Mono assemblies on this machine (apt-get install mono-mcs): comparing the shared files only")
	}
	m := newDotnetModule()
	var nfiles, nlines, ndotnet int
	for _, f := range files {
		lines, diffs := moduleDataDiff(t, m, f, 10)
		nfiles++
		nlines += lines
		if lines > 30 {
			ndotnet++
		}
		if len(diffs) > 0 {
			t.Errorf("%s: dotnet module data differs from yara -D:\n%s", f, strings.Join(diffs, "\n"))
		}
	}
	t.Logf("compared %d files (%d .NET with values), %d lines of yara -D output", nfiles, ndotnet, nlines)
	if ndotnet < 4 || nlines < 1000 {
		t.Fatalf("compared only %d .NET files and %d lines; want at least 4 and 1000", ndotnet, nlines)
	}
}

// TestDotnetModuleDataMutants compares the module with yara -D on damaged
// copies of real .NET files: bytes of the headers, the metadata root, the
// stream headers, the table row counts, the tables and the heaps are
// overwritten, and files are cut short, with a fixed seed. This is where
// yara's bounds checks and quirks (the 10000-row limit, what a bad index
// leaves undefined) show. DOTNET_MUTANTS sets the number of mutants per
// file, DOTNET_MUTANTS_SEED the seed, DOTNET_MUTANTS_DIR a folder where
// failing mutants are kept.
func TestDotnetModuleDataMutants(t *testing.T) {
	shared, mono := dotnetFiles(t)
	var seeds []string
	for _, f := range append(append(shared, mono...), csharpFiles(t, t.TempDir())...) {
		if fi, err := os.Stat(f); err == nil && fi.Size() < 600<<10 && isDotnetPE(f) {
			seeds = append(seeds, f)
		}
	}
	if len(seeds) < 3 {
		t.Fatalf("only %d small .NET files to mutate", len(seeds))
	}
	n := 6 // mutants per seed file
	if testing.Short() {
		n = 2
	}
	if v, err := strconv.Atoi(os.Getenv("DOTNET_MUTANTS")); err == nil {
		n = v
	}
	keep := os.Getenv("DOTNET_MUTANTS_DIR") // keep failing mutants there
	dir := t.TempDir()
	m := newDotnetModule()
	seed := uint64(42)
	if v, err := strconv.ParseUint(os.Getenv("DOTNET_MUTANTS_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	var total, lines, failed int
	for _, seed := range seeds {
		orig, err := os.ReadFile(seed)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			data, what := mutateDotnet(rng, orig)
			file := filepath.Join(dir, fmt.Sprintf("%s.%d", filepath.Base(seed), i))
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			nl, diffs := moduleDataDiff(t, m, file, 6)
			total++
			lines += nl
			if len(diffs) > 0 {
				failed++
				if keep != "" {
					os.WriteFile(filepath.Join(keep, filepath.Base(file)), data, 0o644)
				}
				if failed <= 10 {
					t.Errorf("%s mutant %d (%s): differs from yara -D:\n%s", seed, i, what, strings.Join(diffs, "\n"))
				}
			}
			os.Remove(file)
		}
	}
	t.Logf("compared %d mutants of %d files, %d lines of yara -D output, %d differ", total, len(seeds), lines, failed)
}

// mutateDotnet returns a damaged copy of a .NET file and what was done.
func mutateDotnet(rng *rand.Rand, orig []byte) ([]byte, string) {
	data := append([]byte(nil), orig...)
	f, err := dotnet.Parse(data)
	if err != nil || !f.IsDotNet {
		return data, "not .NET"
	}
	root := int64(bytes.Index(data, []byte("BSJB\x01\x00")))
	var tilde, tildeSize int64 = -1, 0
	for _, s := range f.Streams {
		if string(s.Name) == "#~" || string(s.Name) == "#-" {
			tilde, tildeSize = s.Offset, int64(s.Size)
			break
		}
	}
	var what []string
	set := func(off int64, b byte) {
		if off >= 0 && off < int64(len(data)) {
			data[off] = b
		}
	}
	for k := 0; k < 1+rng.IntN(3); k++ {
		switch r := rng.IntN(9); {
		case r == 0 && root >= 0: // metadata root header and stream headers
			off := root + rng.Int64N(16+256)
			set(off, byte(rng.IntN(256)))
			what = append(what, fmt.Sprintf("root+%d", off-root))
		case r <= 2 && tilde >= 0: // row counts and the tilde header
			off := tilde + rng.Int64N(24+4*20)
			v := []uint32{0, 1, 2, 9999, 10000, 10001, 0xffff, 0x10000, 0x3fff, 0x4000, rng.Uint32()}[rng.IntN(11)]
			if off < tilde+24 {
				set(off, byte(rng.IntN(256)))
			} else {
				for j := range 4 {
					set(off-(off-tilde)%4+int64(j), byte(v>>(8*j)))
				}
			}
			what = append(what, fmt.Sprintf("tilde+%d", off-tilde))
		case r <= 4 && tilde >= 0 && tildeSize > 0: // the tables
			off := tilde + rng.Int64N(tildeSize)
			set(off, byte(rng.IntN(256)))
			what = append(what, fmt.Sprintf("table@%d", off))
		case r <= 6 && len(f.Streams) > 0: // a heap
			s := f.Streams[rng.IntN(len(f.Streams))]
			if s.Size > 0 {
				off := s.Offset + rng.Int64N(int64(s.Size))
				set(off, byte(rng.IntN(256)))
				what = append(what, fmt.Sprintf("%s@%d", s.Name, off))
			}
		case r == 7: // the PE headers
			off := rng.Int64N(min(1024, int64(len(data))))
			set(off, byte(rng.IntN(256)))
			what = append(what, fmt.Sprintf("header@%d", off))
		default: // cut short inside the metadata
			if root >= 0 && root < int64(len(data)) {
				end := root + rng.Int64N(int64(len(data))-root)
				data = data[:end]
				what = append(what, fmt.Sprintf("cut@%d", end))
			}
		}
	}
	return data, strings.Join(what, ",")
}

// TestDotnetRules checks the module through the compiler and evaluator:
// for every value of the module (and one item past each array), a rule
// that holds when yara computes the same value must match with both yara
// and glassav, together with rules in the style of public rule sets.
func TestDotnetRules(t *testing.T) {
	shared, _ := dotnetFiles(t)
	var files []string
	for _, f := range shared {
		switch filepath.Base(f) {
		case "tiny", "elf_with_imports", "dotnet_misaligned_guid",
			"0ca09bde7602769120fadc4f7a4147347a7a97271370583586c9e587fd396171",
			"756684f4017ba7e931a26724ae61606b16b5f8cc84ed38a260a34e50c5016f59":
			files = append(files, f)
		}
	}
	for _, f := range csharpFiles(t, t.TempDir()) {
		if strings.Contains(f, "small") {
			files = append(files, f)
		}
	}
	idioms := []string{
		`dotnet.is_dotnet == 1`,
		`for any i in (0..dotnet.number_of_guids - 1): (dotnet.guids[i] matches /^[0-9a-f]{8}-/)`,
		`for any i in (0..dotnet.number_of_resources - 1): (dotnet.resources[i].name contains ".resources")`,
		`for any r in dotnet.assembly_refs: (r.name == "mscorlib" and r.version.major >= 2)`,
		`for all s in dotnet.streams: (s.offset > 0 and s.size >= 0)`,
		`dotnet.assembly.name iequals "HPJSOAPUTILITY.SV.RESOURCES"`,
		`for any i in (0..dotnet.number_of_user_strings - 1): (dotnet.user_strings[i] == "s\x00h\x00e\x00l\x00l\x00")`,
		`dotnet.typelib == "12345678-aaaa-bbbb-cccc-0123456789ab"`,
		`for any m in dotnet.modulerefs: (m icontains "KERNEL32")`,
		`dotnet.number_of_field_offsets > 0 and uint8(dotnet.field_offsets[0]) == 1`,
		`not defined dotnet.version or dotnet.version startswith "v"`,
	}
	m := newDotnetModule()
	var rules, matches int
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		conds := treeConds("dotnet", ourTree(t, m, data))
		var src strings.Builder
		src.WriteString("import \"dotnet\"\n")
		for i, c := range conds {
			fmt.Fprintf(&src, "rule v%d { condition: %s }\n", i, c)
		}
		for i, c := range idioms {
			fmt.Fprintf(&src, "rule i%d { condition: %s }\n", i, c)
		}
		got := yaraMatches(t, src.String(), file, "")
		sameRules(t, file, src.String(), glassavMatches(t, src.String(), data, nil, nil), got)
		for i, c := range conds {
			if !got[fmt.Sprintf("v%d", i)] {
				t.Errorf("%s: yara 4.2.3 disagrees: %s", file, c)
			}
		}
		rules += len(conds) + len(idioms)
		matches += len(got)
	}
	t.Logf("%d files, %d rules, %d matches with both", len(files), rules, matches)
	if len(files) < 5 || matches < 500 {
		t.Fatalf("only %d files and %d matching rules", len(files), matches)
	}
}

// ourTree loads the module for data.
func ourTree(t testing.TB, m Module, data []byte) *Object {
	t.Helper()
	o, err := m.Load(&ScanContext{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// BenchmarkDotnetLoad measures the module's Load on a .NET file and on data
// that is not a PE file.
func BenchmarkDotnetLoad(b *testing.B) {
	dir := sharedDir(b, "testdata/yara/data")
	m := newDotnetModule()
	for _, name := range []string{"756684f4017ba7e931a26724ae61606b16b5f8cc84ed38a260a34e50c5016f59", "elf_with_imports", "tiny"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name[:min(len(name), 12)], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Load(&ScanContext{Data: data}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDotnetModuleDataQuirks compares the module with yara -D on copies of
// a .NET file edited to show one of yara's rules each: which of two
// streams of the same name counts, the entry-point stub test (executables
// only), the 10000-row limit, the one-byte stream count, the 1024-byte
// limit of heap strings, no limit at the end of their heap.
func TestDotnetModuleDataQuirks(t *testing.T) {
	dir := sharedDir(t, "testdata/yara/data")
	base, err := os.ReadFile(filepath.Join(dir, "0ca09bde7602769120fadc4f7a4147347a7a97271370583586c9e587fd396171"))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	nt := int(le.Uint32(base[0x3c:]))
	opt := nt + 24
	root := bytes.Index(base, []byte("BSJB"))
	f, err := dotnet.Parse(base)
	if err != nil || len(f.Streams) != 5 {
		t.Fatalf("base file: %v %v", f, err)
	}
	tilde, strs, us := int(f.Streams[0].Offset), int(f.Streams[1].Offset), int(f.Streams[2].Offset)
	module := tilde + 24 + 4*bits.OnesCount64(le.Uint64(base[tilde+8:])) // the Module table
	// Edits change the data in place and return it, possibly grown or cut.
	set := func(edit func(b []byte)) func([]byte) []byte {
		return func(b []byte) []byte { edit(b); return b }
	}
	rename := func(from, to string) func([]byte) []byte {
		return set(func(b []byte) { copy(b[root+bytes.Index(b[root:], []byte(from+"\x00")):], to) })
	}
	rowCount := func(n int, v uint32) func([]byte) []byte { // of the n-th table present
		return set(func(b []byte) { le.PutUint32(b[tilde+24+4*n:], v) })
	}
	// nameAt points the module name past the #Strings heap, to s appended
	// to the file.
	nameAt := func(s string) func([]byte) []byte {
		return func(b []byte) []byte {
			le.PutUint16(b[module+2:], uint16(len(b)-strs))
			return append(b, s...)
		}
	}
	tests := []struct {
		name string
		edit func([]byte) []byte
	}{
		{"unchanged", set(func([]byte) {})},
		{"guid named blob", rename("#GUID", "#Blob")},
		{"blob named guid", rename("#Blob", "#GUID")},
		{"us named strings", rename("#US", "#St")},
		{"tilde named minus", rename("#~", "#-")},
		{"entry point not a jmp", set(func(b []byte) { le.PutUint32(b[opt+16:], 0) })},
		{"entry point not a jmp, dll", set(func(b []byte) {
			le.PutUint32(b[opt+16:], 0)
			le.PutUint16(b[nt+22:], le.Uint16(b[nt+22:])|0x2000)
		})},
		{"entry point not a jmp, exe", set(func(b []byte) {
			le.PutUint32(b[opt+16:], 0)
			le.PutUint16(b[nt+22:], le.Uint16(b[nt+22:])&^0x2000)
		})},
		{"com descriptor moved", set(func(b []byte) { b[opt+96+14*8] ^= 0x04 })},
		{"10000 rows", rowCount(1, 10000)},
		{"10001 rows", rowCount(1, 10001)},
		{"streams count high byte", set(func(b []byte) { b[root+16+int(le.Uint32(b[root+12:]))+3] = 1 })},
		{"heap sizes", set(func(b []byte) { b[tilde+6] = 0x07 })},
		{"extra data flag", set(func(b []byte) { b[tilde+6] |= 0x40 })},
		{"unknown table bit", set(func(b []byte) { b[tilde+8] |= 0x80 })},
		{"version length", set(func(b []byte) { le.PutUint32(b[root+12:], 256) })},
		{"metadata magic", set(func(b []byte) { b[root] = 'X' })},
		{"name past the heap", nameAt("overlay name\x00")},
		{"name of 1024 bytes", nameAt(strings.Repeat("A", 1024) + "\x00")},
		{"name of 1025 bytes", nameAt(strings.Repeat("A", 1025) + "\x00")},
		{"name without NUL", nameAt("no NUL")},
		{"user string without its terminal byte", func(b []byte) []byte {
			// The #US heap shrunk to its first entry, the file cut
			// before that entry's terminal byte.
			hdr := root + bytes.Index(b[root:], []byte("#US\x00")) - 8
			le.PutUint32(b[hdr+4:], 4)
			return b[:us+4]
		}},
	}
	m := newDotnetModule()
	tmp := t.TempDir()
	for i, tt := range tests {
		data := tt.edit(append([]byte(nil), base...))
		file := filepath.Join(tmp, fmt.Sprintf("quirk%d", i))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		n, diffs := moduleDataDiff(t, m, file, 10)
		if n < 20 || len(diffs) > 0 {
			t.Errorf("%s: %d lines, differs from yara -D:\n%s", tt.name, n, strings.Join(diffs, "\n"))
		}
	}
}
