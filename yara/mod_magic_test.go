package yara

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// magicSample returns files of many types found on the machine: up to
// per files of each extension under the roots (and of no extension),
// none larger than 2 MiB.
func magicSample(t *testing.T, per int, roots ...string) []string {
	t.Helper()
	count := map[string]int{}
	var out []string
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if strings.HasPrefix(d.Name(), ".") && p != root {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			ext := filepath.Ext(p)
			if count[ext] >= per {
				return nil
			}
			if fi, err := d.Info(); err != nil || fi.Size() == 0 || fi.Size() > 2<<20 {
				return nil
			}
			count[ext]++
			out = append(out, p)
			return nil
		})
	}
	return out
}

// peerMagic returns what yara 4.2.3's magic module answers for each file,
// printed by console.log, in one run of yara over a folder of links to
// them (one thread, so each file's lines come before its match line).
// Files yara leaves undefined are absent.
func peerMagic(t *testing.T, yaraBin, dir string, files []string) map[string][2]string {
	t.Helper()
	rules := filepath.Join(dir, "m.yar")
	src := "import \"magic\"\nimport \"console\"\n" +
		"rule m { condition: console.log(magic.type()) and console.log(magic.mime_type()) }\n"
	if err := os.WriteFile(rules, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	links := filepath.Join(dir, "links")
	if err := os.Mkdir(links, 0o755); err != nil {
		t.Fatal(err)
	}
	byLink := map[string]string{}
	for i, f := range files {
		l := filepath.Join(links, fmt.Sprintf("f%04d", i))
		abs, err := filepath.Abs(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, l); err != nil {
			t.Fatal(err)
		}
		byLink[l] = f
	}
	out, err := exec.Command(yaraBin, "-p", "1", "-r", rules, links).Output()
	if err != nil {
		t.Fatalf("yara -r %s: %v", links, err)
	}
	got := map[string][2]string{}
	var pending []string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l, ok := strings.CutPrefix(line, "m "); ok && byLink[l] != "" && len(pending) >= 2 {
			got[byLink[l]] = [2]string{pending[len(pending)-2], pending[len(pending)-1]}
			pending = pending[:0]
			continue
		}
		pending = append(pending, line)
	}
	return got
}

// TestMagicAgainstYara compares magic.type() and magic.mime_type() with
// yara 4.2.3's libmagic answers over a sample of this machine's files:
// every answer the subset claims exact (see mod_magic.go) must be
// libmagic's, and enough of them must be compared; agreement on the
// others is counted and reported.
func TestMagicAgainstYara(t *testing.T) {
	yaraBin := testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	files := magicSample(t, 4, "/usr/share/doc", "/usr/share/pixmaps", "/usr/share/icons", "/usr/share/clamav-testfiles",
		"/usr/bin", "/usr/lib/x86_64-linux-gnu", "/etc", "/usr/include", "/var/cache/apt/archives")
	files = append(files, magicSample(t, 4, filepath.Join(sharedDir(t, "testdata/yara"), "data"))...)
	files = append(files, writeFiles(t, dir, "corpus", corpusBlobs(t, "magic"))...)
	files = append(files, goTestdata(t, dir, "macho", "*.base64")[:3]...)
	files = append(files, writeFiles(t, dir, "dex", builtDexFiles()[:1])...)
	peer := peerMagic(t, yaraBin, dir, files)
	var claimed, typeAgree, mimeAgree, total int
	kinds := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := peer[f]
		wantType, wantMIME := want[0], want[1]
		r := magicDetect(data)
		if ok != r.ok {
			t.Errorf("%s: yara defined %v, glassav %v", f, ok, r.ok)
			continue
		}
		if !ok {
			continue
		}
		total++
		if r.typ == wantType {
			typeAgree++
		}
		if r.mime == wantMIME {
			mimeAgree++
		}
		if r.exactType {
			claimed++
			kinds[r.mime]++
			if r.typ != wantType {
				t.Errorf("%s: magic.type() %q, libmagic %q", f, r.typ, wantType)
			}
		}
		if r.exactMIME {
			claimed++
			kinds[r.mime]++
			if r.mime != wantMIME {
				t.Errorf("%s: magic.mime_type() %q, libmagic %q (type %q)", f, r.mime, wantMIME, wantType)
			}
		}
	}
	t.Logf("magic: %d files; claimed answers %d, all libmagic's; overall agreement: type %d/%d, mime %d/%d; claimed by MIME type: %v",
		len(files), claimed, typeAgree, total, mimeAgree, total, kinds)
	if claimed < 100 || len(kinds) < 8 {
		t.Fatalf("only %d claimed answers over %d types compared", claimed, len(kinds))
	}
}

// TestMagicDetect checks the subset's answers on small crafted data.
func TestMagicDetect(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x30\x00\x00\x00\x10\x08\x06\x00\x00\x00")
	for _, tt := range []struct {
		data      string
		typ, mime string
		exact     bool
	}{
		{string(png), "PNG image data, 48 x 16, 8-bit/color RGBA, non-interlaced", "image/png", true},
		{"GIF89a\x30\x00\x3c\x00", "GIF image data, version 89a, 48 x 60", "image/gif", true},
		{"%PDF-1.7\n", "PDF document, version 1.7", "application/pdf", false},
		{"BZh91AY&SY", "bzip2 compressed data, block size = 900k", "application/x-bzip2", true},
		{"!<arch>\nfoo.o/", "current ar archive", "application/x-archive", true},
		{"dex\n035\x00", "Dalvik dex file version 035", "application/octet-stream", true},
		{"hello\n", "ASCII text", "text/plain", false},
		{"#!/bin/sh\necho\n", "POSIX shell script, ASCII text executable", "text/x-shellscript", false},
		{"caf\xc3\xa9\n", "Unicode text, UTF-8 text", "text/plain", false},
		{"a\r\nb\r\n", "ASCII text, with CRLF line terminators", "text/plain", false},
		{"\x00\x01\x02", "data", "application/octet-stream", false},
	} {
		r := magicDetect([]byte(tt.data))
		if !r.ok || r.typ != tt.typ || r.mime != tt.mime || r.exactType != tt.exact {
			t.Errorf("%q: %+v, want %q %q exact %v", tt.data, r, tt.typ, tt.mime, tt.exact)
		}
	}
	if r := magicDetect(nil); r.ok {
		t.Errorf("empty data: %+v", r)
	}
}

func FuzzMagicDetect(f *testing.F) {
	f.Add([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00\x01\x00\x00\x00"))
	f.Add([]byte("MZ"))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := magicDetect(b)
		if r.ok != (len(b) > 0) || (r.ok && (r.typ == "" || r.mime == "")) {
			t.Fatalf("%q: %+v", b, r)
		}
	})
}
