package engine

import (
	"fmt"
	"slices"
	"sync"

	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/ir"
	"github.com/glassav/glassav/match"
)

// Rules is a compiled, immutable rule set. Its methods are safe for
// concurrent use.
type Rules struct {
	set      *ir.Set
	matcher  *match.Matcher
	detector *filetype.Detector

	// byPattern lists, for each pattern, the rules that use it, so a scan
	// evaluates only the rules its hits wake up.
	byPattern [][]int32
	// always lists rules whose condition can hold without any hit (for
	// example "0=0"), evaluated on every object.
	always []int32
	// subIndex maps (rule, pattern) back to the subsignature slot: for each
	// rule, Subs as given by the front end.
	needsExe []bool // rule needs executable info (offsets, EP, sections)

	// textRules is set when some rule can match the text view of a text
	// file (targets 0 and 7).
	textRules bool

	// hits recycles matcher hit buffers between scans.
	hits sync.Pool

	// ignored holds signature names dropped at report time.
	ignored map[string]bool

	// yara holds the YARA rule files, whose strings are patterns of the
	// matcher (yara.go).
	yara []*yaraPart
}

// Compile builds Rules from a loaded intermediate form. The Set must not be
// changed afterwards.
func Compile(set *ir.Set) (*Rules, error) {
	det := filetype.NewDetector()
	if len(set.FileTypes) > 0 {
		// .ftm entries (daily.ftm) extend or override the built-in magic.
		det = det.WithMagic(set.FileTypes)
	}
	return compile(set, det)
}

func compile(set *ir.Set, det *filetype.Detector) (*Rules, error) {
	nodes := make([]*match.Node, len(set.Patterns))
	for i := range set.Patterns {
		nodes[i] = set.Patterns[i].Node
	}
	m, err := match.Compile(nodes, match.Options{})
	if err != nil {
		return nil, fmt.Errorf("compile patterns: %w", err)
	}
	// The matcher holds its own form of the patterns; the syntax trees are
	// garbage from here on (a feed-sized set has ~100,000 of them).
	for i := range set.Patterns {
		set.Patterns[i].Node = nil
	}
	r := &Rules{
		set:       set,
		matcher:   m,
		detector:  det,
		byPattern: make([][]int32, len(set.Patterns)),
		needsExe:  make([]bool, len(set.Rules)),
		ignored:   map[string]bool{},
	}
	normSkipped := 0
	for i := range set.Rules {
		rule := &set.Rules[i]
		if rule.Target == filetype.TargetHTML {
			// HTML signatures are matched by ClamAV on the output of its HTML
			// normaliser (tags, scripts, entities), which glassav does not
			// have; matching them on raw bytes would give other results, so
			// they are left out, counted and reported. ASCII text (target 7)
			// is normalised by textnorm.go.
			normSkipped++
			continue
		}
		if rule.Target == 0 || rule.Target == filetype.TargetASCII {
			r.textRules = true
		}
		for _, p := range rule.Subs {
			if p < 0 || p >= len(set.Patterns) {
				return nil, fmt.Errorf("rule %s (%s:%d): subsignature refers to pattern %d of %d", rule.Name, rule.Source.File, rule.Source.Line, p, len(set.Patterns))
			}
			if l := r.byPattern[p]; len(l) == 0 || l[len(l)-1] != int32(i) {
				r.byPattern[p] = append(r.byPattern[p], int32(i))
			}
			switch set.Patterns[p].Offset.Anchor {
			case ir.AnchorEntryPoint, ir.AnchorSection, ir.AnchorInSection, ir.AnchorLastSection:
				r.needsExe[i] = true
			}
		}
		if rule.EntryPoint.Set || rule.NumSections.Set {
			r.needsExe[i] = true
		}
		if rule.Cond != nil && rule.Cond.Eval(func(int) int { return 0 }) {
			r.always = append(r.always, int32(i))
		}
	}
	if normSkipped > 0 {
		const reason = "target needs ClamAV's HTML normaliser"
		set.Skip(reason, normSkipped)
		set.Warnings = append(set.Warnings, fmt.Sprintf("%d signatures skipped: %s", normSkipped, reason))
	}
	for name, lines := range set.Ignored {
		// An entry bound to a database line's MD5 ignores the signature only
		// while it is unchanged; glassav does not keep line digests, so such
		// entries count as plain name entries only when bound to nothing.
		if slices.Contains(lines, "") {
			r.ignored[name] = true
		}
	}
	set.Hashes.Sort()
	return r, nil
}

// Signatures returns the number of signatures loaded, as clamscan's
// "Known viruses".
func (r *Rules) Signatures() int { return r.set.Signatures }

// Warnings returns the non-fatal diagnostics of the load, one line each.
func (r *Rules) Warnings() []string { return r.set.Warnings }

// Skipped returns the number of signatures not loaded, by reason.
func (r *Rules) Skipped() map[string]int { return r.set.Skipped }

// Detector returns the file-type detector the rules were compiled with.
func (r *Rules) Detector() *filetype.Detector { return r.detector }
