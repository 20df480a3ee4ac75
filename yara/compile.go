package yara

import (
	"fmt"
	"slices"

	"github.com/glassav/glassav/match"
)

// defaultMaxStrings is yara's DEFAULT_MAX_STRINGS_PER_RULE.
const defaultMaxStrings = 10000

// compiledRule is one rule ready to evaluate.
type compiledRule struct {
	rule *Rule
	cond intFn
	// pre are the cheap top-level conjuncts of the condition (filesize
	// bounds, header reads, externals): evaluated before anything that
	// needs the search, a false or undefined one decides the rule.
	pre  []intFn
	strs []int // indices in Rules.strs
	// pats are the patterns of the rule's strings, as ranges [lo, hi) of
	// indices in Rules.nodes, for the skip mask.
	pats [][2]int32
	ns   int
	// global and private are the rule's flags, copied beside the
	// condition: evaluation reads them for every rule on every file.
	global, private bool
	// needsHit says the condition is false unless one of the rule's
	// strings matched (requiresMatch), and has no side effect (console):
	// without a hit for any of its strings the rule is not evaluated.
	needsHit bool
}

// compiledString is one string of one rule and its patterns.
type compiledString struct {
	s    *String
	rule *Rule
	prog *stringProg
	pats []int // indices in Rules.nodes, one per prog.nodes()
	// counted: the condition reads #, @ or ! of the string, so fast mode
	// must keep all its matches.
	counted bool
	// fixed says whether every use of the string in the condition is
	// `$s at N` with one constant N (fixedAt). yara then looks for the
	// string at N only, so matches elsewhere exist neither for the
	// condition nor in -s output; glassav drops them the same way.
	fixed   fixedState
	fixedAt int64
}

// fixedState tracks whether a string is only ever used at one constant
// offset.
type fixedState uint8

const (
	fixedUnseen fixedState = iota // no use compiled yet
	fixedAt                       // every use so far is `at fixedAt`
	fixedNot                      // some use looks elsewhere
)

// use records one use of string i: at is the constant offset of a
// `$s at N` use (ok), anything else passes ok false.
func (cs *compiledString) use(at int64, ok bool) {
	switch {
	case !ok:
		cs.fixed = fixedNot
	case cs.fixed == fixedUnseen:
		cs.fixed, cs.fixedAt = fixedAt, at
	case cs.fixed == fixedAt && cs.fixedAt != at:
		cs.fixed = fixedNot
	}
}

// constOffset returns the value of e when yara folds it to a constant
// integer at compile time (literals and + - * \ of them).
func constOffset(e Expr) (int64, bool) {
	switch e := e.(type) {
	case *IntLit:
		return e.Value, true
	case *Unary:
		if e.Op == Minus {
			if v, ok := constOffset(e.X); ok {
				return fold(Minus, 0, v)
			}
		}
	case *Binary:
		x, ok := constOffset(e.X)
		if !ok {
			return 0, false
		}
		y, ok := constOffset(e.Y)
		if !ok || (e.Op == Backslash && y == 0) {
			return 0, false
		}
		return fold(e.Op, x, y)
	}
	return 0, false
}

// Compile checks and compiles parsed files (in order) into Rules. It
// returns yara's warnings beside the rules, and the first error.
//
// Checking annotates the files' trees (types, resolved names), so a tree
// may be compiled again but not by two goroutines at once; the Rules keep
// the trees (Save prints them).
func Compile(cfg *CompileConfig, files ...*File) (*Rules, []*Error, error) {
	if cfg == nil {
		cfg = &CompileConfig{}
	}
	mods := cfg.Modules
	if mods == nil {
		mods = Builtin()
	}
	r := &Rules{files: files, modules: make(map[string]Module), extIdx: make(map[string]int), cfg: *cfg}
	ccfg := &CheckConfig{Externals: cfg.Externals, Modules: []string{}, Schemas: make(map[string]*Object)}
	for _, m := range mods {
		r.modules[m.Name()] = m
		ccfg.Modules = append(ccfg.Modules, m.Name())
		ccfg.Schemas[m.Name()] = m.Declare()
	}
	ch, warns, err := check(ccfg, files)
	if err != nil {
		return nil, warns, err
	}
	names := make([]string, 0, len(cfg.Externals))
	for k := range cfg.Externals {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v, err := externalValue(cfg.Externals[k])
		if err != nil {
			return nil, warns, fmt.Errorf("external %s: %w", k, err)
		}
		r.extIdx[k] = len(r.extNames)
		r.extNames = append(r.extNames, k)
		r.extDefs = append(r.extDefs, v)
	}
	maxStrings := cfg.MaxStringsPerRule
	if maxStrings <= 0 {
		maxStrings = defaultMaxStrings
	}
	c := &compiler{r: r, objs: ch.objs, strIdx: make(map[*String]int), ruleIdx: make(map[*Rule]int)}
	nsIdx := make(map[string]int)
	err = func() (err error) {
		defer func() {
			if x := recover(); x != nil {
				b, ok := x.(bailout)
				if !ok {
					panic(x)
				}
				err = b.err
			}
		}()
		for _, f := range files {
			for _, imp := range f.Imports {
				if !slices.Contains(r.imports, imp.Module) {
					r.imports = append(r.imports, imp.Module)
				}
			}
			ns, ok := nsIdx[f.Namespace]
			if !ok {
				ns = len(nsIdx)
				nsIdx[f.Namespace] = ns
			}
			for _, rule := range f.Rules {
				if len(rule.Strings) > maxStrings {
					c.fail(rule.Pos, "too many strings in rule %q (limit: %d)", rule.Name, maxStrings)
				}
				c.compileRule(rule, ns)
			}
		}
		return nil
	}()
	if err != nil {
		return nil, warns, err
	}
	r.nslots = c.maxSlots
	for i := range r.rules {
		if !r.rules[i].rule.Private {
			r.public++
		}
	}
	r.indexPatterns()
	if len(r.nodes) > 0 {
		m, err := match.Compile(r.nodes, match.Options{})
		if err != nil {
			return nil, warns, fmt.Errorf("compiling patterns: %w", err)
		}
		r.matcher = m
	}
	return r, warns, nil
}

// externalValue normalises an external variable's value.
func externalValue(v any) (Value, error) {
	switch v := v.(type) {
	case bool:
		if v {
			return Value{Kind: KindInt, Int: 1}, nil
		}
		return Value{Kind: KindInt}, nil
	case int:
		return Value{Kind: KindInt, Int: int64(v)}, nil
	case int64:
		return Value{Kind: KindInt, Int: v}, nil
	case float64:
		return Value{Kind: KindFloat, Float: v}, nil
	case string:
		return Value{Kind: KindString, Str: []byte(v)}, nil
	}
	return Value{}, fmt.Errorf("unsupported type %T", v)
}

// compiler turns checked conditions into closures.
type compiler struct {
	r       *Rules
	objs    map[Expr]*Object
	strIdx  map[*String]int
	ruleIdx map[*Rule]int

	// Per rule.
	cur      *Rule
	scope    []scopeVar
	maxSlots int
	curSet   []int // strings of the innermost for … of
}

type scopeVar struct {
	name string
	slot int
}

func (c *compiler) fail(pos Pos, format string, args ...any) {
	panic(bailout{errorf(pos, format, args...)})
}

func (c *compiler) compileRule(rule *Rule, ns int) {
	c.cur, c.scope = rule, nil
	cr := compiledRule{rule: rule, ns: ns, global: rule.Global, private: rule.Private}
	for _, s := range rule.Strings {
		p, err := compileString(s)
		if err != nil {
			c.fail(s.Pos, "%v", err)
		}
		cs := compiledString{s: s, rule: rule, prog: p}
		for _, n := range p.nodes() {
			cs.pats = append(cs.pats, len(c.r.nodes))
			c.r.nodes = append(c.r.nodes, n)
		}
		c.strIdx[s] = len(c.r.strs)
		cr.strs = append(cr.strs, len(c.r.strs))
		c.r.strs = append(c.r.strs, cs)
	}
	for _, x := range conjuncts(rule.Condition, nil) {
		if cheap(x) {
			cr.pre = append(cr.pre, c.bool(x))
		}
	}
	cr.cond = c.bool(rule.Condition)
	cr.needsHit = len(cr.strs) > 0 && requiresMatch(rule.Condition) && !usesModule(rule.Condition, "console")
	c.ruleIdx[rule] = len(c.r.rules)
	c.r.rules = append(c.r.rules, cr)
}

// conjuncts flattens the top-level `and` chain of e.
func conjuncts(e Expr, dst []Expr) []Expr {
	if b, ok := e.(*Binary); ok && b.Op == KwAnd {
		return conjuncts(b.Y, conjuncts(b.X, dst))
	}
	return append(dst, e)
}

// cheap reports whether e depends only on the data's size and bytes and
// on externals, with no loop: what can be decided before any search.
func cheap(e Expr) bool {
	switch e := e.(type) {
	case *BoolLit, *IntLit, *FloatLit, *StringLit, *RegexpLit:
		return true
	case *Keyword:
		return e.Kind == Filesize
	case *Ident:
		return e.Kind == IdentExternal
	case *Read:
		return cheap(e.Offset)
	case *Unary:
		return cheap(e.X)
	case *Binary:
		return cheap(e.X) && cheap(e.Y)
	}
	return false
}

// indexPatterns records, per rule, its patterns as ranges, and per pattern
// its rule: evaluation marks the patterns of rules ruled out by their cheap
// conjuncts range by range, and finds the rules with a hit from the
// matcher's list of patterns with hits, both without a walk over every
// string of every rule on every file.
func (r *Rules) indexPatterns() {
	r.patRule = make([]int32, len(r.nodes))
	for i := range r.patRule {
		r.patRule[i] = -1
	}
	shared := false
	for i := range r.rules {
		cr := &r.rules[i]
		cr.pats = nil
		for _, si := range cr.strs {
			for _, p := range r.strs[si].pats {
				if q := r.patRule[p]; q >= 0 && int(q) != i {
					shared = true
				}
				r.patRule[p] = int32(i)
				if n := len(cr.pats); n > 0 && cr.pats[n-1][1] == int32(p) {
					cr.pats[n-1][1]++
				} else {
					cr.pats = append(cr.pats, [2]int32{int32(p), int32(p) + 1})
				}
			}
		}
	}
	if shared {
		r.patRule = nil
	}
}
