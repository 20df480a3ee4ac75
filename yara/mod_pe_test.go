package yara

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/yara/pe"
)

// peTestFiles returns the real files the pe module is compared with yara
// on: yara's own test data, Go's debug/pe test data, Python's Windows
// launchers and installers under pyenv, the signed EFI binaries of
// Debian's shim-signed and grub-efi-amd64-signed, and the PE files of
// other Debian packages when they are installed. Files with the same
// content count once.
func peTestFiles(t testing.TB) []string {
	t.Helper()
	globs := []string{
		filepath.Join(sharedDir(t, "testdata/yara"), "data", "*"),
		filepath.Join(os.Getenv("HOME"), ".pyenv", "versions", "*", "lib", "*", "site-packages", "*", "*.exe"),
		filepath.Join(os.Getenv("HOME"), ".pyenv", "versions", "*", "lib", "*", "site-packages", "*", "_vendor", "*", "*.exe"),
		filepath.Join(os.Getenv("HOME"), ".pyenv", "versions", "*", "lib", "*", "distutils", "command", "*.exe"),
		"/usr/lib/shim/*.efi*",
		"/usr/lib/grub/x86_64-efi-signed/*.signed",
		// When installed: ClamAV's test files (packed and malformed PEs),
		// NSIS's stubs and plugins, GRUB's EFI images, Mono's assemblies.
		"/usr/share/clamav-testfiles/*",
		"/usr/share/nsis/Plugins/*/*.dll",
		"/usr/share/nsis/Contrib/UIs/*.exe",
		"/usr/share/nsis/Stubs/*",
		"/usr/lib/grub/x86_64-efi/monolithic/*.efi",
		"/usr/lib/mono/4.5/*.exe",
		"/usr/lib/mono/gac/*/*/*.dll",
	}
	if root := os.Getenv("GOROOT"); root != "" {
		globs = append(globs, filepath.Join(root, "src", "debug", "pe", "testdata", "*"))
	}
	globs = append(globs, "/usr/local/go/src/debug/pe/testdata/*")
	seen := map[[32]byte]bool{}
	var out []string
	for _, p := range testenv.Files(1000, 32<<20, globs...) {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		h := sha256.Sum256(b)
		if seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, p)
	}
	return out
}

// TestPEModuleData compares every value of the pe module with what yara
// 4.2.3 prints with -D, line for line, on real files.
func TestPEModuleData(t *testing.T) {
	testenv.NeedTool(t, "yara")
	files := peTestFiles(t)
	m := newPEModule()
	var nPE, nLines, nSigned, nBad int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines, diffs := moduleDataDiff(t, m, f, 8)
		nLines += lines
		if pe.IsPE(data) {
			nPE++
			if fl, err := pe.Parse(data); err == nil {
				if d, ok := fl.Directory(4); ok && d.VirtualAddress != 0 && d.Size != 0 {
					nSigned++
				}
			}
		}
		if len(diffs) > 0 {
			nBad++
			t.Errorf("%s: pe module data differs from yara -D:\n%s", f, strings.Join(diffs, "\n"))
		}
	}
	t.Logf("%d files (%d PE, %d with a certificate table), %d lines of yara -D compared, %d files differ",
		len(files), nPE, nSigned, nLines, nBad)
	if nPE < 40 || nLines < 20000 {
		msg := fmt.Sprintf("compared only %d PE files and %d lines; want at least 40 and 20000 "+
			"(the pyenv Windows launchers, Debian's shim-signed and grub-efi-amd64-signed, Go's debug/pe test data)", nPE, nLines)
		if os.Getenv("CI") == "true" {
			t.Error(msg)
		} else {
			t.Skip("skipping the minimum: " + msg)
		}
	}
}

// peCalls returns calls of every pe function with arguments drawn from
// the file: its section names and offsets, exports, imports, resource
// languages and Rich records, with misses and case variants.
func peCalls(f *pe.File) []modCall {
	s := func(b []byte) Value { return Value{Str: append([]byte(nil), b...)} }
	i := func(n int64) Value { return Value{Int: n} }
	call := func(name, sig string, args ...Value) modCall {
		return modCall{mod: "pe", fn: name, sig: sig, args: args}
	}
	reCall := func(name, sig string, args []Value, re, flags string) modCall {
		return modCall{mod: "pe", fn: name, sig: sig, args: args, re: re, reFlags: flags}
	}
	calls := []modCall{
		call("imphash", ""), call("calculate_checksum", ""), call("is_dll", ""),
		call("is_32bit", ""), call("is_64bit", ""),
		call("section_index", "s", s([]byte(".text"))), call("section_index", "s", s([]byte("nope"))),
		call("rva_to_offset", "i", i(int64(f.OptionalHeader.AddressOfEntryPoint))),
		call("rva_to_offset", "i", i(0)), call("rva_to_offset", "i", i(-1)), call("rva_to_offset", "i", i(0x7fffffff)),
		call("exports", "i", i(0)), call("exports", "i", i(1)), call("exports", "i", i(int64(len(f.Exports))+1)),
		call("exports_index", "i", i(1)), call("exports", "s", s([]byte("DllMain"))),
		call("imports", "s", s([]byte("kernel32.dll"))), call("imports", "ss", s([]byte("KERNEL32.DLL")), s([]byte("ExitProcess"))),
		call("locale", "i", i(0x409)), call("language", "i", i(9)), call("locale", "i", i(0xdaff)), call("language", "i", i(0xff)),
		call("rich_signature.version", "i", i(30319)), call("rich_signature.toolid", "i", i(1)),
		call("rich_signature.toolid", "ii", i(1), i(0)),
		// The same expression for library and function (a modCall has one).
		reCall("imports", "rr", []Value{{}, {}}, ".*", ""),
		reCall("imports", "rr", []Value{{}, {}}, "e", "i"),
		reCall("imports", "rr", []Value{{}, {}}, "q*", ""),
		reCall("imports", "irr", []Value{i(3), {}, {}}, "^[a-z]", "i"),
		reCall("imports", "irr", []Value{i(2), {}, {}}, "a", ""),
		reCall("exports", "r", []Value{{}}, "q*", ""),
		reCall("exports_index", "r", []Value{{}}, "^Dll", ""),
	}
	for k, sec := range f.Sections {
		if k >= 6 {
			break
		}
		calls = append(calls,
			call("section_index", "s", s(sec.Name)),
			call("section_index", "i", i(int64(sec.PointerToRawData))),
			call("section_index", "i", i(int64(sec.PointerToRawData)+int64(sec.SizeOfRawData)-1)),
			call("rva_to_offset", "i", i(int64(sec.VirtualAddress)+1)),
			call("rva_to_offset", "i", i(int64(sec.VirtualAddress)+int64(sec.VirtualSize))),
		)
	}
	for k, e := range f.Exports {
		if k >= 8 {
			break
		}
		calls = append(calls, call("exports", "i", i(int64(e.Ordinal))), call("exports_index", "i", i(int64(e.Ordinal))))
		if e.Name != nil {
			up := bytes.ToUpper(e.Name)
			calls = append(calls,
				call("exports", "s", s(e.Name)), call("exports", "s", s(up)),
				call("exports_index", "s", s(up)),
				reCall("exports", "r", []Value{{}}, regexp.QuoteMeta(string(e.Name)), "i"),
				reCall("exports_index", "r", []Value{{}}, "^"+regexp.QuoteMeta(string(e.Name))+"$", ""))
		}
	}
	for k, dll := range f.Imports {
		if k >= 5 {
			break
		}
		name := dll.Name
		calls = append(calls,
			call("imports", "s", s(bytes.ToLower(name))),
			call("imports", "is", i(1), s(name)), call("imports", "is", i(2), s(name)),
		)
		for j, fn := range dll.Functions {
			if j >= 4 {
				break
			}
			if fn.HasOrdinal {
				calls = append(calls, call("imports", "si", s(name), i(int64(fn.Ordinal))),
					call("imports", "isi", i(-1), s(name), i(int64(fn.Ordinal))))
			}
			calls = append(calls,
				call("imports", "ss", s(name), s(fn.Name)),
				call("imports", "ss", s(bytes.ToUpper(name)), s(bytes.ToLower(fn.Name))),
				call("imports", "iss", i(1), s(name), s(fn.Name)),
				call("imports", "iss", i(2), s(name), s(fn.Name)))
		}
	}
	for k, dll := range f.DelayedImports {
		if k >= 3 {
			break
		}
		for j, fn := range dll.Functions {
			if j >= 3 {
				break
			}
			calls = append(calls, call("imports", "iss", i(2), s(dll.Name), s(fn.Name)),
				call("imports", "iss", i(1), s(dll.Name), s(fn.Name)),
				call("imports", "is", i(3), s(dll.Name)))
		}
	}
	for k, r := range f.Resources {
		if k >= 4 {
			break
		}
		calls = append(calls, call("locale", "i", i(int64(r.Language.ID)&0xffff)), call("language", "i", i(int64(r.Language.ID)&0xff)))
	}
	if r := f.Rich; r != nil {
		for at := 16; at+8 <= len(r.Clear) && at < 16+8*4; at += 8 {
			id := binary.LittleEndian.Uint32(r.Clear[at:])
			calls = append(calls,
				call("rich_signature.version", "i", i(int64(id&0xffff))),
				call("rich_signature.version", "ii", i(int64(id&0xffff)), i(int64(id>>16))),
				call("rich_signature.toolid", "i", i(int64(id>>16))),
				call("rich_signature.toolid", "ii", i(int64(id>>16)), i(int64(id&0xffff))))
		}
	}
	return calls
}

// peEvalAll runs the calls in Go on data; a function name may be a path
// into the module's structures (rich_signature.version).
func peEvalAll(t *testing.T, data []byte, calls []modCall) []peerCase {
	t.Helper()
	sc := &ScanContext{Data: data}
	obj, err := newPEModule().Load(sc)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]peerCase, len(calls))
	for k, c := range calls {
		o := obj
		parts := strings.Split(c.fn, ".")
		for _, p := range parts[:len(parts)-1] {
			o = o.Fields[p]
		}
		local := c
		local.fn = parts[len(parts)-1]
		out[k] = peerCase{c, local.eval(t, o, sc)}
	}
	return out
}

// TestPEFunctionsPeer checks the pe module's functions against yara
// 4.2.3: for every file, rules of the form `call == value` (or `not
// defined call`) with the values glassav computes must all match in yara.
func TestPEFunctionsPeer(t *testing.T) {
	testenv.NeedTool(t, "yara")
	var files, calls, matched int
	for _, p := range peTestFiles(t) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := pe.Parse(data)
		if err != nil {
			continue
		}
		cases := peEvalAll(t, data, peCalls(f))
		files++
		calls += len(cases)
		matched += peerAgrees(t, p, "", cases)
	}
	t.Logf("%d PE files, %d calls, %d confirmed by yara 4.2.3", files, calls, matched)
	if files < 40 || matched < 2000 {
		msg := fmt.Sprintf("only %d PE files and %d confirmed calls; want at least 40 and 2000", files, matched)
		if os.Getenv("CI") == "true" {
			t.Error(msg)
		} else {
			t.Skip("skipping the minimum: " + msg)
		}
	}
}

// TestPEFunctionsNotPE checks the functions on data that is not a PE:
// all undefined, as in yara.
func TestPEFunctionsNotPE(t *testing.T) {
	f := filepath.Join(t.TempDir(), "x")
	if err := os.WriteFile(f, []byte("MZ not a PE at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	dummy := &pe.File{}
	cases := peEvalAll(t, []byte("MZ not a PE at all"), peCalls(dummy))
	for _, c := range cases {
		if !c.got.Undefined {
			t.Errorf("%s on non-PE data = %s, want undefined", c.call, show(c.got))
		}
	}
	if n := peerAgrees(t, f, "", cases); n < 20 {
		t.Errorf("yara confirmed %d calls", n)
	}
}

// BenchmarkPELoad measures the module's Load on a PE file (parse and
// tree) and on data that is not a PE (the shared tree).
func BenchmarkPELoad(b *testing.B) {
	m := newPEModule()
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "testdata", "yara", "data", "mtxex.dll"))
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	b.Run("pe", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := m.Load(&ScanContext{Data: data}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("elf", func(b *testing.B) {
		elf := append([]byte("\x7fELF"), make([]byte, 4096)...)
		for b.Loop() {
			m.Load(&ScanContext{Data: elf})
		}
	})
}

// TestPEImportRVA checks yara 4.3's import_rva and delayed_import_rva,
// which yara 4.2.3 lacks, against the values upstream yara's test suite
// asserts (test-pe.c).
func TestPEImportRVA(t *testing.T) {
	dir := filepath.Join(sharedDir(t, "testdata/yara"), "data")
	r := compileSrc(t, `import "pe"
rule std { condition: pe.import_rva("ptimagerw.dll", "ORD4") == 254924 and pe.import_rva("ptPDF417decode.dll", 4) == 254948 }
rule delayed { condition: pe.delayed_import_rva("qdb.dll", "ORD116") == pe.delayed_import_rva("qdb.dll", 116) and pe.delayed_import_rva("QDB.DLL", 116) > 0 }
rule missing { condition: defined pe.import_rva("ptimagerw.dll", "nope") or defined pe.delayed_import_rva("qdb.dll", 1) }`)
	for file, want := range map[string]string{
		"ca21e1c32065352d352be6cde97f89c141d7737ea92434831f998080783d5386": "std",
		"079a472d22290a94ebb212aa8015cdc8dd28a968c6b4d3b88acdd58ce2d3b885": "delayed",
	} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Scan(context.Background(), data, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range res.Matched() {
			got = append(got, m.Rule.Name)
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: rules %v, want [%s]", file, got, want)
		}
	}
}
