package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
)

// yaraExternals are the variables signature-base rules need (see
// shared/rules/manifests); defining them is harmless for the other sets.
var yaraExternals = []string{"-d", "filename=", "-d", "filepath=", "-d", "extension=", "-d", "filetype=", "-d", "owner=", "-d", "file_type="}

// yaraRoots returns the directories the YARA differential tests sample:
// DIFFTEST_YARA_ROOTS (space-separated) or /usr/bin and
// /usr/lib/x86_64-linux-gnu.
func yaraRoots() []string {
	if s := os.Getenv("DIFFTEST_YARA_ROOTS"); s != "" {
		return strings.Fields(s)
	}
	return []string{"/usr/bin", "/usr/lib/x86_64-linux-gnu"}
}

// envInt reads a positive integer from the environment, def when unset.
func envInt(t *testing.T, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// workDir returns DIFFTEST_YARA_DIR when set (to keep the generated rules
// for a look), else a temporary directory.
func workDir(t *testing.T) string {
	if d := os.Getenv("DIFFTEST_YARA_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// runTool runs a program and returns its output and exit status; a crash
// or a signal fails the test.
func runTool(t *testing.T, stdin string, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		code = ee.ExitCode()
	default:
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, firstLines(e.String(), 10))
	}
	return o.String(), e.String(), code
}

// yaraPair runs yara and glassav yara with the same arguments.
func yaraPair(t *testing.T, args ...string) (yaraOut, glassavOut string) {
	t.Helper()
	yaraBin := testenv.NeedTool(t, "yara")
	gl := needGlassav(t)
	yo, ye, yc := runTool(t, "", yaraBin, args...)
	if yc != 0 {
		t.Fatalf("yara %s: exit %d\n%s", strings.Join(args, " "), yc, firstLines(ye, 10))
	}
	if gl == "" {
		return yo, yo
	}
	gargs := append([]string{"yara"}, args...)
	goOut, ge, gc := runTool(t, "", gl, gargs...)
	if gc != yc {
		t.Fatalf("glassav yara %s: exit %d, yara %d\n%s", strings.Join(args, " "), gc, yc, firstLines(ge, 10))
	}
	return yo, goOut
}

// compareLines reports the lines only one side printed (at most 20 each)
// and whether the outputs are equal as ordered lines.
func compareLines(t *testing.T, what, yaraOut, glassavOut string) {
	t.Helper()
	if yaraOut == glassavOut {
		return
	}
	y, g := strings.Split(yaraOut, "\n"), strings.Split(glassavOut, "\n")
	ys, gs := slices.Sorted(slices.Values(y)), slices.Sorted(slices.Values(g))
	onlyY, onlyG := diffSorted(ys, gs)
	if len(onlyY) == 0 && len(onlyG) == 0 {
		t.Errorf("%s: same lines in another order", what)
		return
	}
	t.Errorf("%s: %d lines only from yara, %d only from glassav\nyara only:\n  %s\nglassav only:\n  %s",
		what, len(onlyY), len(onlyG), strings.Join(onlyY[:min(20, len(onlyY))], "\n  "), strings.Join(onlyG[:min(20, len(onlyG))], "\n  "))
}

func diffSorted(a, b []string) (onlyA, onlyB []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i] < b[j]:
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}

// ruleHits parses yara's output into "RULE PATH" lines (string lines of -s
// dropped).
func ruleHits(out string) map[string]bool {
	hits := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if l != "" && !strings.HasPrefix(l, "0x") {
			hits[l] = true
		}
	}
	return hits
}

// TestYARAGenerated generates rules of every form from a sample of real
// files, scans the sample with yara 4.2.3 and glassav yara -s (one thread,
// so the output order is fixed) and requires identical output, and yara
// finding nearly all the generated positives.
func TestYARAGenerated(t *testing.T) {
	testenv.NeedTool(t, "yara")
	paths, err := ListFiles(yaraRoots(), 64, 2<<20)
	if err != nil || len(paths) == 0 {
		need(t, "files under /usr/bin", fmt.Errorf("%v (%d files)", err, len(paths)))
	}
	g := New(seed(t))
	files, err := Sample(g.Rand(), paths, envInt(t, "DIFFTEST_YARA_FILES", 24), nil)
	if err != nil {
		t.Fatal(err)
	}
	var rules []YARARule
	made := map[string]int{}
	for _, f := range files {
		for _, r := range g.YARARules(f) {
			rules = append(rules, r)
			made[featureOf(r.Name)]++
		}
	}
	dir := workDir(t)
	for i, f := range files[:min(len(files), 12)] {
		syn, rs := g.YARASynthetic(f, filepath.Join(dir, fmt.Sprintf("synthetic-%d", i)))
		if err := os.WriteFile(syn.Path, syn.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, syn)
		for _, r := range rs {
			rules = append(rules, r)
			made[featureOf(r.Name)]++
		}
	}
	src := strings.Builder{}
	src.WriteString("import \"hash\"\n")
	for _, r := range rules {
		src.WriteString(r.Src)
	}
	rulesPath := filepath.Join(dir, "gen.yar")
	listPath := filepath.Join(dir, "list")
	var list strings.Builder
	for _, f := range files {
		list.WriteString(f.Path + "\n")
	}
	if err := os.WriteFile(rulesPath, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(listPath, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-w", "-s", "-g", "-m", "-p", "1"}
	for _, e := range YARAExternals {
		args = append(args, "-d", e)
	}
	yo, gout := yaraPair(t, append(args, "--scan-list", rulesPath, listPath)...)
	compareLines(t, "yara -s -g -m over the sample", yo, gout)

	compareEngine(t, dir, rules, files, listPath)

	// yara itself must find the positives on their own files: otherwise
	// the generator, not glassav, is being tested.
	hits := ruleHits(yo)
	found := map[string]int{}
	want := map[string]int{}
	for _, r := range rules {
		if !r.Want {
			continue
		}
		key := featureOf(r.Name)
		want[key]++
		for h := range hits {
			if strings.HasPrefix(h, r.Name+" ") && strings.HasSuffix(h, " "+r.Path) {
				found[key]++
				break
			}
		}
	}
	total, totalWant := 0, 0
	for k, n := range want {
		total += found[k]
		totalWant += n
		if found[k]*10 < n*8 {
			t.Errorf("feature %s: yara matched %d of %d generated positives", k, found[k], n)
		}
	}
	if totalWant < 100 || total*10 < totalWant*9 {
		t.Errorf("yara matched %d of %d generated positives (want ≥ 90%% of ≥ 100)", total, totalWant)
	}
	t.Logf("%d files, %d rules (%v), yara matched %d of %d positives; %d (rule, file) matches in all",
		len(files), len(rules), made, total, totalWant, len(hits))
}

// compareEngine checks the engine path, where YARA strings join the
// engine's one matcher and the rules are evaluated on its hits: glassav
// scan --allmatch -d rules.yar must report YARA.<rule>.UNOFFICIAL for
// exactly the (rule, file) pairs yara matches, rules without strings
// excepted (clamscan does not report them either). Rules that need
// externals are left out: glassav scan has no -d VAR=VALUE.
func compareEngine(t *testing.T, dir string, rules []YARARule, files []*File, listPath string) {
	t.Helper()
	gl := needGlassav(t)
	if gl == "" {
		return
	}
	stringless := map[string]bool{"int_reads": true, "filesize": true, "hash": true}
	var src strings.Builder
	src.WriteString("import \"hash\"\n")
	for _, r := range rules {
		if featureOf(r.Name) != "externals" {
			src.WriteString(r.Src)
		}
	}
	db := filepath.Join(dir, "engine.yar")
	if err := os.WriteFile(db, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	yo, _ := yaraPair(t, "-w", "-p", "1", "--scan-list", db, listPath)
	var want []Detection
	for h := range ruleHits(yo) {
		rule, path, _ := strings.Cut(h, " ")
		if !stringless[featureOf(rule)] {
			want = append(want, Detection{Path: path, Name: "YARA." + rule + ".UNOFFICIAL"})
		}
	}
	slices.SortFunc(want, func(a, b Detection) int { return strings.Compare(a.String(), b.String()) })
	args := []string{"scan", "--allmatch", "--no-summary", "-d", db, "--"}
	for _, f := range files {
		args = append(args, f.Path)
	}
	got, err := Run(context.Background(), gl, args)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got.Hits, func(a, b Detection) int { return strings.Compare(a.String(), b.String()) })
	onlyY, onlyG := Diff(want, got.Hits)
	if len(onlyY)+len(onlyG) > 0 || len(want) == 0 {
		t.Errorf("glassav scan -d: %d detections, yara %d; only yara: %v\nonly glassav: %v", len(got.Hits), len(want),
			onlyY[:min(20, len(onlyY))], onlyG[:min(20, len(onlyG))])
	}
	t.Logf("glassav scan -d (engine path): %d detections, as yara", len(got.Hits))
}

// featureOf recovers the feature name from a generated rule name
// "y_<n>_<feature>".
func featureOf(name string) string {
	parts := strings.SplitN(name, "_", 3)
	if len(parts) < 3 {
		return name
	}
	return parts[2]
}

// filteredRuleSets writes each shared rule set filtered to the rules that
// use none of modules, and returns their paths by set name.
func filteredRuleSets(t *testing.T, dir string, modules []string) map[string]string {
	t.Helper()
	rdir := filepath.Join(sharedDir(t), "rules")
	sets, err := filepath.Glob(filepath.Join(rdir, "*.all.yar"))
	if err != nil || len(sets) == 0 {
		t.Fatalf("no rule sets in %s: %v", rdir, err)
	}
	out := map[string]string{}
	for _, s := range sets {
		src, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		f, kept, dropped, err := FilterYARA(s, src, modules, nil)
		if err != nil {
			t.Errorf("%s: glassav does not parse it: %v", filepath.Base(s), err)
			continue
		}
		name := strings.TrimSuffix(filepath.Base(s), ".all.yar")
		p := filepath.Join(dir, name+".yar")
		if err := os.WriteFile(p, f, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d rules kept, %d use one of %v", name, len(kept), len(dropped), modules)
		out[name] = p
	}
	return out
}

// TestYARARuleSets compiles every shared rule set (filtered to rules that
// need no binary-format module) with yara and glassav yara and scans an
// empty file: the rules that hold and (with -n) those that do not must be
// the same, which lists every public rule of the set.
func TestYARARuleSets(t *testing.T) {
	testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, p := range filteredRuleSets(t, dir, BinaryModules) {
		t.Run(name, func(t *testing.T) {
			args := append(slices.Clone(yaraExternals), "-w", p, empty)
			yo, gout := yaraPair(t, args...)
			compareLines(t, "matching on an empty file", yo, gout)
			yn, gn := yaraPair(t, append([]string{"-n"}, args...)...)
			compareLines(t, "not matching on an empty file", yn, gn)
			if n := len(ruleHits(yo)) + len(ruleHits(yn)); n == 0 {
				t.Errorf("yara listed no rule of %s", name)
			}
		})
	}
}

// TestYARARuleSetsScan scans a sample of real files with each filtered
// shared rule set: the (rule, file) matches must be identical, and the -s
// output too on a smaller sample. DIFFTEST_YARA_SCAN_FILES sets the sample
// size (bench/yara-diff.sh runs it in full).
func TestYARARuleSetsScan(t *testing.T) {
	testenv.NeedTool(t, "yara")
	if testing.Short() {
		t.Skip("-short: scanning with the public rule sets takes minutes")
	}
	paths, err := ListFiles(yaraRoots(), 1, 8<<20)
	if err != nil || len(paths) == 0 {
		need(t, "files under /usr/bin", fmt.Errorf("%v (%d files)", err, len(paths)))
	}
	g := New(seed(t))
	n := envInt(t, "DIFFTEST_YARA_SCAN_FILES", 40)
	files, err := Sample(g.Rand(), paths, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	list := filepath.Join(dir, "list")
	short := filepath.Join(dir, "short")
	var lb, sb strings.Builder
	for i, f := range files {
		lb.WriteString(f.Path + "\n")
		if i < 8 {
			sb.WriteString(f.Path + "\n")
		}
	}
	os.WriteFile(list, []byte(lb.String()), 0o644)
	os.WriteFile(short, []byte(sb.String()), 0o644)
	total := 0
	for name, p := range filteredRuleSets(t, dir, BinaryModules) {
		t.Run(name, func(t *testing.T) {
			args := append(slices.Clone(yaraExternals), "-w", "-p", "2", "--scan-list", p, list)
			yo, gout := yaraPair(t, args...)
			yh, gh := ruleHits(yo), ruleHits(gout)
			ys := slices.Sorted(func(yield func(string) bool) {
				for k := range yh {
					if !yield(k) {
						return
					}
				}
			})
			gs := slices.Sorted(func(yield func(string) bool) {
				for k := range gh {
					if !yield(k) {
						return
					}
				}
			})
			compareLines(t, "(rule, file) matches", strings.Join(ys, "\n"), strings.Join(gs, "\n"))
			total += len(yh)
			sargs := append(slices.Clone(yaraExternals), "-w", "-s", "-p", "1", "--scan-list", p, short)
			so, sg := yaraPair(t, sargs...)
			compareLines(t, "-s output", so, sg)
			t.Logf("%s: yara %d matches over %d files", name, len(yh), len(files))
		})
	}
	t.Logf("public rule sets: %d (rule, file) matches in all over %d files", total, len(files))
	if total == 0 {
		t.Errorf("yara matched no public rule on %d files: the comparison proves nothing; try another DIFFTEST_SEED", len(files))
	}
}

// TestYARAClamscan loads generated YARA rules as a database of clamscan
// and glassav scan: the detections (YARA.<rule>.UNOFFICIAL) must agree.
// Only rule forms clamscan implements are generated: text and hex strings
// under any/all/and conditions.
func TestYARAClamscan(t *testing.T) {
	cs := needClamscan(t)
	gl := needGlassav(t)
	paths, err := ListFiles(yaraRoots(), 1024, 2<<20)
	if err != nil || len(paths) == 0 {
		need(t, "files under /usr/bin", fmt.Errorf("%v (%d files)", err, len(paths)))
	}
	g := New(seed(t) + 1)
	files, err := Sample(g.Rand(), paths, 12, func(f *File) bool { return IsPlain(f.Data) })
	if err != nil {
		t.Fatal(err)
	}
	forms := []YARAFeature{
		{"text", yText("", false)}, {"hex", yHex(0)}, {"hex-wildcard", yHex(1)},
		{"of-any", yOf("any of them")}, {"of-all", yOf("all of them")}, {"near-miss", yNearMiss},
	}
	var src strings.Builder
	wanted := 0
	for _, f := range files {
		for _, ft := range forms {
			if r, ok := ft.Gen(g, f); ok {
				src.WriteString(r.Src)
				if r.Want {
					wanted++
				}
			}
		}
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "gen.yar")
	os.WriteFile(db, []byte(src.String()), 0o644)
	var fl []string
	for _, f := range files {
		fl = append(fl, f.Path)
	}
	ctx := context.Background()
	want, err := Run(ctx, cs, ClamscanArgs([]string{db}, fl, true))
	if err != nil {
		t.Fatal(err)
	}
	if want.Exit != 1 {
		t.Fatalf("clamscan exit %d, want 1 (detections): %s", want.Exit, firstLines(want.Stderr, 5))
	}
	if gl == "" {
		return
	}
	got, err := Run(ctx, gl, GlassavArgs([]string{db}, fl, true))
	if err != nil {
		t.Fatal(err)
	}
	if got.Exit != want.Exit {
		t.Errorf("glassav exit %d, clamscan %d: %s", got.Exit, want.Exit, firstLines(got.Stderr, 5))
	}
	onlyC, onlyG := Diff(want.Hits, got.Hits)
	if len(onlyC)+len(onlyG) > 0 {
		t.Errorf("only clamscan: %v\nonly glassav: %v", onlyC, onlyG)
	}
	// Without --allmatch both name the same one rule per file.
	want1, err := Run(ctx, cs, ClamscanArgs([]string{db}, fl, false))
	if err != nil {
		t.Fatal(err)
	}
	got1, err := Run(ctx, gl, GlassavArgs([]string{db}, fl, false))
	if err != nil {
		t.Fatal(err)
	}
	if onlyC, onlyG := Diff(want1.Hits, got1.Hits); len(onlyC)+len(onlyG) > 0 || len(want1.Hits) == 0 {
		t.Errorf("without --allmatch: only clamscan: %v\nonly glassav: %v", onlyC, onlyG)
	}
	if len(want.Hits)*10 < wanted*8 {
		t.Errorf("clamscan found %d detections for %d generated positives", len(want.Hits), wanted)
	}
	t.Logf("%d files, %d positives, clamscan %d detections", len(files), wanted, len(want.Hits))
}
