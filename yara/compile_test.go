package yara

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
)

// compileSupported compiles the rules of f that import only built-in
// modules, dropping (as a host filtering rule sets does) rules that fail
// to compile and the rules that refer to them, one at a time.
func compileSupported(t testing.TB, f *File) (*Rules, int) {
	t.Helper()
	have := make(map[string]bool)
	for _, m := range Builtin() {
		have[m.Name()] = true
	}
	var kept []*Rule
	for _, r := range f.Rules {
		ok := true
		walkExpr(r.Condition, func(e Expr) {
			if id, isID := e.(*Ident); isID && slices.Contains(DefaultModules(), id.Name) && !have[id.Name] {
				ok = false
			}
		})
		if ok {
			kept = append(kept, r)
		}
	}
	var imports []*Import
	for _, imp := range f.Imports {
		if have[imp.Module] {
			imports = append(imports, imp)
		}
	}
	for tries := 0; tries < 200; tries++ {
		g := &File{Name: f.Name, Namespace: f.Namespace, Imports: imports, Rules: kept}
		r, _, err := Compile(&CompileConfig{Externals: lokiExternals}, g)
		if err == nil {
			return r, len(kept)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: %v", f.Name, err)
		}
		// Drop the rule the error points into.
		i := slices.IndexFunc(kept, func(r *Rule) bool { return r.Pos.Line > e.Pos.Line })
		if i < 0 {
			i = len(kept)
		}
		if i == 0 {
			t.Fatalf("%s: %v", f.Name, err)
		}
		t.Logf("%s: dropping rule %s: %v", filepath.Base(f.Name), kept[i-1].Name, err)
		kept = slices.Delete(kept, i-1, i)
	}
	t.Fatalf("%s: too many rules fail to compile", f.Name)
	return nil, 0
}

// TestCompileRuleSets compiles every public rule set of shared/rules
// (the rules needing only built-in modules) and scans a few real files
// with it, reporting compile and scan times.
func TestCompileRuleSets(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: compiles 20,000 rules (-short)")
	}
	dir := sharedDir(t, "rules")
	files, _ := filepath.Glob(filepath.Join(dir, "*.all.yar"))
	samples := testenv.Files(20, 4<<20, "/usr/bin/*")
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(path, src, nil)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r, n := compileSupported(t, f)
		compiled := time.Since(start)
		if n < len(f.Rules)/4 {
			t.Errorf("%s: only %d of %d rules compiled", filepath.Base(path), n, len(f.Rules))
		}
		// The saved form must load back to rules that decide the same.
		var buf bytes.Buffer
		if err := r.Save(&buf); err != nil {
			t.Fatal(err)
		}
		loadStart := time.Now()
		r2, err := Load(&buf)
		if err != nil {
			t.Fatalf("%s: load: %v", filepath.Base(path), err)
		}
		loaded := time.Since(loadStart)
		start = time.Now()
		size, hits := 0, 0
		for _, p := range samples {
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			res, err := r.Scan(context.Background(), data, nil)
			if err != nil {
				t.Fatalf("%s: %s: %v", filepath.Base(path), p, err)
			}
			size += len(data)
			hits += len(res.Matched())
			res2, err := r2.Scan(context.Background(), data, nil)
			if err != nil {
				t.Fatalf("%s: %s: loaded rules: %v", filepath.Base(path), p, err)
			}
			if a, b := strings.Join(matchedNames(res), ","), strings.Join(matchedNames(res2), ","); a != b {
				t.Errorf("%s: %s: compiled rules match %q, loaded rules %q", filepath.Base(path), p, a, b)
			}
		}
		t.Logf("%s: saved %d KB, loaded in %v", filepath.Base(path), buf.Cap()>>10, loaded.Round(time.Millisecond))
		t.Logf("%s: %d/%d rules, %d patterns, compile %v; %d files (%d KB) scanned in %v, %d matches",
			filepath.Base(path), n, len(f.Rules), len(r.nodes), compiled.Round(time.Millisecond),
			len(samples), size>>10, time.Since(start).Round(time.Millisecond), hits)
	}
}

// TestSlowWarningsDifferential compares the "may slow down scanning"
// warnings (line and string) of every public rule set with yara 4.2.3's.
func TestSlowWarningsDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: runs yara over 20,000 rules (-short)")
	}
	yara := testenv.NeedTool(t, "yara")
	dir := sharedDir(t, "rules")
	files, _ := filepath.Glob(filepath.Join(dir, "*.all.yar"))
	re := regexp.MustCompile(`\((\d+)\): string "([^"]*)" may slow down scanning`)
	total := 0
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(path, src, nil)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := Check(&CheckConfig{Externals: lokiExternals}, f)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		var ours []string
		for _, w := range ws {
			if strings.HasSuffix(w.Msg, "may slow down scanning") {
				ours = append(ours, fmt.Sprintf("%d %s", w.Pos.Line, strings.Fields(w.Msg)[1]))
			}
		}
		args := []string{}
		for k := range lokiExternals {
			args = append(args, "-d", k+"=")
		}
		out, err := exec.Command(yara, append(args, path, os.DevNull)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: yara: %v\n%.500s", filepath.Base(path), err, out)
		}
		var peer []string
		for _, m := range re.FindAllStringSubmatch(string(out), -1) {
			peer = append(peer, fmt.Sprintf("%s %q", m[1], m[2]))
		}
		slices.Sort(ours)
		slices.Sort(peer)
		if !slices.Equal(ours, peer) {
			t.Errorf("%s: warnings differ:\nglassav %v\nyara    %v", filepath.Base(path), ours, peer)
		}
		total += len(peer)
	}
	if total < 100 {
		t.Errorf("yara gave only %d slow-string warnings over the rule sets", total)
	}
	t.Logf("%d slow-string warnings, all as yara's", total)
}
