package difftest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// filesPerPool is how many files each feature cuts signatures from.
const filesPerPool = 32

var pools struct {
	once sync.Once
	p    Pools
	err  error
}

func samplePools(t *testing.T) Pools {
	t.Helper()
	pools.once.Do(func() { pools.p, pools.err = SamplePools(New(seed(t)), filesPerPool) })
	if pools.err != nil {
		need(t, "file corpus", pools.err)
	}
	return pools.p
}

// runBoth runs clamscan and then glassav with the same options. ok is false
// when glassav is not available (outside CI): only clamscan's outcome is
// then meaningful.
func runBoth(t *testing.T, dbs, files []string, allmatch bool, override ...string) (want, got Outcome, ok bool) {
	t.Helper()
	clam := needClamscan(t)
	bin := needGlassav(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	want, err := Run(ctx, clam, ClamscanArgs(dbs, files, allmatch, override...))
	if err != nil {
		t.Fatal(err)
	}
	if want.Exit == 2 {
		t.Fatalf("clamscan exit 2 (database or file error):\n%s", firstLines(want.Stderr, 10))
	}
	if bin == "" {
		return want, got, false
	}
	if got, err = Run(ctx, bin, GlassavArgs(dbs, files, allmatch, override...)); err != nil {
		t.Fatal(err)
	}
	return want, got, true
}

// compare runs both scanners over files with the databases and fails on any
// difference in the detection sets; it returns clamscan's outcome.
func compare(t *testing.T, dbs, files []string, allmatch bool, override ...string) Outcome {
	t.Helper()
	want, got, ok := runBoth(t, dbs, files, allmatch, override...)
	if !ok {
		return want
	}
	errorf := t.Errorf
	if tolerated(t) {
		errorf = t.Logf
	}
	if got.Exit != want.Exit {
		errorf("exit code: glassav %d, clamscan %d\nglassav stderr: %s", got.Exit, want.Exit, firstLines(got.Stderr, 10))
	}
	onlyClam, onlyGlass := Diff(want.Hits, got.Hits)
	for _, d := range onlyClam {
		errorf("missed (clamscan finds, glassav does not): %s", d)
	}
	for _, d := range onlyGlass {
		errorf("extra (glassav finds, clamscan does not): %s", d)
	}
	if t.Failed() {
		t.Logf("databases: %s", strings.Join(dbs, " "))
	}
	return want
}

// compareSkipped runs both scanners on a feature whose signatures glassav
// skips by design: glassav must say so with the exact count, and report none
// of them; clamscan's result is returned for the usual minimum-hit checks.
func compareSkipped(t *testing.T, f Feature, db DB, dbs []string) Outcome {
	t.Helper()
	want, got, ok := runBoth(t, dbs, db.Paths(), true, f.Args...)
	if !ok {
		return want
	}
	if got.Exit != 0 || len(got.Hits) != 0 {
		t.Errorf("glassav exit %d with %d detections; want 0 and none (signatures skipped)", got.Exit, len(got.Hits))
	}
	if w := fmt.Sprintf("%d %s", len(db), f.Skipped); !strings.Contains(got.Stderr, w) {
		t.Errorf("glassav stderr lacks %q:\n%s", w, firstLines(got.Stderr, 10))
	}
	return want
}

// compareByDigest compares detections of signatures that share digests by
// digest rather than by name (see Feature.SameDigest).
func compareByDigest(t *testing.T, f Feature, db DB, dbs []string) Outcome {
	t.Helper()
	want, got, ok := runBoth(t, dbs, db.Paths(), true, f.Args...)
	if !ok {
		return want
	}
	digestOf := map[string]string{}
	for _, s := range db {
		for _, field := range strings.Split(s.Line, ":") {
			if len(field) == 32 || len(field) == 40 || len(field) == 64 {
				digestOf[s.Name+".UNOFFICIAL"] = field
			}
		}
	}
	byDigest := func(o Outcome) map[Detection]int {
		m := map[Detection]int{}
		for _, h := range o.Hits {
			d, ok := digestOf[h.Name]
			if !ok {
				d = h.Name
			}
			m[Detection{Path: h.Path, Name: d}]++
		}
		return m
	}
	wm, gm := byDigest(want), byDigest(got)
	for d, n := range wm {
		if gm[d] != n {
			t.Errorf("%s: clamscan reports %d name(s) for this digest, glassav %d", d, n, gm[d])
		}
	}
	for d, n := range gm {
		if _, ok := wm[d]; !ok {
			t.Errorf("%s: glassav reports %d name(s), clamscan none", d, n)
		}
	}
	if got.Exit != want.Exit {
		t.Errorf("exit code: glassav %d, clamscan %d", got.Exit, want.Exit)
	}
	return want
}

// TestFeatures generates one database per ClamAV feature from real files
// and compares both scanners on those files.
func TestFeatures(t *testing.T) {
	ps := samplePools(t)
	g := New(seed(t))
	for _, f := range Features() {
		t.Run(f.Name, func(t *testing.T) {
			db := g.Generate(f, ps[f.Pool])
			if len(db) < min(3, len(ps[f.Pool])) || len(db) == 0 {
				t.Fatalf("generator made %d signatures from %d files", len(db), len(ps[f.Pool]))
			}
			dir := t.TempDir()
			dbs, err := db.Write(dir, "gen")
			if err != nil {
				t.Fatal(err)
			}
			keepDB(t, dir)
			var want Outcome
			switch {
			case f.Skipped != "":
				want = compareSkipped(t, f, db, dbs)
			case f.SameDigest:
				want = compareByDigest(t, f, db, dbs)
			default:
				want = compare(t, dbs, db.Paths(), true, f.Args...)
			}
			hits := HitsOf(db, want)
			if f.Negative {
				t.Logf("%d near misses, clamscan detected %d", len(db), len(want.Hits))
				return
			}
			t.Logf("clamscan detected %d of %d generated signatures (%d detections in all)", hits, db.Wanted(), len(want.Hits))
			if want.Exit != 1 {
				t.Errorf("clamscan exit %d, want 1", want.Exit)
			}
			if min := int(f.MinHit * float64(db.Wanted())); hits < min || hits == 0 {
				t.Errorf("clamscan detected %d of %d generated signatures, want at least %d: the generator is off, the comparison proves little",
					hits, db.Wanted(), min)
				for _, s := range db {
					if s.Want && !containsName(want.Hits, s) {
						t.Logf("not detected by clamscan: %s in %s", s.Line, s.Path)
					}
				}
			}
		})
	}
}

func containsName(hits []Detection, s Sig) bool {
	for _, h := range hits {
		if h.Path == s.Path && h.Name == s.Name+".UNOFFICIAL" {
			return true
		}
	}
	return false
}

// keepDB copies a failing test's databases to DIFFTEST_KEEP, if set.
func keepDB(t *testing.T, dir string) {
	keep := os.Getenv("DIFFTEST_KEEP")
	if keep == "" {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		dst := filepath.Join(keep, strings.ReplaceAll(t.Name(), "/", "_"))
		os.MkdirAll(dst, 0o755)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err == nil {
				os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
			}
		}
	})
}
