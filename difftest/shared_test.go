package difftest

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const clamavTestFiles = "/usr/share/clamav-testfiles"

// testFiles lists the clam.exe containers of Debian's clamav-testfiles.
func testFiles(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(clamavTestFiles)
	if err == nil && len(ents) == 0 {
		err = fmt.Errorf("%s is empty", clamavTestFiles)
	}
	need(t, "clamav-testfiles (apt-get install clamav-testfiles)", err)
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			out = append(out, filepath.Join(clamavTestFiles, e.Name()))
		}
	}
	return out
}

// compareTiered compares on files where clamscan's own PE unpackers (UPX,
// FSG, ASPack, ... are part of --scan-pe) may find more than the bytes as
// given. Detections clamscan makes with --scan-pe=no are required of
// glassav; those it makes only with PE unpacking are allowed but not
// required (logged), unless DIFFTEST_STRICT_UNPACK=1.
func compareTiered(t *testing.T, dbs, files []string) (strict Outcome) {
	t.Helper()
	clam := needClamscan(t)
	bin := needGlassav(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	full, err := Run(ctx, clam, ClamscanArgs(dbs, files, true))
	if err != nil {
		t.Fatal(err)
	}
	strict, err = Run(ctx, clam, ClamscanArgs(dbs, files, true, "--scan-pe=no"))
	if err != nil {
		t.Fatal(err)
	}
	if full.Exit == 2 || strict.Exit == 2 {
		t.Fatalf("clamscan exit 2:\n%s%s", firstLines(full.Stderr, 10), firstLines(strict.Stderr, 10))
	}
	if bin == "" {
		return strict
	}
	got, err := Run(ctx, bin, GlassavArgs(dbs, files, true))
	if err != nil {
		t.Fatal(err)
	}
	strictUnpack := os.Getenv("DIFFTEST_STRICT_UNPACK") == "1"
	errorf := t.Errorf
	if tolerated(t) {
		errorf = t.Logf
	}
	missed, _ := Diff(strict.Hits, got.Hits)
	for _, d := range missed {
		errorf("missed (clamscan finds without unpacking, glassav does not): %s", d)
	}
	missedUnpacked, extra := Diff(full.Hits, got.Hits)
	for _, d := range extra {
		errorf("extra (glassav finds, clamscan does not even with unpacking): %s", d)
	}
	for _, d := range missedUnpacked {
		if slices.Contains(strict.Hits, d) {
			continue
		}
		if strictUnpack {
			errorf("missed (clamscan finds after PE unpacking): %s", d)
		} else {
			t.Logf("not required (clamscan finds it only by PE unpacking): %s", d)
		}
	}
	// Exit codes follow the detections, which may differ in the unpacking
	// tier: glassav's must agree with its own report.
	if want := boolExit(len(got.Hits) > 0); got.Exit != want {
		errorf("glassav exit %d with %d detections, want %d\n%s", got.Exit, len(got.Hits), want, firstLines(got.Stderr, 10))
	}
	return strict
}

func boolExit(found bool) int {
	if found {
		return 1
	}
	return 0
}

// TestClamAVTestFiles is the positive control of the shared manifest with
// containers off: ClamAV's test-file hash and test string over the 44 files.
func TestClamAVTestFiles(t *testing.T) {
	in := filepath.Join(sharedDir(t), "testdata/clamav/clamav-unit-tests/unit_tests/input")
	dbs := []string{filepath.Join(in, "clamav.hdb"), filepath.Join(in, "other_sigs/Clamav-Unit-Test-Signature.ndb")}
	strict := compareTiered(t, dbs, testFiles(t))
	if len(strict.Hits) == 0 {
		t.Fatal("clamscan detected nothing: the control is broken")
	}
}

// TestClamAVUnitTestDatabases loads every hash, body and logical signature
// database of ClamAV's unit tests at once and compares over the test files.
func TestClamAVUnitTestDatabases(t *testing.T) {
	in := filepath.Join(sharedDir(t), "testdata/clamav/clamav-unit-tests/unit_tests/input")
	var dbs []string
	err := filepath.WalkDir(in, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch filepath.Ext(p) {
		case ".hdb", ".hsb", ".mdb", ".msb", ".imp", ".ndb", ".ldb":
			dbs = append(dbs, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	strict := compareTiered(t, dbs, testFiles(t))
	if len(strict.Hits) == 0 {
		t.Fatal("clamscan detected nothing")
	}
}

// realSets are the third-party signature files of ../shared.
func realSets(t *testing.T) []string {
	base := filepath.Join(sharedDir(t), "testdata/clamav")
	return []string{
		filepath.Join(base, "rfxn-lmd/rfxn.ndb"),
		filepath.Join(base, "rfxn-lmd/rfxn.hdb"),
		filepath.Join(base, "ditekshen/clamav.ldb"),
		filepath.Join(base, "ditekshen/indicator_rmm.ldb"),
	}
}

// TestRealSetsPlanted plants the bytes of a seeded sample of rfxn.ndb's
// (purely static) body signatures into files made of real file bytes, and
// compares both scanners with all real sets loaded.
func TestRealSetsPlanted(t *testing.T) {
	sets := realSets(t)
	ps := samplePools(t)
	raw, err := os.ReadFile(sets[0])
	if err != nil {
		t.Fatal(err)
	}
	var hexes []string
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Split(line, ":")
		if len(f) != 4 || f[2] != "*" || strings.ContainsAny(f[3], "?*{}()[]!") {
			continue
		}
		hexes = append(hexes, f[3])
	}
	r := rand.New(rand.NewPCG(seed(t), 1))
	dir := t.TempDir()
	var files []string
	for i, k := range r.Perm(len(hexes))[:min(64, len(hexes))] {
		b, err := hex.DecodeString(hexes[k])
		if err != nil {
			continue
		}
		host := ps[PoolPlain][i%len(ps[PoolPlain])].Data
		at := r.IntN(min(len(host), 8192))
		data := slices.Concat(host[:at], b, host[at:min(len(host), at+8192)])
		p := filepath.Join(dir, fmt.Sprintf("planted-%03d", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	want := compare(t, sets, files, true)
	if len(want.Hits) < len(files)/2 {
		t.Fatalf("clamscan detected %d of %d planted files", len(want.Hits), len(files))
	}
	t.Logf("clamscan: %d detections over %d planted files", len(want.Hits), len(files))
}

// TestRealSetsClean runs all real sets over the sampled real files, which
// are clean: a false-positive comparison.
func TestRealSetsClean(t *testing.T) {
	sets := realSets(t)
	ps := samplePools(t)
	var files []string
	for _, p := range []Pool{PoolPlain, PoolText, PoolPE} {
		for _, f := range ps[p] {
			files = append(files, f.Path)
		}
	}
	want := compare(t, sets, files, true)
	t.Logf("clamscan: %d detections over %d clean files", len(want.Hits), len(files))
}
