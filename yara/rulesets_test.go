package yara

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// lokiExternals are the LOKI/THOR variables signature-base rules use, plus
// the file_type one inquest-vt uses (see shared/rules/manifests).
var lokiExternals = map[string]any{
	"filename": "", "filepath": "", "extension": "", "filetype": "", "owner": "", "file_type": "",
}

// TestRuleSets parses and checks every public rule set in shared/rules.
func TestRuleSets(t *testing.T) {
	dir := sharedDir(t, "rules")
	files, err := filepath.Glob(filepath.Join(dir, "*.all.yar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.all.yar in %s", dir)
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		f, err := Parse(path, src, nil)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
			continue
		}
		parsed := time.Since(start)
		ws, err := Check(&CheckConfig{Externals: lokiExternals}, f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
			continue
		}
		t.Logf("%s: %d rules, %d KB, parse %v, check %v, %d warnings",
			filepath.Base(path), len(f.Rules), len(src)>>10, parsed.Round(time.Millisecond),
			(time.Since(start) - parsed).Round(time.Millisecond), len(ws))
	}
}

func BenchmarkParseSignatureBase(b *testing.B) {
	dir := sharedDir(b, "rules")
	src, err := os.ReadFile(filepath.Join(dir, "signature-base.all.yar"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("signature-base.all.yar", src, nil); err != nil {
			b.Fatal(err)
		}
	}
}
