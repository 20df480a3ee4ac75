package yara

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/glassav/glassav/match"
)

// This file is the package's API for hosts (the CLI and the engine):
// compiling rules, scanning with the rules' own matcher or evaluating the
// hits of a host's matcher. Compile is in compile.go, the evaluator in
// eval*.go, Save and Load in save.go.

// CompileConfig controls Compile.
type CompileConfig struct {
	// Externals are the external variables with their default values:
	// bool, int64 (or int), float64 or string.
	Externals map[string]any
	// Modules are the modules rules may import; nil means Builtin().
	Modules []Module
	// MaxStringsPerRule: yara's limit (10,000 by default; 0 = default).
	MaxStringsPerRule int
}

// Rules is a compiled rule set. It is immutable and safe for concurrent
// scans.
type Rules struct {
	files   []*File // the checked sources, for Save
	rules   []compiledRule
	strs    []compiledString
	nodes   []*match.Node // the patterns of all strings, in string order
	matcher *match.Matcher
	modules map[string]Module
	imports []string // modules imported by any file, in order
	nslots  int      // loop variable slots a scan needs

	extNames []string // external variables, sorted
	extDefs  []Value
	extIdx   map[string]int

	cfg    CompileConfig // as compiled, for Save
	hits   sync.Pool     // *match.Hits
	bufs   sync.Pool     // *evalBufs
	public int           // rules that are not private
	// patRule maps each pattern to the rule whose string it belongs to;
	// nil when some pattern belongs to several (never, as compiled now).
	patRule []int32
}

// Compile checks and compiles parsed files (in order) into Rules. It
// returns yara's warnings beside the rules, and the first error.

// ScanOptions controls one scan.
type ScanOptions struct {
	// Externals override the compiled defaults for this scan.
	Externals map[string]any
	// ModuleData is data passed to modules by name (yara -x).
	ModuleData map[string][]byte
	// Timeout bounds the scan (yara -a); 0 means none.
	Timeout time.Duration
	// FastMode: a string matched once is not searched further (yara -f).
	FastMode bool
	// MaxMatchesPerString caps matches kept per string (default 1,000,000).
	MaxMatchesPerString int
	// Workers searches large data on several goroutines (0 or 1: one).
	Workers int
	// Console receives console module output; nil discards it.
	Console io.Writer
	// Now is time.now() for the scan; zero means the wall clock.
	Now time.Time
	// EntryPoint is the file offset of the entry point, when the caller
	// knows it (the engine does); nil lets the evaluator leave it undefined
	// until the pe/elf modules (issue #4) provide it.
	EntryPoint *int64
}

// Result is the outcome of one scan.
type Result struct {
	// Rules are all non-private rules, in declaration order, with whether
	// each matched (yara -n prints the others).
	Rules []RuleResult
	// Modules are the module values loaded for this scan (yara -D).
	Modules map[string]*Object
	// Warnings: strings that hit the match cap, a timeout, ...
	Warnings []string
}

// Matched returns the results of the matching rules.
func (r *Result) Matched() []RuleResult {
	var out []RuleResult
	for _, x := range r.Rules {
		if x.Matched {
			out = append(out, x)
		}
	}
	return out
}

// RuleResult is one rule's outcome.
type RuleResult struct {
	Rule    *Rule // the declaration (name, namespace, tags, meta, strings)
	Matched bool
	// Strings holds, for every string of the rule in declaration order
	// (private ones included, flagged by their String), its matches.
	Strings []StringMatches
}

// StringMatches are the matches of one string.
type StringMatches struct {
	String  *String
	Matches []StringMatch
}

// StringMatch is one match of a string.
type StringMatch struct {
	Offset int64
	Length int64
	Data   []byte // up to 512 bytes, as yara keeps
	// XorKey is the key of an xor string's match (HasXorKey set).
	XorKey    byte
	HasXorKey bool
}

// Scan compiles nothing and searches data with the rules' own matcher,
// then evaluates every rule.
func (r *Rules) Scan(ctx context.Context, data []byte, opt *ScanOptions) (*Result, error) {
	if opt == nil {
		opt = &ScanOptions{}
	}
	if opt.Timeout > 0 {
		// The deadline covers the search too, not only the conditions.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opt.Timeout)
		defer cancel()
	}
	var h *match.Hits
	var scanErr error
	var skip []uint64 // patterns of rules ruled out before the search
	defer func() {
		if h != nil {
			r.hits.Put(h)
		}
	}()
	// The search runs when a condition first needs a string, so rules
	// decided by filesize, header bytes or modules cost no search.
	hits := func(i int) []match.Hit {
		if h == nil {
			if x, ok := r.hits.Get().(*match.Hits); ok {
				h = x
			} else {
				h = match.NewHits()
			}
			workers := opt.Workers
			if workers < 1 {
				workers = 1
			}
			if err := r.matcher.ScanMasked(ctx, data, workers, h, skip); err != nil {
				scanErr = err
				h.Reset()
			}
		}
		if scanErr != nil {
			return nil
		}
		return h.Of(i)
	}
	truncated := func(i int) bool { return h != nil && h.Truncated(i) }
	// The patterns with hits, from the matcher's own list, so that deciding
	// which rules have a hit costs no look at every pattern of every rule.
	matched := func() []int {
		if hits(0); scanErr != nil {
			return nil
		}
		return h.Matched()
	}
	res, err := r.evaluate(ctx, data, hits, truncated, matched, opt, func(m []uint64) { skip = m })
	if err == nil && scanErr != nil {
		return nil, fmt.Errorf("searching: %w", scanErr)
	}
	return res, err
}

// Patterns returns the byte patterns of all strings of all rules, for a
// host (the engine) that searches them in its own matcher together with
// other patterns. Evaluate then takes the hits.
func (r *Rules) Patterns() []*match.Node {
	return slices.Clone(r.nodes)
}

// Evaluate evaluates every rule over data given the hits of Patterns()
// found by the host: hits(i) returns the hits of pattern i, sorted by start.
func (r *Rules) Evaluate(ctx context.Context, data []byte, hits func(i int) []match.Hit, opt *ScanOptions) (*Result, error) {
	if opt == nil {
		opt = &ScanOptions{}
	}
	if hits == nil {
		hits = func(int) []match.Hit { return nil }
	}
	return r.evaluate(ctx, data, hits, nil, nil, opt, nil)
}
