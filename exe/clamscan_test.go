package exe

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"github.com/glassav/glassav/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func needTool(t *testing.T, name string) string { return testenv.NeedTool(t, name) }

// samples lists up to max sample files matching the globs.
func samples(max int, globs ...string) []string { return testenv.Files(max, 64<<20, globs...) }

// machoSamples decodes Go's base64 Mach-O test binaries into dir.
func machoSamples(t *testing.T, dir string) []string {
	var out []string
	ms, _ := filepath.Glob("/usr/local/go/src/debug/macho/testdata/*.base64")
	for _, m := range ms {
		b, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		d, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(b), nil)))
		if err != nil {
			continue
		}
		p := filepath.Join(dir, strings.TrimSuffix(filepath.Base(m), ".base64"))
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// clamView is what clamscan's debug log says of one file. For PE files
// the log may hold several header reports (embedded executables carved
// from the file, unpacked children); alt keeps the others.
type clamView struct {
	ep       int64
	hasEP    bool
	sections []Section
	alt      []clamView
}

var (
	rePEEP       = regexp.MustCompile(`EntryPoint offset: 0x([0-9a-f]+)`)
	rePESection  = regexp.MustCompile(`debug: Section (\d+)$`)
	rePEField    = regexp.MustCompile(`debug: (VirtualSize|VirtualAddress|SizeOfRawData|PointerToRawData): 0x[0-9a-f]+ 0x([0-9a-f]+)`)
	reELFEP      = regexp.MustCompile(`ELF: Entry point offset: 0x([0-9a-f]+)`)
	reELFSection = regexp.MustCompile(`ELF: Section (offset|size): (\d+)`)
	reMachoSect  = regexp.MustCompile(`MACHO: --- Section (\d+) ---`)
	reMachoField = regexp.MustCompile(`MACHO: (Virtual address: 0x([0-9a-f]+)|Virtual size: (\d+)|Raw size: (\d+)|File offset: (\d+))`)
	reMachoEP    = regexp.MustCompile(`Entry Point file offset: (\d+)`)
)

// clamscanViews runs clamscan once over files and splits its debug log by
// file, keeping the first header report of each (later ones belong to
// unpacked or embedded children).
func clamscanViews(t *testing.T, clamscan string, files []string) map[string]*clamView {
	dir := t.TempDir()
	db := filepath.Join(dir, "none.ndb")
	if err := os.WriteFile(db, []byte("GlassavNoMatch:0:*:676c61737361760000ffee0011\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "files")
	if err := os.WriteFile(list, []byte(strings.Join(files, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(clamscan, "--debug", "--no-summary", "--disable-cache", "--scan-archive=no", "-d", db, "--file-list="+list)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	views := map[string]*clamView{}
	var cur *clamView
	done := false // the first header report of the file is complete
	hex := func(s string) int64 { v, _ := strconv.ParseInt(s, 16, 64); return v }
	dec := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	var elfOff int64 = -1
	var elfStarted, machoStarted bool
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "LibClamAV debug: Checking realpath of "); ok {
			cur, done, elfOff = &clamView{}, false, -1
			elfStarted, machoStarted = false, false
			views[p] = cur
			continue
		}
		if cur == nil {
			continue
		}
		if done {
			// Later PE header reports belong to carved or unpacked
			// children; keep them as alternatives.
			switch {
			case strings.Contains(line, "debug: e_lfanew == "):
				cur.alt = append(cur.alt, clamView{})
			case len(cur.alt) > 0 && rePESection.MatchString(line):
				a := &cur.alt[len(cur.alt)-1]
				a.sections = append(a.sections, Section{})
			case len(cur.alt) > 0 && rePEField.MatchString(line):
				a := &cur.alt[len(cur.alt)-1]
				if len(a.sections) > 0 {
					m := rePEField.FindStringSubmatch(line)
					setPEField(&a.sections[len(a.sections)-1], m[1], hex(m[2]))
				}
			case len(cur.alt) > 0 && rePEEP.MatchString(line):
				a := &cur.alt[len(cur.alt)-1]
				a.ep, a.hasEP = hex(rePEEP.FindStringSubmatch(line)[1]), true
			}
			continue
		}
		switch {
		case strings.Contains(line, "debug: e_lfanew == "):
			cur.sections = nil // a (possibly embedded) PE header starts
		case strings.Contains(line, "in cli_scanelf"):
			done = elfStarted
			elfStarted = true
		case strings.Contains(line, "MACHO: Number of load commands"):
			machoStarted = true
		case strings.Contains(line, "cli_magic_scan: returning"):
			done = elfStarted || machoStarted
		case rePESection.MatchString(line):
			cur.sections = append(cur.sections, Section{})
		case rePEField.MatchString(line) && len(cur.sections) > 0:
			m := rePEField.FindStringSubmatch(line)
			setPEField(&cur.sections[len(cur.sections)-1], m[1], hex(m[2]))
		case rePEEP.MatchString(line):
			cur.ep, cur.hasEP, done = hex(rePEEP.FindStringSubmatch(line)[1]), true, true
		case reELFEP.MatchString(line):
			cur.ep, cur.hasEP = hex(reELFEP.FindStringSubmatch(line)[1]), true
		case reELFSection.MatchString(line):
			m := reELFSection.FindStringSubmatch(line)
			if m[1] == "offset" {
				elfOff = dec(m[2])
			} else {
				cur.sections = append(cur.sections, Section{Offset: elfOff, Size: dec(m[2])})
			}
		case reMachoSect.MatchString(line):
			cur.sections = append(cur.sections, Section{})
		case reMachoField.MatchString(line) && len(cur.sections) > 0:
			m := reMachoField.FindStringSubmatch(line)
			s := &cur.sections[len(cur.sections)-1]
			switch {
			case m[2] != "":
				s.VirtualAddress = hex(m[2])
			case m[3] != "":
				s.VirtualSize = dec(m[3])
			case m[4] != "":
				s.Size = dec(m[4])
			case m[5] != "":
				s.Offset = dec(m[5])
			}
		case reMachoEP.MatchString(line):
			cur.ep, cur.hasEP = dec(reMachoEP.FindStringSubmatch(line)[1]), true
		}
	}
	return views
}

func setPEField(s *Section, field string, v int64) {
	switch field {
	case "VirtualSize":
		s.VirtualSize = v
	case "VirtualAddress":
		s.VirtualAddress = v
	case "SizeOfRawData":
		s.Size = v
	case "PointerToRawData":
		s.Offset = v
	}
}

// agrees reports whether clamscan's view v is what info says.
func (v *clamView) agrees(info *Info) bool {
	if v.hasEP && v.ep != info.EntryPoint || len(v.sections) != len(info.Sections) {
		return false
	}
	for i, want := range v.sections {
		got := info.Sections[i]
		got.Name = ""
		if info.Format == ELF {
			got.VirtualAddress = 0 // not logged
		}
		if info.Format == MachO && want.Offset == 0 {
			got.Offset = 0 // logged only when non-zero
		}
		if got != want {
			return false
		}
	}
	return true
}

// TestParseMatchesClamscan parses real PE, ELF and Mach-O files and checks
// the entry point and sections against the values clamscan logs for them.
func TestParseMatchesClamscan(t *testing.T) {
	clamscan := needTool(t, "clamscan")
	files := samples(400,
		"/usr/share/clamav-testfiles/*.exe",
		"/root/.pyenv/versions/*/lib/python*/site-packages/*/*.exe",
		"/root/.pyenv/versions/*/lib/python*/site-packages/*/_vendor/*/*.exe",
		"/root/.pyenv/versions/*/lib/python*/distutils/command/*.exe",
		"/usr/local/go/src/debug/pe/testdata/*",
		"/usr/local/go/src/debug/elf/testdata/*",
		"/usr/bin/[a-f]*",
		"/usr/lib/x86_64-linux-gnu/lib[a-c]*.so*",
	)
	files = append(files, machoSamples(t, t.TempDir())...)
	if len(files) < 20 {
		t.Skip("too few executables on this machine")
	}
	views := clamscanViews(t, clamscan, files)
	var checked, withSections int
	formats := map[Format]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Parse(data)
		if err != nil {
			continue // ClamAV would not have offsets for it either
		}
		v := views[f]
		if v == nil {
			t.Errorf("%s: clamscan did not report the file", f)
			continue
		}
		checked++
		formats[info.Format]++
		if !v.hasEP && info.Format == PE {
			t.Errorf("%s: parsed, but clamscan found no PE entry point", f)
			continue
		}
		if len(v.sections) > 0 {
			withSections++
		}
		ok := v.agrees(info)
		for i := 0; !ok && i < len(v.alt); i++ {
			ok = v.alt[i].agrees(info)
		}
		if !ok {
			t.Errorf("%s: entry point 0x%x, sections %+v;\nclamscan says 0x%x, %+v", f, info.EntryPoint, info.Sections, v.ep, v.sections)
		}
	}
	t.Logf("checked %d executables against clamscan (%d with sections): %v", checked, withSections, formats)
	for _, f := range []Format{PE, ELF} {
		if formats[f] == 0 {
			t.Errorf("no %v file could be compared", f)
		}
	}
	if checked < 10 {
		t.Errorf("only %d executables could be compared", checked)
	}
}

var reImphash = regexp.MustCompile(`Imphash: ([0-9a-f]{32}):(\d+)`)

// TestImportHashMatchesSigtool compares the import hash with what
// sigtool --imp computes for real PE files.
func TestImportHashMatchesSigtool(t *testing.T) {
	sigtool := needTool(t, "sigtool")
	files := samples(120,
		"/usr/share/clamav-testfiles/*.exe",
		"/root/.pyenv/versions/*/lib/python*/site-packages/*/*.exe",
		"/root/.pyenv/versions/*/lib/python*/site-packages/*/_vendor/*/*.exe",
		"/root/.pyenv/versions/*/lib/python*/distutils/command/*.exe",
		"/usr/local/go/src/debug/pe/testdata/*",
	)
	var checked int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Parse(data)
		if err != nil || info.PE == nil {
			continue
		}
		out, _ := exec.Command(sigtool, "--debug", "--imp", f).CombinedOutput()
		m := reImphash.FindSubmatch(out)
		if m == nil {
			if info.PE.HasImports {
				t.Errorf("%s: import hash computed, sigtool has none", f)
			}
			continue
		}
		checked++
		sum, n := info.PE.ImportMD5()
		got := fmt.Sprintf("%s:%d", hex.EncodeToString(sum[:]), n)
		if want := string(m[1]) + ":" + string(m[2]); !info.PE.HasImports || got != want {
			t.Errorf("%s: import hash %s (ok=%v), sigtool says %s\n%s", f, got, info.PE.HasImports, want, info.PE.Imports)
		}
	}
	t.Logf("checked %d import hashes against sigtool", checked)
	if checked < 3 { // Go's own PE test files give three
		t.Errorf("only %d import hashes compared", checked)
	}
}

var reVersion = regexp.MustCompile(`VersionInfo \(([0-9a-f]+)\): '.*' - VI:([0-9a-f]+)`)

// TestVersionInfoMatchesClamscan checks the version strings against the
// ones clamscan logs (with the offsets a VI signature uses).
func TestVersionInfoMatchesClamscan(t *testing.T) {
	clamscan := needTool(t, "clamscan")
	files := samples(60,
		"/usr/share/clamav-testfiles/*.exe",
		"/root/.pyenv/versions/3.1*/lib/python*/site-packages/*/*.exe",
		"/usr/local/go/src/debug/pe/testdata/*",
	)
	dir := t.TempDir()
	db := filepath.Join(dir, "none.ndb")
	if err := os.WriteFile(db, []byte("GlassavNoMatch:0:*:676c61737361760000ffee0011\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var compared int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Parse(data)
		if err != nil || info.PE == nil {
			continue
		}
		out, _ := exec.Command(clamscan, "--debug", "--disable-cache", "--no-summary", "-d", db, f).CombinedOutput()
		logged := map[string]bool{}
		for _, m := range reVersion.FindAllSubmatch(out, -1) {
			logged[string(m[1])+":"+string(m[2])] = true
		}
		for _, e := range info.PE.VersionInfo {
			key := fmt.Sprintf("%x:%s", e.Offset, hex.EncodeToString(data[e.Offset:e.Offset+int64(e.Len)]))
			if !logged[key] {
				t.Errorf("%s: version entry %q=%q at 0x%x not in clamscan's log", f, e.Key, e.Value, e.Offset)
			}
		}
		if len(info.PE.VersionInfo) > 0 {
			compared++
		}
	}
	t.Logf("compared the version strings of %d files", compared)
	if compared == 0 && len(files) > 20 {
		t.Error("no file with version strings to compare")
	}
}
