package difftest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// The binary-format modules (pe, elf, dotnet, macho, dex) against yara
// 4.2.3 on real executables: every value yara -D prints must be the same,
// and the public rule sets that use the modules must match the same
// (rule, file) pairs.

// moduleCorpus returns the executables the module comparisons read:
// Windows launchers and installers under /root/.pyenv, Authenticode-signed
// EFI binaries (shim-signed, grub-efi-amd64-signed), Go's debug/pe,
// debug/elf and debug/macho test data (decoded into dir when stored
// base64 or gzip), the data files of yara's own tests, a sample of ELF
// binaries from /usr/bin and of Mono's .NET assemblies. Files are at most
// 64 MiB.
func moduleCorpus(t *testing.T, dir string, elfSample int) []string {
	t.Helper()
	var out []string
	add := func(ps ...string) {
		for _, p := range ps {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 && fi.Size() <= 64<<20 && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	pyenv := testenv.Files(80, 64<<20, "/root/.pyenv/versions/*/lib/python*/site-packages/*/*.exe",
		"/root/.pyenv/versions/*/lib/python*/site-packages/*/*/*/*.exe", "/root/.pyenv/versions/*/lib/python*/distutils/command/*.exe")
	add(pyenv...)
	signed := testenv.Files(20, 64<<20, "/usr/lib/shim/*.efi.signed", "/usr/lib/grub/x86_64-efi-signed/*.signed")
	add(signed...)
	for _, g := range []string{"pe", "elf", "macho"} {
		ms, _ := filepath.Glob(filepath.Join("/usr/local/go/src/debug", g, "testdata", "*"))
		for _, m := range ms {
			switch {
			case strings.HasSuffix(m, ".base64"), strings.HasSuffix(m, ".gz"):
				if p := decodeTestdata(t, dir, m); p != "" {
					add(p)
				}
			case strings.HasSuffix(m, ".c"), strings.HasSuffix(m, ".s"), strings.HasSuffix(m, ".go"):
			default:
				add(m)
			}
		}
	}
	data, _ := filepath.Glob(filepath.Join(sharedDir(t), "testdata", "yara", "data", "*"))
	add(data...)
	add(testenv.Files(elfSample, 16<<20, "/usr/bin/*")...)
	// .NET assemblies (mono-mcs installs Mono's).
	add(testenv.Files(30, 16<<20, "/usr/lib/mono/4.5/*.dll", "/usr/lib/mono/4.5/*.exe")...)
	if len(pyenv) == 0 {
		need(t, "Windows executables under /root/.pyenv", fmt.Errorf("none found"))
	}
	if len(signed) == 0 {
		need(t, "signed EFI binaries (apt-get install shim-signed grub-efi-amd64-signed)", fmt.Errorf("none found"))
	}
	return out
}

// decodeTestdata writes the decoded content of a base64 or gzip test file
// into dir and returns its path, or "" when it does not decode.
func decodeTestdata(t *testing.T, dir, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	name := filepath.Base(p)
	if strings.HasSuffix(p, ".base64") {
		b, err = base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(b), nil)))
		name = strings.TrimSuffix(name, ".base64")
	} else {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(b)); err == nil {
			b, err = io.ReadAll(io.LimitReader(zr, 64<<20))
		}
		name = strings.TrimSuffix(name, ".gz")
	}
	if err != nil || len(b) == 0 {
		return ""
	}
	out := filepath.Join(dir, filepath.Base(filepath.Dir(filepath.Dir(p)))+"-"+name)
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// sharedModules are the modules whose values glassav and yara 4.2.3 share.
var sharedModules = []string{"pe", "elf", "dotnet", "macho", "dex"}

// TestYARAModuleData compares, file by file, what glassav yara -D and
// yara -D print for a rule importing every shared module: every field of
// every module, as yara computed it.
func TestYARAModuleData(t *testing.T) {
	testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	files := moduleCorpus(t, dir, envInt(t, "DIFFTEST_YARA_MODULE_ELF", 40))
	var src strings.Builder
	for _, m := range sharedModules {
		fmt.Fprintf(&src, "import %q\n", m)
	}
	src.WriteString("rule glassav_modules { condition: false }\n")
	rule := filepath.Join(dir, "modules.yar")
	if err := os.WriteFile(rule, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, bad := 0, 0
	for _, f := range files {
		yo, gout := yaraPair(t, "-D", rule, f)
		lines += strings.Count(yo, "\n")
		if yo != gout {
			bad++
			if bad <= 5 {
				compareLines(t, "yara -D "+f, yo, gout)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d of %d files differ in their module data (first 5 shown)", bad, len(files))
	}
	if len(files) < 50 || lines < 10000 {
		t.Errorf("only %d files and %d lines of module data compared: want at least 50 files and 10,000 lines", len(files), lines)
	}
	t.Logf("module data of %v: %d files, %d lines, %d files differ", sharedModules, len(files), lines, bad)
}

// TestYARAModuleRuleSets scans the module corpus with signature-base,
// Yara-Rules and ditekshen, keeping the rules that use pe, elf, dotnet,
// macho and dex (only those using magic, cuckoo and lnk are left out):
// the (rule, file) matches must be identical.
func TestYARAModuleRuleSets(t *testing.T) {
	testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	files := moduleCorpus(t, dir, envInt(t, "DIFFTEST_YARA_MODULE_ELF", 40))
	list := filepath.Join(dir, "list")
	if err := os.WriteFile(list, []byte(strings.Join(files, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sets := filteredRuleSets(t, dir, UnmatchedModules)
	total := 0
	for _, name := range []string{"signature-base", "yara-rules", "ditekshen"} {
		p, ok := sets[name]
		if !ok {
			t.Errorf("rule set %s missing from ../shared/rules", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			args := append(slices.Clone(yaraExternals), "-w", "-p", "2", "--scan-list", p, list)
			yo, gout := yaraPair(t, args...)
			yh, gh := ruleHits(yo), ruleHits(gout)
			compareLines(t, "(rule, file) matches", strings.Join(slices.Sorted(mapKeys(yh)), "\n"), strings.Join(slices.Sorted(mapKeys(gh)), "\n"))
			total += len(yh)
			t.Logf("%s: yara %d matches over %d files", name, len(yh), len(files))
		})
	}
	if total < 10 {
		t.Errorf("yara matched only %d (rule, file) pairs over %d files: the comparison proves little", total, len(files))
	}
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
