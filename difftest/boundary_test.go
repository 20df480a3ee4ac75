package difftest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBoundaryBytes compares ClamAV's boundary tokens (B), (L) and (W)
// exhaustively: for every byte value, a file with that byte just before a
// marker, just after it, and between two markers, plus the data's edges;
// one signature per token and side. ClamAV's byte sets differ by side, so
// generated signatures from real files alone would leave most of them
// untested.
func TestBoundaryBytes(t *testing.T) {
	dir := t.TempDir()
	const marker, second = "abcdef", "ghijkl"
	var files []string
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for b := range 256 {
		c := []byte{byte(b)}
		write(fmt.Sprintf("pre_%03d", b), []byte("QQQQ"+string(c)+marker+"QQQQ"))
		write(fmt.Sprintf("post_%03d", b), []byte("QQQQ"+marker+string(c)+"QQQQ"))
		write(fmt.Sprintf("mid_%03d", b), []byte("QQQQ"+marker+string(c)+second+"QQQQ"))
	}
	write("edge_start", []byte(marker+"QQQQ"))
	write("edge_end", []byte("QQQQ"+marker))
	write("crlf_after", []byte("QQQQ"+marker+"\r\nQQQQ"))
	write("crlf_before", []byte("QQQQ\r\n"+marker+"QQQQ"))

	hexOf := func(s string) string { return fmt.Sprintf("%x", s) }
	var db strings.Builder
	for _, tok := range []string{"B", "L", "W"} {
		fmt.Fprintf(&db, "Pre%s:0:*:(%s)%s\n", tok, tok, hexOf(marker))
		fmt.Fprintf(&db, "Post%s:0:*:%s(%s)\n", tok, hexOf(marker), tok)
		fmt.Fprintf(&db, "Mid%s:0:*:%s(%s)%s\n", tok, hexOf(marker), tok, hexOf(second))
	}
	dbPath := filepath.Join(t.TempDir(), "boundary.ndb")
	if err := os.WriteFile(dbPath, []byte(db.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	clam := needClamscan(t)
	bin := needGlassav(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	want, err := Run(ctx, clam, ClamscanArgs([]string{dbPath}, files, true))
	if err != nil {
		t.Fatal(err)
	}
	if want.Exit != 1 || len(want.Hits) < 200 {
		t.Fatalf("clamscan exit %d with %d detections; want 1 and at least 200", want.Exit, len(want.Hits))
	}
	if bin == "" {
		return
	}
	got, err := Run(ctx, bin, GlassavArgs([]string{dbPath}, files, true))
	if err != nil {
		t.Fatal(err)
	}
	onlyClam, onlyGlass := Diff(want.Hits, got.Hits)
	for _, d := range onlyClam {
		t.Errorf("missed: %s", d)
	}
	for _, d := range onlyGlass {
		t.Errorf("extra: %s", d)
	}
	t.Logf("clamscan %d detections, glassav %d", len(want.Hits), len(got.Hits))
}

// TestTextViewBytes compares the normalised text view clamscan matches text
// files in with --scan-html=yes: for every byte value, a file with that byte
// between two words, and signatures that find the words joined (byte
// dropped), separated by one space (byte turned into whitespace), or with
// the byte lower-cased; plus boundary tokens, which then apply to the view.
func TestTextViewBytes(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for b := range 256 {
		p := filepath.Join(dir, fmt.Sprintf("view_%03d", b))
		data := []byte("QQQQ  abc" + string([]byte{byte(b)}) + "def \r\n\t QQQQ\n")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	var db strings.Builder
	fmt.Fprintf(&db, "Dropped:0:*:%x\n", "abcdef")
	fmt.Fprintf(&db, "Space:0:*:%x\n", "abc def q")
	fmt.Fprintf(&db, "View7:7:*:%x\n", "abc def q")
	fmt.Fprintf(&db, "Bounded:0:*:(B)%x(B)\n", "abcdef")
	for c := 'A'; c <= 'Z'; c++ {
		fmt.Fprintf(&db, "Lower%c:0:*:%x\n", c, "abc"+string(c+'a'-'A')+"def")
	}
	dbPath := filepath.Join(t.TempDir(), "view.ndb")
	if err := os.WriteFile(dbPath, []byte(db.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, html := range []string{"--scan-html=yes", "--scan-html=no"} {
		t.Run(html, func(t *testing.T) {
			want, got, ok := runBoth(t, []string{dbPath}, files, true, html)
			if want.Exit != 1 || len(want.Hits) < 26 {
				t.Fatalf("clamscan exit %d with %d detections; want 1 and at least 26", want.Exit, len(want.Hits))
			}
			if !ok {
				return
			}
			onlyClam, onlyGlass := Diff(want.Hits, got.Hits)
			for _, d := range onlyClam {
				t.Errorf("missed: %s", d)
			}
			for _, d := range onlyGlass {
				t.Errorf("extra: %s", d)
			}
			t.Logf("clamscan %d detections, glassav %d", len(want.Hits), len(got.Hits))
		})
	}
}
