package clamav

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/ir"
)

// writeHashDB writes n generated .mdb lines (plus the given extra lines
// first) and returns the path.
func writeHashDB(t testing.TB, name string, extra []string, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, l := range extra {
		fmt.Fprintln(w, l)
	}
	for i := range n {
		d := md5.Sum([]byte(fmt.Sprint("section", i)))
		fmt.Fprintf(w, "%d:%x:Win.Trojan.Gen-%d-0\n", 512+i%3000, d, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestLoadHashFileStreaming(t *testing.T) {
	data := []byte("the raw bytes of one PE section")
	md := md5.Sum(data)
	sh := sha256.Sum256(data)
	extra := []string{
		"# a comment",
		fmt.Sprintf("%d:%x:Section.MD5", len(data), md),
		fmt.Sprintf("*:%x:Section.SHA256.AnySize:73", sh),
		fmt.Sprintf("%d:%x:Section.TooNew:999", len(data), md),
	}
	const n = 200000 // > streamThreshold bytes
	path := writeHashDB(t, "big.mdb", extra, n)
	if fi, _ := os.Stat(path); fi.Size() < streamThreshold {
		t.Fatalf("test file only %d bytes", fi.Size())
	}
	for _, official := range []bool{false, true} {
		set := ir.NewSet()
		if err := loadHashFile(context.Background(), set, path, hashFormats["mdb"], Options{Official: official}); err != nil {
			t.Fatal(err)
		}
		if set.Signatures != n+2 || set.Skipped["functionality level"] != 1 {
			t.Fatalf("signatures %d skipped %v", set.Signatures, set.Skipped)
		}
		set.Hashes.Sort()
		suffix := ".UNOFFICIAL"
		if official {
			suffix = ""
		}
		var got []string
		set.Hashes.Lookup(ir.HashPESection, md[:], int64(len(data)), func(e ir.HashEntry) { got = append(got, e.Name) })
		set.Hashes.Lookup(ir.HashPESection, sh[:], int64(len(data)), func(e ir.HashEntry) { got = append(got, e.Name) })
		d := md5.Sum([]byte("section123456"))
		set.Hashes.Lookup(ir.HashPESection, d[:], 512+123456%3000, func(e ir.HashEntry) { got = append(got, e.Name+"@"+e.Source.File) })
		want := "Section.MD5" + suffix + ",Section.SHA256.AnySize" + suffix + ",Win.Trojan.Gen-123456-0" + suffix + "@" + path
		if g := strings.Join(got, ","); g != want {
			t.Errorf("official=%v: got %s\nwant %s", official, g, want)
		}
	}
}

func TestLoadHashFileErrors(t *testing.T) {
	tests := []struct {
		line, want string
	}{
		{"512:abc:Name", `hash "abc": want 32, 40 or 64 hex digits`},
		{"512:" + strings.Repeat("zz", 16) + ":Name", `not hexadecimal`},
		{"x12:" + strings.Repeat("aa", 16) + ":Name", `size "x12": not a number`},
		{"512:" + strings.Repeat("aa", 16), "want size:hash:name[:minfl[:maxfl]], got 2 fields"},
		{"*:" + strings.Repeat("aa", 16) + ":Name", "size '*' needs a minimum functionality level of at least 73"},
		{"512:" + strings.Repeat("aa", 16) + ":", "empty signature name"},
	}
	for _, tt := range tests {
		// The bad line sits after enough good lines to be in a later chunk.
		path := writeHashDB(t, "bad.mdb", nil, 150000)
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(f, tt.line)
		f.Close()
		err = loadHashFile(context.Background(), ir.NewSet(), path, hashFormats["mdb"], Options{})
		wantPrefix := fmt.Sprintf("mdb %s:%d: ", path, 150001)
		if err == nil || !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %s...%s", tt.line, err, wantPrefix, tt.want)
		}
		// The in-memory path says the same.
		data, _ := os.ReadFile(path)
		err = loadHashData(ir.NewSet(), path, data, hashFormats["mdb"], Options{})
		if err == nil || !strings.HasPrefix(err.Error(), wantPrefix) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("in memory %q: error %v", tt.line, err)
		}
	}
}

// BenchmarkLoadHashFile measures streaming load of 1M section hashes.
func BenchmarkLoadHashFile(b *testing.B) {
	path := writeHashDB(b, "bench.mdb", nil, 1000000)
	fi, _ := os.Stat(path)
	b.SetBytes(fi.Size())
	for b.Loop() {
		set := ir.NewSet()
		if err := loadHashFile(context.Background(), set, path, hashFormats["mdb"], Options{Official: true}); err != nil {
			b.Fatal(err)
		}
		set.Hashes.Sort()
	}
}

func TestHashBlankAndEmpty(t *testing.T) {
	const line = "aa15bcf478d165efd2065190eb473bcb:544:a\n"
	tests := []struct {
		data, want string
	}{
		{line + "\n" + line, "hdb x.hdb:2: empty line"},
		{"", "hdb x.hdb: empty database file"},
		{"# only a comment\n" + line, ""},
	}
	for _, tt := range tests {
		err := loadHashData(ir.NewSet(), "x.hdb", []byte(tt.data), hashFormats["hdb"], Options{})
		if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
			t.Errorf("%q: error %v, want %q", tt.data, err, tt.want)
		}
	}
	// Streamed: a blank line deep in a large file.
	path := writeHashDB(t, "blank.mdb", nil, 150000)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprint(f, "\n")
	f.Close()
	err := loadHashFile(context.Background(), ir.NewSet(), path, hashFormats["mdb"], Options{})
	if want := fmt.Sprintf("mdb %s:150001: empty line", path); fmt.Sprint(err) != want {
		t.Errorf("streamed blank line: %v, want %s", err, want)
	}
}

func TestHashIgnored(t *testing.T) {
	set := ir.NewSet()
	set.Ignored["a"] = []string{""}
	data := "aa15bcf478d165efd2065190eb473bcb:544:a\naa15bcf478d165efd2065190eb473bcc:544:b\n"
	if err := loadHashData(set, "x.hdb", []byte(data), hashFormats["hdb"], Options{}); err != nil {
		t.Fatal(err)
	}
	if set.Signatures != 1 || set.Skipped[skipIgnored] != 1 {
		t.Errorf("signatures %d skipped %v", set.Signatures, set.Skipped)
	}
}
