package bundle

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/glassav/glassav/engine"
	"github.com/glassav/glassav/yara"
)

// CheckResult is what test-compiling a set of databases found.
type CheckResult struct {
	// Signatures is clamscan's "Known viruses" for the databases, which
	// counts the rules of YARA files too.
	Signatures int
	// YARA is the number of YARA rules compiled.
	YARA int
	// Warnings are the engine's load warnings (formats skipped and the like).
	Warnings []string
}

// CheckDir test-compiles the databases in dir the way the scanner and the
// daemon load them: the ClamAV files with engine.Load over dir, the YARA
// files (names listed in yara, relative slash paths; nil means every
// top-level .yar and .yara of dir) with package yara, includes disabled.
// Any error means the databases must not be published or installed.
func CheckDir(ctx context.Context, dir string, yaraFiles []string) (*CheckResult, error) {
	rules, err := engine.Load(ctx, engine.LoadOptions{Paths: []string{dir}})
	if err != nil {
		return nil, fmt.Errorf("test-compile: %w", err)
	}
	res := &CheckResult{Signatures: rules.Signatures(), Warnings: rules.Warnings()}
	if yaraFiles == nil {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if isYARA(e.Name()) && e.Type().IsRegular() {
				yaraFiles = append(yaraFiles, e.Name())
			}
		}
	}
	if len(yaraFiles) > 0 {
		if res.YARA, err = checkYARA(dir, yaraFiles); err != nil {
			return nil, fmt.Errorf("test-compile: %w", err)
		}
	}
	return res, nil
}

// CheckFiles test-compiles files (name to content) by writing them to a
// temporary directory and running CheckDir.
func CheckFiles(ctx context.Context, files map[string][]byte) (*CheckResult, error) {
	dir, err := os.MkdirTemp("", "glassav-check-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var yaraFiles []string
	for name, data := range files {
		if err := ValidName(name); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		if isYARA(name) {
			yaraFiles = append(yaraFiles, name)
		}
	}
	slices.Sort(yaraFiles)
	if yaraFiles == nil {
		yaraFiles = []string{}
	}
	return CheckDir(ctx, dir, yaraFiles)
}

func isYARA(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yar" || ext == ".yara"
}

// checkYARA parses, checks and compiles each YARA file on its own, in its
// own namespace, as the engine loads them; includes are refused, since a
// bundle must be self-contained. It returns the number of rules. The
// engine skips a YARA file that does not compile with a warning, as
// clamscan does; a bundle holding one is refused instead.
func checkYARA(dir string, names []string) (rules int, err error) {
	for _, n := range names {
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n)))
		if err != nil {
			return 0, err
		}
		f, err := yara.Parse(n, src, &yara.Config{Namespace: n})
		if err != nil {
			return 0, fmt.Errorf("yara %s: %w", n, err)
		}
		if _, _, err := yara.Compile(nil, f); err != nil {
			return 0, fmt.Errorf("yara %s: %w", n, err)
		}
		rules += len(f.Rules)
	}
	return rules, nil
}
