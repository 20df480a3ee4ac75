package yara

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/glassav/glassav/match"
)

// Conditions are compiled into closures over a scanState, one closure type
// per static type. Every closure reports, beside its value, whether the
// value is defined: yara's undefined propagates through most operators
// and makes a rule's condition false.
type (
	intFn   func(*scanState) (int64, bool) // integers and booleans (0 or 1)
	floatFn func(*scanState) (float64, bool)
	strFn   func(*scanState) ([]byte, bool)
	objFn   func(*scanState) *Object // nil when undefined
)

// slot holds one loop variable's current value.
type slot struct {
	i   int64
	f   float64
	s   []byte
	o   *Object
	def bool
}

// scanState is everything one evaluation reads and memoises.
type scanState struct {
	ctx  context.Context
	r    *Rules
	data []byte
	opt  *ScanOptions
	hits func(i int) []match.Hit
	// truncated reports patterns whose hits the matcher cut at its cap
	// (nil when the host does not say).
	truncated func(i int) bool

	// matches[i] are string i's matches, computed on first use.
	matches   [][]StringMatch
	done      []bool
	foundMemo []int8 // found: 0 unknown, 1 yes, -1 no
	scratch   []StringMatch
	bufs      *evalBufs // where matches, done and foundMemo come from
	// matchedPats lists the patterns with hits (nil: not known; anyHit
	// then asks hits for each pattern); ruleHit, filled from it on first
	// use, says which rules have one.
	matchedPats func() []int
	ruleHit     []bool
	ruleHitSet  bool

	matched []bool  // rule i matched (so far)
	exts    []Value // external variables
	vars    []slot  // loop variables
	cur     int     // string of the innermost for … of

	mods     map[string]*Object
	modCtx   map[string]*ScanContext
	shared   *ScanContext
	warnings []string
	steps    int
	err      error
}

// stop reports whether the scan must end (context cancelled or timed
// out); it looks at the context only every few thousand steps.
func (s *scanState) stop() bool {
	if s.err != nil {
		return true
	}
	s.steps++
	if s.steps&0xfff == 0 {
		if err := s.ctx.Err(); err != nil {
			s.err = err
			return true
		}
	}
	return false
}

// stringMatches returns string i's matches: the hits of its patterns
// confirmed by the string's program, sorted by offset, one per offset as
// yara keeps them, capped.
func (s *scanState) stringMatches(i int) []StringMatch {
	if s.done[i] {
		return s.matches[i]
	}
	s.done[i] = true
	s.bufs.touched = append(s.bufs.touched, int32(i))
	cs := &s.r.strs[i]
	limit := s.opt.MaxMatchesPerString
	if limit <= 0 {
		limit = match.DefaultMaxHits
	}
	single := s.opt.FastMode && !cs.counted
	var out []StringMatch
	if !single {
		n := 0
		for _, p := range cs.pats {
			n += len(s.hits(p))
		}
		out = make([]StringMatch, 0, min(n, limit+1))
	}
	for k, p := range cs.pats {
		for _, h := range s.hits(p) {
			if cs.fixed == fixedAt && h.Start != cs.fixedAt {
				continue
			}
			out = cs.prog.confirm(s.data, k, h, out)
			if (single && len(out) > 0) || (len(cs.pats) == 1 && len(out) > limit) {
				break
			}
		}
	}
	if len(cs.pats) > 1 {
		sort.SliceStable(out, func(a, b int) bool { return out[a].Offset < out[b].Offset })
	}
	// One match per offset, as yara's match list keeps them.
	out = slices.CompactFunc(out, func(a, b StringMatch) bool { return a.Offset == b.Offset })
	truncated := len(out) > limit
	if truncated {
		out = out[:limit]
	}
	for _, p := range cs.pats {
		truncated = truncated || (s.truncated != nil && s.truncated(p))
	}
	if truncated {
		s.warnings = append(s.warnings, "too many matches for string "+cs.s.ID+" in rule "+cs.rule.Name)
	}
	s.matches[i] = out
	return out
}

// anyHit reports whether any pattern of the rule's strings has a hit (a
// candidate, not yet confirmed).
func (s *scanState) anyHit(i int, cr *compiledRule) bool {
	if s.matchedPats != nil && s.r.patRule != nil {
		if !s.ruleHitSet {
			s.ruleHitSet = true
			for _, p := range s.matchedPats() {
				ri := s.r.patRule[p]
				if ri >= 0 && !s.ruleHit[ri] {
					s.ruleHit[ri] = true
					s.bufs.hitRules = append(s.bufs.hitRules, ri)
				}
			}
		}
		return s.ruleHit[i]
	}
	for _, si := range cr.strs {
		for _, p := range s.r.strs[si].pats {
			if len(s.hits(p)) > 0 {
				return true
			}
		}
	}
	return false
}

// found reports whether string i has at least one match. It confirms
// hits only until the first match, so a string that merely has to be
// present costs one confirmation, not one per hit.
func (s *scanState) found(i int) bool {
	if s.done[i] {
		return len(s.matches[i]) > 0
	}
	if f := s.foundMemo[i]; f != 0 {
		return f > 0
	}
	cs := &s.r.strs[i]
	res := int8(-1)
scan:
	for k, p := range cs.pats {
		for _, h := range s.hits(p) {
			if cs.fixed == fixedAt && h.Start != cs.fixedAt {
				continue
			}
			if s.scratch = cs.prog.confirm(s.data, k, h, s.scratch[:0]); len(s.scratch) > 0 {
				res = 1
				break scan
			}
		}
	}
	s.foundMemo[i] = res
	s.bufs.touched = append(s.bufs.touched, int32(i))
	return res > 0
}

// module returns the loaded value of module name, loading it on first use.
func (s *scanState) module(name string) *Object {
	if o, ok := s.mods[name]; ok {
		return o
	}
	m := s.r.modules[name]
	if m == nil {
		s.mods[name] = nil
		return nil
	}
	o, err := m.Load(s.scanContext(name))
	if err != nil {
		s.warnings = append(s.warnings, "module "+name+": "+err.Error())
		o = nil
	}
	s.mods[name] = o
	return o
}

// scanContext returns the context module functions of module name see.
func (s *scanState) scanContext(name string) *ScanContext {
	if sc, ok := s.modCtx[name]; ok {
		return sc
	}
	sc := &ScanContext{Data: s.data, Now: s.shared.Now, Console: s.shared.Console}
	if s.opt.ModuleData != nil {
		sc.ModuleData = s.opt.ModuleData[name]
	}
	s.modCtx[name] = sc
	return sc
}

// evaluate runs every rule's condition over data; hits gives the hits of
// pattern i (of r.nodes), and is called only when a condition needs them.
//
// When skip is not nil, evaluate first decides every rule's cheap
// conjuncts (filesize bounds, header reads, externals) and passes skip the
// patterns of the rules they rule out, before anything can need a search:
// the search then leaves those patterns out.
//
// matched, when not nil, lists the patterns with hits (calling it may
// start the search, as calling hits does).
func (r *Rules) evaluate(ctx context.Context, data []byte, hits func(i int) []match.Hit, truncated func(i int) bool, matched func() []int, opt *ScanOptions, skip func(mask []uint64)) (*Result, error) {
	if opt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opt.Timeout)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := r.evalBufs()
	defer r.putEvalBufs(b)
	s := &scanState{
		ctx:         ctx,
		r:           r,
		data:        data,
		opt:         opt,
		hits:        hits,
		truncated:   truncated,
		matches:     b.matches,
		done:        b.done,
		foundMemo:   b.foundMemo,
		bufs:        b,
		ruleHit:     b.ruleHit,
		matchedPats: matched,
		matched:     b.matched,
		vars:        make([]slot, r.nslots),
		mods:        make(map[string]*Object),
		modCtx:      make(map[string]*ScanContext),
	}
	exts, err := r.externals(opt.Externals)
	if err != nil {
		return nil, err
	}
	s.exts = exts
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	s.shared = &ScanContext{Data: data, Now: now}
	if opt.Console != nil {
		w := opt.Console
		s.shared.Console = func(msg string) { io.WriteString(w, msg+"\n") }
	}
	pre := b.pre
	var mask []uint64
	for i := range r.rules {
		cr := &r.rules[i]
		pre[i] = true
		for _, p := range cr.pre {
			if v, def := p(s); !def || v == 0 {
				pre[i] = false
				break
			}
		}
		if !pre[i] && skip != nil {
			if mask == nil {
				mask = b.skipMask(len(r.nodes))
			}
			for _, pr := range cr.pats {
				setBits(mask, int(pr[0]), int(pr[1]))
			}
		}
	}
	if mask != nil {
		skip(mask)
	}
	failedNS := make(map[int]bool)
	for i := range r.rules {
		cr := &r.rules[i]
		ok := pre[i]
		if ok && cr.needsHit && !s.anyHit(i, cr) {
			ok = false
		}
		if ok {
			v, def := cr.cond(s)
			ok = def && v != 0
		}
		if s.err != nil {
			return nil, fmt.Errorf("scanning: %w", s.err)
		}
		s.matched[i] = ok
		if !ok && cr.global {
			failedNS[cr.ns] = true
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scanning: %w", err)
	}
	res := &Result{Modules: make(map[string]*Object), Rules: make([]RuleResult, 0, r.public)}
	for i := range r.rules {
		cr := &r.rules[i]
		if failedNS[cr.ns] {
			s.matched[i] = false
		}
		if cr.private {
			continue
		}
		rr := RuleResult{Rule: cr.rule, Matched: s.matched[i]}
		if rr.Matched {
			for _, si := range cr.strs {
				rr.Strings = append(rr.Strings, StringMatches{String: r.strs[si].s, Matches: s.stringMatches(si)})
			}
		}
		res.Rules = append(res.Rules, rr)
	}
	// Every imported module is part of the result, as yara loads them all
	// for each scan; conditions load them only when they read them.
	for _, name := range r.imports {
		if o := s.module(name); o != nil {
			res.Modules[name] = o
		}
	}
	res.Warnings = s.warnings
	return res, nil
}

// externals returns the external variables of one scan: the compiled
// defaults overridden by over.
func (r *Rules) externals(over map[string]any) ([]Value, error) {
	if len(over) == 0 {
		return r.extDefs, nil
	}
	exts := slices.Clone(r.extDefs)
	for k, v := range over {
		i, ok := r.extIdx[k]
		if !ok {
			return nil, fmt.Errorf("undefined external variable %q", k)
		}
		x, err := externalValue(v)
		if err != nil {
			return nil, fmt.Errorf("external %s: %w", k, err)
		}
		if x.Kind != exts[i].Kind {
			return nil, fmt.Errorf("external %s: wrong type", k)
		}
		exts[i] = x
	}
	return exts, nil
}

// evalBufs are the per-scan slices sized by the rule set, kept in a pool
// by Rules: with thousands of rules and a hundred thousand strings they
// weigh megabytes, and allocating and clearing them for every small file
// cost more than evaluating it.
type evalBufs struct {
	matches   [][]StringMatch
	done      []bool
	foundMemo []int8
	touched   []int32 // strings whose matches, done or foundMemo were set
	matched   []bool  // cleared after every evaluation: a rule reads its own entry before writing it
	ruleHit   []bool  // set for the rules in hitRules
	hitRules  []int32
	pre       []bool // fully written by every evaluation
	mask      []uint64
}

// evalBufs returns cleared buffers for one evaluation.
func (r *Rules) evalBufs() *evalBufs {
	if b, ok := r.bufs.Get().(*evalBufs); ok {
		return b
	}
	return &evalBufs{
		matches:   make([][]StringMatch, len(r.strs)),
		done:      make([]bool, len(r.strs)),
		foundMemo: make([]int8, len(r.strs)),
		matched:   make([]bool, len(r.rules)+1),
		pre:       make([]bool, len(r.rules)),
		ruleHit:   make([]bool, len(r.rules)),
	}
}

// putEvalBufs clears what an evaluation set in b and returns it to the
// pool. Nothing of b escapes an evaluation: results get the match
// slices, not the table holding them.
func (r *Rules) putEvalBufs(b *evalBufs) {
	for _, i := range b.touched {
		b.matches[i], b.done[i], b.foundMemo[i] = nil, false, 0
	}
	b.touched = b.touched[:0]
	for _, i := range b.hitRules {
		b.ruleHit[i] = false
	}
	b.hitRules = b.hitRules[:0]
	clear(b.matched)
	r.bufs.Put(b)
}

// skipMask returns a zeroed mask of n bits.
func (b *evalBufs) skipMask(n int) []uint64 {
	if b.mask == nil {
		b.mask = make([]uint64, (n+63)/64)
	} else {
		clear(b.mask)
	}
	return b.mask
}

// setBits sets bits lo..hi-1 of mask.
func setBits(mask []uint64, lo, hi int) {
	for lo < hi {
		w, b := lo>>6, lo&63
		n := min(64-b, hi-lo)
		bits := ^uint64(0) >> (64 - n) << b
		mask[w] |= bits
		lo += n
	}
}
