package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
)

// tarOf writes a tar of the named members, in order.
func tarOf(t testing.TB, path string, names []string, data map[string][]byte) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, n := range names {
		d := data[n]
		if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("%04d-%s", i, n), Mode: 0o644, Size: int64(len(d)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMemberCache scans a tar of 1,000 copies of /usr/bin/true: with the
// cache, the copies after the first are not matched again; without it,
// each is. A detection is never cached: copies of clam.exe among them are
// all reported, and clamscan finds the same tar infected.
func TestMemberCache(t *testing.T) {
	exe, err := os.ReadFile(clamTestFile(t, "clam.exe"))
	if err != nil {
		t.Fatal(err)
	}
	tru, err := os.ReadFile("/usr/bin/true")
	if err != nil {
		t.Skipf("/usr/bin/true: %v", err)
	}
	dir := t.TempDir()
	data := map[string][]byte{"true": tru, "clam.exe": exe}
	var same, mixed []string
	for i := 0; i < 1000; i++ {
		same = append(same, "true")
		mixed = append(mixed, "true")
		if i == 300 || i == 700 {
			mixed = append(mixed, "clam.exe")
		}
	}
	sameTar, mixedTar := filepath.Join(dir, "same.tar"), filepath.Join(dir, "mixed.tar")
	tarOf(t, sameTar, same, data)
	tarOf(t, mixedTar, mixed, data)
	r, db := loadDB(t, map[string]string{"t.ndb": "Clam.Body:0:*:" + clamBody(t) + "\n"})

	st, err := os.Stat(sameTar)
	if err != nil {
		t.Fatal(err)
	}
	var took [2]time.Duration
	for i, noCache := range []bool{false, true} {
		opt := deep(1)
		opt.Containers.NoCache = noCache
		start := time.Now()
		res := scanFile(t, r, sameTar, opt)
		took[i] = time.Since(start)
		if len(res.Matches) != 0 || res.Members != 1000 {
			t.Fatalf("NoCache %v: matches %v members %d, want none and 1000", noCache, names(res.Matches), res.Members)
		}
		once, every := st.Size()+int64(len(tru)), st.Size()+1000*int64(len(tru))
		if want := map[bool]int64{false: once, true: every}[noCache]; res.Scanned != want {
			t.Errorf("NoCache %v: scanned %d bytes, want %d (tar %d, member %d)", noCache, res.Scanned, want, st.Size(), len(tru))
		}
	}
	t.Logf("tar of 1,000 copies of /usr/bin/true (%d bytes): %v with the cache, %v without (%.1fx)",
		st.Size(), took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), float64(took[1])/float64(took[0]))

	opt := deep(2)
	opt.AllMatch = true
	res := scanFile(t, r, mixedTar, opt)
	// The tar's own bytes hold clam.exe too; the members are what counts.
	var paths []string
	for _, m := range res.Matches {
		if len(m.Path) > 0 {
			paths = append(paths, m.Path[0])
		}
	}
	if !slices.Equal(paths, []string{"0301-clam.exe", "0702-clam.exe"}) {
		t.Fatalf("mixed tar: members found %q, want both copies of clam.exe", paths)
	}
	out, err := exec.Command(testenv.NeedTool(t, "clamscan"), "--no-summary", "--allmatch", "-d", filepath.Join(db, "t.ndb"), sameTar, mixedTar).Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("clamscan: %v, want exit status 1\n%s", err, out)
	}
	// clamscan caches clean members too, and reports the tar's own match
	// and each copy of clam.exe (a line each with --allmatch).
	if !strings.HasPrefix(string(out), sameTar+": OK\n") || strings.Count(string(out), mixedTar+": Clam.Body.UNOFFICIAL FOUND\n") < 3 {
		t.Fatalf("clamscan:\n%s\nwant %s clean and at least 3 detections in %s", out, sameTar, mixedTar)
	}
}

// TestMemberCacheAncestors: the same bytes in another container are not
// taken from the cache, as a Container: constraint may see them differently.
func TestMemberCacheAncestors(t *testing.T) {
	r, _ := loadDB(t, map[string]string{"t.ldb": "InZip;Engine:51-255,Container:CL_TYPE_ZIP,Target:0;0;" + clamBody(t) + "\n"})
	dir := t.TempDir()
	sh(t, dir, "cp "+clamTestFile(t, "clam.exe")+" c.exe && zip -q -0 z.zip c.exe && tar cf a.tar c.exe z.zip", "zip", "tar")
	opt := deep(1)
	opt.AllMatch = true
	res := scanFile(t, r, filepath.Join(dir, "a.tar"), opt)
	if names(res.Matches) != "InZip.UNOFFICIAL" || res.Matches[0].Path[len(res.Matches[0].Path)-1] != "c.exe" || len(res.Matches[0].Path) != 2 {
		t.Fatalf("matches %+v, want InZip on z.zip//c.exe", res.Matches)
	}
}

// TestClamCacheEmax: ClamAV's test file for its cache and the recursion
// limit (a chain of .tgz nested past the default depth) is found by both.
func TestClamCacheEmax(t *testing.T) {
	path := clamTestFile(t, "clam_cache_emax.tgz")
	r, db := loadDB(t, map[string]string{"t.ndb": "Clam.Body:0:*:" + clamBody(t) + "\n"})
	out, err := exec.Command(testenv.NeedTool(t, "clamscan"), "--no-summary", "-d", filepath.Join(db, "t.ndb"), path).Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("clamscan: %v, want exit status 1\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Scan(context.Background(), &Object{Name: path, Data: data}, deep(1))
	if err != nil {
		t.Fatal(err)
	}
	if names(res.Matches) != "Clam.Body.UNOFFICIAL" {
		t.Fatalf("glassav: %v limits %q, clamscan: %s", names(res.Matches), res.Limits, out)
	}
	t.Logf("found at depth %d via %q; limits %q", len(res.Matches[0].Path), res.Matches[0].Via, res.Limits)
}

// BenchmarkMemberCache scans a tar of 1,000 copies of /usr/bin/true with
// real third-party databases (hashes, bodies, logical signatures), with
// and without the cache of clean members.
func BenchmarkMemberCache(b *testing.B) {
	var dbs []string
	for _, d := range []string{"ditekshen", "rfxn-lmd"} {
		p := filepath.Join("/work/shared/testdata/clamav", d)
		if _, err := os.Stat(p); err != nil {
			b.Skipf("%s missing: %v", p, err)
		}
		dbs = append(dbs, p)
	}
	r, err := Load(context.Background(), LoadOptions{Paths: dbs})
	if err != nil {
		b.Fatal(err)
	}
	tru, err := os.ReadFile("/usr/bin/true")
	if err != nil {
		b.Skipf("/usr/bin/true: %v", err)
	}
	members := make([]string, 1000)
	for i := range members {
		members[i] = "true"
	}
	path := filepath.Join(b.TempDir(), "same.tar")
	tarOf(b, path, members, map[string][]byte{"true": tru})
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, noCache := range []bool{false, true} {
		b.Run(fmt.Sprintf("NoCache=%v", noCache), func(b *testing.B) {
			opt := deep(1)
			opt.Containers.NoCache = noCache
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				res, err := r.Scan(context.Background(), &Object{Name: path, Data: data}, opt)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Matches) != 0 || res.Members != 1000 {
					b.Fatalf("matches %v members %d, want none and 1000", names(res.Matches), res.Members)
				}
			}
		})
	}
}
