package yara

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// The tests here compare pe.signatures and pe.number_of_signatures with
// yara 4.2.3's -D output, line by line, on real signed PE files and on
// signed files built for the purpose (mod_pe_sig_gen_test.go): the lines
// under "pe" that belong to signatures are cut out of both outputs, so
// the comparison holds whatever the state of the rest of the module.

// peerSignatureLines returns the lines of yara -D's pe output that hold
// number_of_signatures and the signatures array.
func peerSignatureLines(t testing.TB, file string) []string {
	t.Helper()
	out, code := peerModuleData(t, "pe", file)
	if code != 0 {
		t.Fatalf("yara -D %s: exit %d", file, code)
	}
	return signatureLines(out)
}

// signatureLines returns the lines of a pe module's -D output that hold
// number_of_signatures and the signatures array.
func signatureLines(out string) []string {
	var lines []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "\tnumber_of_signatures = "):
			lines = append(lines, l)
		case l == "\tsignatures":
			lines = append(lines, l)
			in = true
		case in && strings.HasPrefix(l, "\t\t"):
			lines = append(lines, l)
		default:
			in = false
		}
	}
	return lines
}

// ourSignatureLines returns the same lines of glassav's pe module data.
func ourSignatureLines(t testing.TB, data []byte) []string {
	t.Helper()
	return signatureLines(ourModuleData(t, newPEModule(), data))
}

// sigDiff compares the signature lines of file; it returns yara's line
// count, its number of signatures, and the differing lines.
func sigDiff(t testing.TB, file string) (lines, sigs int, diffs []string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := peerSignatureLines(t, file)
	got := ourSignatureLines(t, data)
	for _, l := range want {
		if strings.HasPrefix(l, "\t\t[") {
			sigs++
		}
	}
	for i := 0; i < max(len(want), len(got)); i++ {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			diffs = append(diffs, fmt.Sprintf("%s line %d:\n  -yara    %q\n  +glassav %q", filepath.Base(file), i+1, w, g))
		}
	}
	return len(want), sigs, diffs
}

// needFiles returns the files matching globs, skipping the test when
// there are none (failing under CI=true, where the test command installs
// them: shim-signed and grub-efi-amd64-signed for the EFI binaries).
func needFiles(t *testing.T, what string, globs ...string) []string {
	t.Helper()
	files := testenv.Files(200, 64<<20, globs...)
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s found (%s): required under CI=true", what, strings.Join(globs, " "))
		}
		t.Skipf("no %s found (%s)", what, strings.Join(globs, " "))
	}
	return files
}

// TestPESignaturesPeer compares the signatures of real files with yara's:
// Debian's signed EFI binaries (packages shim-signed and
// grub-efi-amd64-signed), the PE files of yara's own test data (three of
// them signed, one with a nested signature), x/sys's EV-signed test
// executable when the module cache holds it, and unsigned PE files (the
// Python launchers under /root/.pyenv, Go's debug/pe test data).
func TestPESignaturesPeer(t *testing.T) {
	testenv.NeedTool(t, "yara")
	efi := needFiles(t, "signed EFI binaries",
		"/usr/lib/shim/*.efi.signed", "/usr/lib/grub/x86_64-efi-signed/*.efi.signed")
	shared := needFiles(t, "yara test data", "../../shared/testdata/yara/data/*")
	// Go's x/sys keeps an EV-signed executable as test data; the Python
	// launchers are unsigned PE files (number_of_signatures 0).
	others := testenv.Files(60, 64<<20, "/root/go/pkg/mod/golang.org/x/sys@*/windows/testdata/*.exe",
		"/root/.pyenv/versions/*/lib/python*/site-packages/pip/_vendor/distlib/*.exe",
		"/root/.pyenv/versions/*/lib/python*/site-packages/setuptools/*.exe",
		"/usr/local/go/src/debug/pe/testdata/gcc-*-exec")
	var files []string
	files = append(files, efi...)
	files = append(files, shared...)
	files = append(files, others...)
	var lines, sigs, signed int
	var diffs []string
	for _, f := range files {
		l, s, d := sigDiff(t, f)
		lines += l
		sigs += s
		if s > 0 {
			signed++
		}
		diffs = append(diffs, d...)
		if len(diffs) > 20 {
			break
		}
	}
	t.Logf("%d files (%d signed, %d signatures), %d lines of yara -D compared, %d differ",
		len(files), signed, sigs, lines, len(diffs))
	if len(diffs) > 0 {
		t.Fatalf("signatures differ from yara -D:\n%s", strings.Join(diffs, "\n"))
	}
	if signed < len(efi) || sigs < len(efi)+3 {
		t.Fatalf("yara reported %d signatures in %d files; want every EFI binary signed", sigs, signed)
	}
}

// TestPESignatureConditionsPeer runs rules over pe.signatures through
// glassav's Compile and Scan and through yara, on signed files, and
// requires the same rules to match: valid_on at and around each end of
// every certificate's validity (and on a missing signature), the fields
// compared with the values glassav computed, number_of_signatures, and
// loops over the array.
func TestPESignatureConditionsPeer(t *testing.T) {
	testenv.NeedTool(t, "yara")
	files := needFiles(t, "signed EFI binaries",
		"/usr/lib/shim/*.efi.signed", "/usr/lib/grub/x86_64-efi-signed/*.efi.signed")
	dir := t.TempDir()
	for _, c := range sigCases() {
		if c.minSigs >= 2 {
			f := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
			if err := os.WriteFile(f, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	var rules, matched int
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := newPEModule().Load(&ScanContext{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		arr := obj.Fields["signatures"]
		var src strings.Builder
		src.WriteString("import \"pe\"\n")
		n := 0
		rule := func(cond string) {
			fmt.Fprintf(&src, "rule r%d { condition: %s }\n", n, cond)
			n++
		}
		rule(fmt.Sprintf("pe.number_of_signatures == %d", len(arr.Items)))
		for i := 0; i <= len(arr.Items); i++ {
			s := fmt.Sprintf("pe.signatures[%d]", i)
			var nb, na int64
			if i < len(arr.Items) {
				it := arr.Items[i]
				nb, na = it.Fields["not_before"].Int, it.Fields["not_after"].Int
				for _, f := range []string{"thumbprint", "issuer", "subject", "algorithm", "algorithm_oid", "serial"} {
					if o := it.Fields[f]; o.Defined {
						rule(fmt.Sprintf("%s.%s == %s", s, f, yaraString(o.Str)))
					}
				}
				rule(fmt.Sprintf("%s.version == %d and %s.not_before == %d and %s.not_after == %d",
					s, it.Fields["version"].Int, s, nb, s, na))
			}
			for _, ts := range []int64{nb - 1, nb, nb + 1, na - 1, na, na + 1, 0, -1, 1 << 40} {
				call := fmt.Sprintf("%s.valid_on(%s)", s, yaraInt(ts))
				rule(call)
				rule("not " + call)
				rule("not defined " + call)
			}
		}
		rule("for any s in pe.signatures : (s.valid_on(1700000000))")
		rule("for all i in (0..pe.number_of_signatures - 1) : (pe.signatures[i].valid_on(pe.signatures[i].not_before))")
		ym := yaraMatches(t, src.String(), file, "")
		sameRules(t, file, src.String(), glassavMatches(t, src.String(), data, nil, nil), ym)
		rules += n
		matched += len(ym)
	}
	t.Logf("%d files, %d rules, %d matched by yara", len(files), rules, matched)
	if matched < rules/3 {
		t.Fatalf("yara matched %d of %d rules; the rules do not exercise the signatures", matched, rules)
	}
}
