package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/glassav/glassav/ir"
	"github.com/glassav/glassav/match"
	"github.com/glassav/glassav/yara"
)

// KindYARA marks a detection by a YARA rule.
const KindYARA MatchKind = "yara"

// yaraPart is the compiled YARA rules of one rule file. Their strings are
// patterns of the engine's one matcher, numbered from base; a scan hands
// the hits of those patterns to yara.Rules.Evaluate.
type yaraPart struct {
	file  string
	rules *yara.Rules
	base  int
	n     int
}

// isYARAFile reports whether name is a YARA rule file by its extension, as
// clamscan recognises them in a database directory.
func isYARAFile(name string) bool {
	switch filepath.Ext(name) {
	case ".yar", ".yara":
		return true
	}
	return false
}

// yaraFiles lists the YARA rule files among database paths: the paths
// that are such files, and in directories (not descending, as clamscan -d
// DIR) those entries, in name order.
func yaraFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if isYARAFile(p) {
				out = append(out, p)
			}
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !e.IsDir() && isYARAFile(e.Name()) {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
	}
	return out, nil
}

// loadYARA compiles each YARA file on its own and adds its strings to the
// set's patterns. As in clamscan, a file that does not compile is skipped
// with a warning rather than failing the load, and a rule without strings
// is never reported (clamscan drops it: "yara rule contains no supported
// strings"); such rules still count for other rules' conditions.
//
// Each file is its own namespace, so two files may declare the same rule
// name (clamscan keeps the first and warns).
func loadYARA(ctx context.Context, set *ir.Set, files []string) ([]*yaraPart, error) {
	var parts []*yaraPart
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("yara %s: %w", name, err)
		}
		rules, f, err := compileYARA(name, src)
		if err != nil {
			set.Warnings = append(set.Warnings, fmt.Sprintf("yara %s: %v; file skipped", name, err))
			set.Skip("YARA file does not compile", 1)
			continue
		}
		p := &yaraPart{file: name, rules: rules, base: len(set.Patterns)}
		for _, n := range rules.Patterns() {
			set.AddPattern(ir.Pattern{Node: n})
		}
		p.n = len(set.Patterns) - p.base
		reportable, stringless := countYARARules(f)
		set.Signatures += reportable
		if stringless > 0 {
			set.Skip("YARA rule without strings", stringless)
			set.Warnings = append(set.Warnings, fmt.Sprintf("yara %s: %d rules without strings are not reported, as in clamscan", name, stringless))
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// compileYARA compiles one database file. Includes are disabled: database
// directories are filled by updates, and a rule file must not make the
// scanner read other files (bundle.CheckDir compiles them the same way).
func compileYARA(name string, src []byte) (*yara.Rules, *yara.File, error) {
	f, err := yara.Parse(name, src, &yara.Config{Namespace: name})
	if err != nil {
		return nil, nil, err
	}
	rules, _, err := yara.Compile(nil, f)
	return rules, f, err
}

// countYARARules counts the rules a scan can report (public, with strings)
// and the public rules without strings.
func countYARARules(f *yara.File) (reportable, stringless int) {
	for _, r := range f.Rules {
		switch {
		case r.Private:
		case len(r.Strings) > 0:
			reportable++
		default:
			stringless++
		}
	}
	return reportable, stringless
}

// evalYARA evaluates the YARA rules over the object given the matcher's
// hits, and returns their detections in rule order. An evaluation error
// (a timeout) becomes a warning of the result.
func (s *objectScan) evalYARA(ctx context.Context, hits *match.Hits) []Match {
	var out []Match
	opt := &yara.ScanOptions{}
	if s.exe != nil {
		ep := s.exe.EntryPoint
		opt.EntryPoint = &ep
	}
	for _, p := range s.r.yara {
		res, err := p.rules.Evaluate(ctx, s.o.Data, func(i int) []match.Hit {
			if i < 0 || i >= p.n {
				return nil
			}
			return hits.Of(p.base + i)
		}, opt)
		if err != nil {
			s.res.Warnings = append(s.res.Warnings, fmt.Sprintf("yara %s: %v", p.file, err))
			continue
		}
		for _, rr := range res.Rules {
			if !rr.Matched || len(rr.Rule.Strings) == 0 {
				continue
			}
			out = append(out, yaraMatch(&rr))
		}
	}
	return out
}

// yaraMatch names a YARA detection as clamscan does, YARA.<rule>.UNOFFICIAL,
// with the rule's metadata for the JSON report.
func yaraMatch(rr *yara.RuleResult) Match {
	r := rr.Rule
	m := Match{
		Name:   "YARA." + r.Name + ".UNOFFICIAL",
		Kind:   KindYARA,
		Source: ir.Source{File: r.Pos.File, Line: r.Pos.Line},
		Offset: -1,
	}
	for _, sm := range rr.Strings {
		for _, x := range sm.Matches {
			if m.Offset < 0 || x.Offset < m.Offset {
				m.Offset = x.Offset
			}
		}
	}
	if len(r.Meta) > 0 {
		m.Meta = make(map[string]any, len(r.Meta))
		for _, md := range r.Meta {
			if _, dup := m.Meta[md.Key]; !dup {
				m.Meta[md.Key] = md.Value
			}
		}
	}
	if len(r.Tags) > 0 {
		m.Tags = slices.Clone(r.Tags)
	}
	return m
}
