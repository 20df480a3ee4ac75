package difftest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFeedLoads writes a small feed-shaped database and checks that both
// scanners load it and agree on a few real files (no detections expected:
// the feed's content is random).
func TestFeedLoads(t *testing.T) {
	dir := t.TempDir()
	c := FeedConfig{SectionHashes: 3000, FileMD5: 300, FileSHA256: 200, Bodies: 3000}
	if err := New(seed(t)).WriteFeed(dir, c); err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, ext := range []string{"mdb", "hdb", "hsb", "ndb"} {
		b, err := os.ReadFile(filepath.Join(dir, "feed."+ext))
		if err != nil {
			t.Fatal(err)
		}
		lines += strings.Count(string(b), "\n")
	}
	if lines != c.Total() {
		t.Fatalf("feed has %d lines, want %d", lines, c.Total())
	}
	ps := samplePools(t)
	var files []string
	for _, f := range slices.Concat(ps[PoolPE][:4], ps[PoolPlain][:4]) {
		files = append(files, f.Path)
	}
	compare(t, []string{dir}, files, true)
}

func TestWriteUsrHashes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a b"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "c"), []byte("x"), 0o644) // duplicate content
	os.WriteFile(filepath.Join(dir, "e"), nil, 0o644)         // empty: skipped
	var sb strings.Builder
	n, err := WriteUsrHashes(&sb, []string{dir})
	if err != nil || n != 1 {
		t.Fatalf("WriteUsrHashes = %d, %v", n, err)
	}
	want := "9dd4e461268c8034f5c8564e155c67a6:1:Bench.Usr.a_b\n"
	if sb.String() != want {
		t.Fatalf("got %q, want %q", sb.String(), want)
	}
}
