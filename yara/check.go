package yara

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Checker limits, as in yara.
const (
	maxLoopNesting = 4 // YR_MAX_LOOP_NESTING
	maxLoopVars    = 2
)

// DefaultModules returns the modules yara 4.2 ships (plus string, from
// 4.3). Importing anything else is an error.
func DefaultModules() []string {
	return []string{
		"console", "cuckoo", "dex", "dotnet", "elf", "hash", "lnk", "macho",
		"magic", "math", "pe", "string", "tests", "time",
	}
}

// CheckConfig controls checking.
type CheckConfig struct {
	// Externals are the external variables the host defines, with their
	// values: bool, int64 (or int), float64 or string.
	Externals map[string]any
	// Modules are the modules that may be imported; nil means DefaultModules().
	Modules []string
	// Schemas are the declarations (Module.Declare) of the modules, by
	// name. With a schema, member accesses, indexes, calls and loops over
	// module values are typed as yara types them; without one they pass
	// unchecked (TypeUnknown).
	Schemas map[string]*Object
}

// Check resolves and type-checks the rules of files (in order; a rule may
// refer to rules before it in the same namespace) and applies the rules
// yara enforces at compile time. It returns the warnings and the first
// error.
func Check(cfg *CheckConfig, files ...*File) (warnings []*Error, err error) {
	_, warnings, err = check(cfg, files)
	return warnings, err
}

// check is Check returning the checker, whose objs the compiler reads.
func check(cfg *CheckConfig, files []*File) (c *checker, warnings []*Error, err error) {
	if cfg == nil {
		cfg = &CheckConfig{}
	}
	c = &checker{cfg: cfg, namespaces: make(map[string]*namespace), modules: make(map[string]bool), objs: make(map[Expr]*Object)}
	mods := cfg.Modules
	if mods == nil {
		mods = DefaultModules()
	}
	for _, m := range mods {
		c.modules[m] = true
	}
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			err = b.err
		}
		warnings = c.warnings
	}()
	for _, f := range files {
		for _, imp := range f.Imports {
			if imp.Module == "" || strings.IndexByte(imp.Module, 0) >= 0 {
				c.fail(imp.Pos, "invalid module name %q", imp.Module)
			}
			if !c.modules[imp.Module] {
				c.fail(imp.Pos, "unknown module %q", imp.Module)
			}
		}
		ns := c.namespaces[f.Namespace]
		if ns == nil {
			ns = &namespace{rules: make(map[string]*Rule)}
			c.namespaces[f.Namespace] = ns
		}
		for _, r := range f.Rules {
			c.rule(ns, r)
		}
	}
	return c, c.warnings, nil
}

type namespace struct {
	rules     map[string]*Rule
	order     []*Rule
	wildcards []SetItem // rule-set wildcards used so far
}

type loopVar struct {
	name string
	typ  Type
	obj  *Object // declared module value (structure, array, ...), or nil
}

type checker struct {
	cfg        *CheckConfig
	modules    map[string]bool
	namespaces map[string]*namespace
	warnings   []*Error
	// objs holds the declared module object of every expression that
	// denotes a module structure, array, dictionary or function.
	objs map[Expr]*Object

	// Per rule.
	ns      *namespace
	cur     *Rule
	strings map[string]*String
	imports map[string]bool
	vars    []loopVar
	loops   int
	forOf   int
}

func (c *checker) fail(pos Pos, format string, args ...any) {
	panic(bailout{errorf(pos, format, args...)})
}

func (c *checker) warn(pos Pos, format string, args ...any) {
	if len(c.warnings) < 1000 {
		c.warnings = append(c.warnings, errorf(pos, format, args...))
	}
}

func (c *checker) rule(ns *namespace, r *Rule) {
	if _, dup := ns.rules[r.Name]; dup {
		c.fail(r.Pos, "duplicated identifier %q", r.Name)
	}
	if _, ext := c.cfg.Externals[r.Name]; ext {
		c.fail(r.Pos, "duplicated identifier %q", r.Name)
	}
	for _, w := range ns.wildcards {
		if strings.HasPrefix(r.Name, w.Name) {
			c.fail(r.Pos, "rule identifier %q matches previously used wildcard rule set", r.Name)
		}
	}
	seen := make(map[string]bool)
	for i, t := range r.Tags {
		if seen[t] {
			c.fail(r.TagPos[i], "duplicated tag identifier %q", t)
		}
		seen[t] = true
	}
	c.ns, c.cur = ns, r
	c.strings = make(map[string]*String)
	c.imports = make(map[string]bool)
	for _, m := range r.Imports {
		c.imports[m] = true
	}
	c.vars, c.loops, c.forOf = nil, 0, 0
	for _, s := range r.Strings {
		c.str(s)
	}
	// The rule is visible in its own condition, as in yara (rule a's
	// condition may say `a` or `1 of (a*)`).
	ns.rules[r.Name] = r
	ns.order = append(ns.order, r)
	c.body(r.Condition)
	for _, s := range r.Strings {
		if !s.Referenced && !strings.HasPrefix(s.ID, "$_") {
			c.fail(s.Pos, "unreferenced string %q", s.ID)
		}
	}
}

// str checks one string declaration.
func (c *checker) str(s *String) {
	if s.ID != "$" {
		if _, dup := c.strings[s.ID]; dup {
			c.fail(s.Pos, "duplicated string identifier %q", s.ID)
		}
		c.strings[s.ID] = s
	}
	m := &s.Mods
	at := func(name string) Pos {
		if p, ok := m.Pos[name]; ok {
			return p
		}
		return s.Pos
	}
	switch s.Kind {
	case TextPattern:
		if len(s.Text) == 0 {
			c.fail(s.Pos, "empty string %q", s.ID)
		}
		for _, b := range s.Text {
			if b >= 0x80 {
				c.warn(s.Pos, "non-ascii character in string %q", s.ID)
				break
			}
		}
	case RegexpPattern:
		slow, err := checkRegexp(s.Re.Source)
		if err != nil {
			c.fail(s.Pos, "invalid regular expression %q: %v", s.ID, err)
		}
		if slow {
			c.warn(s.Pos, "%s contains .*, .+ or .{x,} consider using .{,N}, .{1,N} or {x,N} with a reasonable value for N", s.ID)
		}
	}
	if slowString(s) {
		c.warn(s.Pos, "string %q may slow down scanning", s.ID)
	}
	// The modifier pairs yara rejects, named in the order its messages use.
	combos := [][2]string{
		{"xor", "nocase"}, {"base64", "nocase"}, {"base64wide", "nocase"},
		{"base64", "xor"}, {"base64wide", "xor"},
		{"base64", "fullword"}, {"base64wide", "fullword"},
	}
	for _, cb := range combos {
		_, a := m.Pos[cb[0]]
		_, b := m.Pos[cb[1]]
		if a && b {
			c.fail(at(cb[0]), "invalid modifier combination: %s %s", cb[0], cb[1])
		}
	}
	if m.XOR {
		if m.XORMin < 0 || m.XORMin > 255 || m.XORMax < 0 || m.XORMax > 255 {
			c.fail(at("xor"), "invalid xor range")
		}
		if m.XORMin > m.XORMax {
			c.fail(at("xor"), "xor lower bound exceeds upper bound")
		}
	}
	if (m.Base64 || m.Base64Wide) && m.Alphabet != "" && len(m.Alphabet) != 64 {
		c.fail(at("alphabet"), "length of base64 alphabet must be 64")
	}
}

// numeric reports whether t may be used in arithmetic.
func numeric(t Type) bool { return t == TypeInt || t == TypeFloat || t == TypeUnknown }

// integer reports whether t may be used where an integer is required.
func integer(t Type) bool { return t == TypeInt || t == TypeUnknown }

// boolish reports whether t may be used as a boolean. yara casts every
// type, integers, floats, strings and even regexps (always true).
func boolish(Type) bool { return true }

// scalar fails unless e is a value: a module structure, array,
// dictionary or function cannot be an operand.
func (c *checker) scalar(e Expr) {
	if _, call := e.(*Call); !call && c.objs[e] != nil {
		c.fail(e.Position(), "type mismatch: %s is not a value", describe(e))
	}
}

func (c *checker) wantInt(e Expr, what string) *int64 {
	t, k := c.expr(e)
	c.scalar(e)
	if !integer(t) {
		c.fail(e.Position(), "wrong type for %s: %s, expecting integer", what, t)
	}
	return k
}

// expr type-checks e, records its type and returns the type and, for
// integer constants, the folded value.
func (c *checker) expr(e Expr) (Type, *int64) {
	t, k := c.expr1(e)
	e.(interface{ setType(Type) }).setType(t)
	return t, k
}

func (n *node) setType(t Type) { n.T = t }

func constInt(v int64) *int64 { return &v }

func (c *checker) expr1(e Expr) (Type, *int64) {
	switch e := e.(type) {
	case *BoolLit:
		return TypeBool, nil
	case *IntLit:
		return TypeInt, constInt(e.Value)
	case *FloatLit:
		return TypeFloat, nil
	case *StringLit:
		return TypeString, nil
	case *RegexpLit:
		if err := ValidateRegexp(e.Re.Source); err != nil {
			c.fail(e.P, "invalid regular expression: %v", err)
		}
		return TypeRegexp, nil
	case *Keyword:
		if e.Kind == Entrypoint {
			c.warn(e.P, "using deprecated \"entrypoint\" keyword, use pe.entry_point or elf.entry_point instead")
		}
		return TypeInt, nil
	case *Ident:
		return c.ident(e), nil
	case *Field:
		return c.field(e), nil
	case *Index:
		return c.index(e), nil
	case *Call:
		return c.call(e), nil
	case *StringRef:
		return c.stringRef(e), nil
	case *Read:
		t, _ := c.expr(e.Offset)
		c.scalar(e.Offset)
		if !integer(t) {
			c.fail(e.P, "wrong type %q for intXXXX or uintXXXX operator", t.String())
		}
		return TypeInt, nil
	case *Unary:
		return c.unary(e)
	case *Binary:
		return c.binary(e)
	case *Of:
		k := c.quant(&e.Quant)
		c.set(e.Set)
		if n := len(e.Set.Strings) + len(e.Set.RuleRefs); k != nil && e.Quant.Kind == QuantN && *k > int64(n) {
			c.warn(e.P, "expression always false: %d of a set of %d", *k, n)
		}
		if e.At != nil || e.In != nil {
			if e.Set.Rules {
				c.fail(e.P, "rule sets cannot be used with \"at\" or \"in\"")
			}
		}
		if e.At != nil {
			t, _ := c.expr(e.At)
			c.scalar(e.At)
			if !integer(t) {
				c.fail(e.At.Position(), "invalid value in condition: \"at\" expects an integer, got %s", t)
			}
		}
		if e.In != nil {
			c.rng(e.In)
		}
		return TypeBool, nil
	case *ForOf:
		c.quant(&e.Quant)
		if e.Set.Rules {
			c.fail(e.Set.Pos, "syntax error, for..of needs a string set")
		}
		c.set(e.Set)
		if c.forOf > 0 {
			c.fail(e.P, "nested for..of loops are not allowed")
		}
		c.enterLoop(e.P)
		c.forOf++
		c.body(e.Body)
		c.forOf--
		c.loops--
		return TypeBool, nil
	case *ForIn:
		return c.forIn(e), nil
	}
	c.fail(e.Position(), "internal error: unknown expression %T", e)
	return 0, nil
}

func (c *checker) enterLoop(pos Pos) {
	c.loops++
	if c.loops > maxLoopNesting {
		c.fail(pos, "loop nesting limit exceeded")
	}
}

// body checks a condition or loop body, which must be usable as a boolean.
func (c *checker) body(e Expr) {
	t, _ := c.expr(e)
	c.asBool(e, t)
}

// asBool checks that e of type t may be used as a boolean, warning about
// literal strings (always true) as yara does.
func (c *checker) asBool(e Expr, t Type) {
	c.scalar(e)
	if !boolish(t) {
		c.fail(e.Position(), "wrong type for boolean operation: %s", t)
	}
	if s, ok := e.(*StringLit); ok {
		c.warn(s.P, "using literal string %q in a boolean operation", s.Value)
	}
}

// describe names e for error messages: "x" or "x.y.z" for identifier
// paths, "expression" otherwise.
func describe(e Expr) string {
	var parts []string
	for {
		switch x := e.(type) {
		case *Ident:
			parts = append(parts, x.Name)
			slices.Reverse(parts)
			return strconv.Quote(strings.Join(parts, "."))
		case *Field:
			parts = append(parts, x.Name)
			e = x.X
		default:
			return "expression"
		}
	}
}

func (c *checker) ident(e *Ident) Type {
	for i := len(c.vars) - 1; i >= 0; i-- {
		if c.vars[i].name == e.Name {
			e.Kind = IdentLoopVar
			if c.vars[i].obj != nil {
				c.objs[e] = c.vars[i].obj
			}
			return c.vars[i].typ
		}
	}
	if r, ok := c.ns.rules[e.Name]; ok {
		e.Kind, e.Rule = IdentRule, r
		return TypeBool
	}
	if v, ok := c.cfg.Externals[e.Name]; ok {
		e.Kind = IdentExternal
		switch v.(type) {
		case bool:
			return TypeBool
		case int, int64:
			return TypeInt
		case float64:
			return TypeFloat
		case string:
			return TypeString
		}
		return TypeUnknown
	}
	if c.imports[e.Name] {
		e.Kind = IdentModule
		if o := c.cfg.Schemas[e.Name]; o != nil {
			c.objs[e] = o
		}
		return TypeUnknown
	}
	c.fail(e.P, "undefined identifier %q", e.Name)
	return 0
}

func (c *checker) stringRef(e *StringRef) Type {
	if e.ID == "$" {
		if c.forOf == 0 {
			c.fail(e.P, "wrong use of anonymous string")
		}
	} else {
		s, ok := c.strings[e.ID]
		if !ok {
			c.fail(e.P, "undefined string %q", e.ID)
		}
		s.Referenced = true
		e.String = s
	}
	if e.Index != nil {
		c.wantInt(e.Index, "index")
	}
	if e.At != nil {
		c.wantInt(e.At, "offset")
	}
	if e.In != nil {
		c.rng(e.In)
	}
	if e.Kind == RefMatch {
		return TypeBool
	}
	return TypeInt
}

// rng checks a range. Constant ranges that are inverted or negative can
// never hold; yara 4.3+ rejects them (4.2 silently accepted them).
func (c *checker) rng(r *Range) {
	lo := c.wantInt(r.Lo, "range bound")
	hi := c.wantInt(r.Hi, "range bound")
	if lo != nil && *lo < 0 {
		c.fail(r.Pos, "invalid range: negative lower bound %d", *lo)
	}
	if lo != nil && hi != nil && *lo > *hi {
		c.fail(r.Pos, "invalid range: lower bound %d exceeds upper bound %d", *lo, *hi)
	}
}

// quant checks a quantifier and returns its value when constant.
func (c *checker) quant(q *Quantifier) *int64 {
	if q.N == nil {
		return nil
	}
	k := c.wantInt(q.N, "quantifier")
	if k != nil && *k < 0 {
		c.fail(q.Pos, "invalid quantifier: %d", *k)
	}
	if q.Kind == QuantPercent && k != nil && (*k < 1 || *k > 100) {
		c.fail(q.Pos, "percentage must be between 1 and 100 (inclusive)")
	}
	return k
}

// set resolves a string or rule set, marking strings referenced.
func (c *checker) set(s *Set) {
	// A tree may be checked again (compiled twice): expand afresh.
	s.Strings, s.RuleRefs = nil, nil
	if s.Them {
		if len(c.cur.Strings) == 0 {
			c.fail(s.Pos, "undefined string \"$*\"")
		}
		for _, str := range c.cur.Strings {
			str.Referenced = true
		}
		s.Strings = c.cur.Strings
		return
	}
	for _, it := range s.Items {
		if s.Rules {
			if it.Wildcard {
				n := 0
				for _, r := range c.ns.order {
					if strings.HasPrefix(r.Name, it.Name) {
						s.RuleRefs = append(s.RuleRefs, r)
						n++
					}
				}
				if n == 0 {
					c.fail(it.Pos, "undefined identifier %q", it.Name)
				}
				c.ns.wildcards = append(c.ns.wildcards, it)
				continue
			}
			r, ok := c.ns.rules[it.Name]
			if !ok {
				c.fail(it.Pos, "undefined identifier %q", it.Name)
			}
			s.RuleRefs = append(s.RuleRefs, r)
			continue
		}
		if it.Wildcard {
			n := 0
			for _, str := range c.cur.Strings {
				if strings.HasPrefix(str.ID, it.Name) {
					str.Referenced = true
					s.Strings = append(s.Strings, str)
					n++
				}
			}
			if n == 0 {
				c.fail(it.Pos, "undefined string \"%s*\"", it.Name)
			}
			continue
		}
		str, ok := c.strings[it.Name]
		if !ok {
			c.fail(it.Pos, "undefined string %q", it.Name)
		}
		str.Referenced = true
		s.Strings = append(s.Strings, str)
	}
}

func (c *checker) forIn(e *ForIn) Type {
	c.quant(&e.Quant)
	if len(e.Vars) > maxLoopVars {
		c.fail(e.P, "too many loop variables")
	}
	var types []Type
	var objs []*Object
	switch e.Iter {
	case IterRange:
		if len(e.Vars) != 1 {
			c.fail(e.P, "syntax error, a range takes one loop variable")
		}
		c.rng(e.Range)
		types = []Type{TypeInt}
	case IterList:
		if len(e.Vars) != 1 {
			c.fail(e.P, "syntax error, an enumeration takes one loop variable")
		}
		var elem Type
		for i, x := range e.List {
			t, _ := c.expr(x)
			c.scalar(x)
			if t != TypeInt && t != TypeString && t != TypeUnknown {
				c.fail(x.Position(), "wrong type for enumeration item: %s", t)
			}
			if i == 0 || elem == TypeUnknown {
				elem = t
			} else if t != elem && t != TypeUnknown {
				c.fail(x.Position(), "wrong type for enumeration item: %s, expecting %s", t, elem)
			}
		}
		types = []Type{elem}
	case IterExpr:
		if t, _ := c.expr(e.X); t != TypeUnknown {
			c.fail(e.X.Position(), "wrong type for iterator: %s", t)
		}
		o := c.objs[e.X]
		switch {
		case o == nil:
			for range e.Vars {
				types = append(types, TypeUnknown)
			}
		case o.Kind == KindArray:
			if len(e.Vars) != 1 {
				c.fail(e.P, "syntax error, iterator for %s yields a single item on each iteration, but the loop expects %d", describe(e.X), len(e.Vars))
			}
			t, eo := memberType(o.Elem)
			types, objs = []Type{t}, []*Object{eo}
		case o.Kind == KindDict:
			if len(e.Vars) != 2 {
				c.fail(e.P, "syntax error, iterator for %s yields a key,value pair item on each iteration", describe(e.X))
			}
			t, eo := memberType(o.Elem)
			types, objs = []Type{TypeString, t}, []*Object{nil, eo}
		default:
			c.fail(e.X.Position(), "%s is not an array or dictionary", describe(e.X))
		}
	}
	for i, v := range e.Vars {
		for j := 0; j < i; j++ {
			if e.Vars[j] == v {
				c.fail(e.P, "duplicated loop identifier %q", v)
			}
		}
		for _, o := range c.vars {
			if o.name == v {
				c.fail(e.P, "duplicated loop identifier %q", v)
			}
		}
	}
	e.VarTypes = types
	c.enterLoop(e.P)
	n := len(c.vars)
	for i, v := range e.Vars {
		lv := loopVar{name: v, typ: types[i]}
		if i < len(objs) {
			lv.obj = objs[i]
		}
		c.vars = append(c.vars, lv)
	}
	c.body(e.Body)
	c.vars = c.vars[:n]
	c.loops--
	return TypeBool
}

func (c *checker) unary(e *Unary) (Type, *int64) {
	t, k := c.expr(e.X)
	if e.Op != KwDefined {
		c.scalar(e.X)
	}
	switch e.Op {
	case KwNot:
		c.asBool(e.X, t)
		return TypeBool, nil
	case KwDefined:
		return TypeBool, nil
	case Minus:
		if !numeric(t) {
			c.fail(e.P, "wrong type for unary minus: %s", t)
		}
		if k != nil {
			if *k == math.MinInt64 {
				c.fail(e.P, "integer overflow")
			}
			return t, constInt(-*k)
		}
		return t, nil
	case Tilde:
		if !integer(t) {
			c.fail(e.P, "wrong type for \"~\": %s", t)
		}
		if k != nil {
			return TypeInt, constInt(^*k)
		}
		return TypeInt, nil
	}
	return TypeUnknown, nil
}

func (c *checker) binary(e *Binary) (Type, *int64) {
	xt, xk := c.expr(e.X)
	yt, yk := c.expr(e.Y)
	c.scalar(e.X)
	c.scalar(e.Y)
	op := e.Op
	// yara says "type mismatch" for operands that cannot be combined and
	// names the offending type for string operators.
	bad := func() {
		c.fail(e.P, "type mismatch")
	}
	badString := func() {
		t := xt
		if t == TypeString || t == TypeUnknown {
			t = yt
		}
		c.fail(e.P, "wrong type %q for %s operator", t.String(), strings.Trim(op.String(), "'"))
	}
	both := xk != nil && yk != nil
	switch op {
	case KwAnd, KwOr:
		c.asBool(e.X, xt)
		c.asBool(e.Y, yt)
		return TypeBool, nil
	case Plus, Minus, Star, Backslash:
		if !numeric(xt) || !numeric(yt) {
			bad()
		}
		if xt == TypeFloat || yt == TypeFloat {
			return TypeFloat, nil
		}
		res := TypeInt
		if xt == TypeUnknown || yt == TypeUnknown {
			res = TypeUnknown
		}
		if op == Backslash && yk != nil && *yk == 0 {
			c.fail(e.P, "division by zero")
		}
		if !both {
			return res, nil
		}
		v, ok := fold(op, *xk, *yk)
		if !ok {
			c.fail(e.P, "integer overflow")
		}
		return TypeInt, constInt(v)
	case Percent:
		if !integer(xt) || !integer(yt) {
			bad()
		}
		if yk != nil && *yk == 0 {
			c.fail(e.P, "division by zero")
		}
		if both && !(*xk == math.MinInt64 && *yk == -1) {
			return TypeInt, constInt(*xk % *yk)
		}
		return TypeInt, nil
	case Amp, Pipe, Caret, Shl, Shr:
		if !integer(xt) || !integer(yt) {
			bad()
		}
		if (op == Shl || op == Shr) && yk != nil && *yk < 0 {
			c.fail(e.P, "invalid operand: negative shift")
		}
		if both {
			x, y := *xk, *yk
			switch op {
			case Amp:
				return TypeInt, constInt(x & y)
			case Pipe:
				return TypeInt, constInt(x | y)
			case Caret:
				return TypeInt, constInt(x ^ y)
			case Shl:
				if y >= 64 {
					return TypeInt, constInt(0)
				}
				return TypeInt, constInt(x << uint(y))
			case Shr:
				if y >= 64 {
					return TypeInt, constInt(0)
				}
				return TypeInt, constInt(x >> uint(y))
			}
		}
		return TypeInt, nil
	case Lt, Le, Gt, Ge, Eq, Ne:
		switch {
		case xt == TypeUnknown || yt == TypeUnknown:
		case numeric(xt) && numeric(yt):
		case xt == TypeString && yt == TypeString:
		default:
			bad()
		}
		return TypeBool, nil
	case KwContains, KwIContains, KwStartsWith, KwIStartsWith, KwEndsWith, KwIEndsWith, KwIEquals:
		if (xt != TypeString && xt != TypeUnknown) || (yt != TypeString && yt != TypeUnknown) {
			badString()
		}
		return TypeBool, nil
	case KwMatches:
		if xt != TypeString && xt != TypeUnknown || yt != TypeRegexp {
			badString()
		}
		return TypeBool, nil
	}
	return TypeUnknown, nil
}

// fold computes x op y for + - * \, reporting false on signed overflow.
func fold(op Token, x, y int64) (int64, bool) {
	switch op {
	case Plus:
		r := x + y
		return r, (x >= 0) != (y >= 0) || (r >= 0) == (x >= 0)
	case Minus:
		r := x - y
		return r, (x >= 0) == (y >= 0) || (r >= 0) == (x >= 0)
	case Star:
		if x == 0 || y == 0 {
			return 0, true
		}
		// yara's test: |x| > MaxInt64 / |y| is an overflow, so products
		// equal to MinInt64 are rejected too.
		if x == math.MinInt64 || y == math.MinInt64 {
			return 0, false
		}
		ax, ay := x, y
		if ax < 0 {
			ax = -ax
		}
		if ay < 0 {
			ay = -ay
		}
		if ax > math.MaxInt64/ay {
			return 0, false
		}
		return x * y, true
	case Backslash:
		if x == math.MinInt64 && y == -1 {
			return 0, false
		}
		return x / y, true
	}
	return 0, false
}

// memberType returns the static type of a module value declared as o:
// scalars get their type, structures, arrays, dictionaries and functions
// are TypeUnknown with o itself.
func memberType(o *Object) (Type, *Object) {
	switch o.Kind {
	case KindInt:
		return TypeInt, nil
	case KindFloat:
		return TypeFloat, nil
	case KindString:
		return TypeString, nil
	}
	return TypeUnknown, o
}

func (c *checker) typed(e Expr, o *Object) Type {
	t, eo := memberType(o)
	if eo != nil {
		c.objs[e] = eo
	}
	return t
}

// field types X.Name against the module schema.
func (c *checker) field(e *Field) Type {
	t, _ := c.expr(e.X)
	if t != TypeUnknown {
		c.fail(e.P, "%s is not a structure", describe(e.X))
	}
	o := c.objs[e.X]
	if o == nil {
		return TypeUnknown
	}
	if o.Kind != KindStruct {
		c.fail(e.P, "%s is not a structure", describe(e.X))
	}
	f, ok := o.Fields[e.Name]
	if !ok {
		c.fail(e.P, "invalid field name %q", e.Name)
	}
	return c.typed(e, f)
}

// index types X[i]: arrays take integers, dictionaries strings.
func (c *checker) index(e *Index) Type {
	t, _ := c.expr(e.X)
	if t != TypeUnknown {
		c.fail(e.P, "%s is not an array or dictionary", describe(e.X))
	}
	it, _ := c.expr(e.Index)
	c.scalar(e.Index)
	if it != TypeInt && it != TypeString && it != TypeUnknown {
		c.fail(e.Index.Position(), "wrong type for index: %s", it)
	}
	o := c.objs[e.X]
	if o == nil {
		return TypeUnknown
	}
	switch o.Kind {
	case KindArray:
		if it != TypeInt {
			c.fail(e.Index.Position(), "wrong type for array index: %s, expecting integer", it)
		}
	case KindDict:
		if it != TypeString {
			c.fail(e.Index.Position(), "wrong type for dictionary key: %s, expecting string", it)
		}
	default:
		c.fail(e.P, "%s is not an array or dictionary", describe(e.X))
	}
	return c.typed(e, o.Elem)
}

// argCode is the letter yara uses for an argument of type t.
func argCode(t Type) byte {
	switch t {
	case TypeInt:
		return 'i'
	case TypeFloat:
		return 'f'
	case TypeString:
		return 's'
	case TypeRegexp:
		return 'r'
	case TypeBool:
		return 'b'
	}
	return '?'
}

// call types Fn(args) by choosing the overload whose argument letters
// match the arguments' types exactly, as yara does.
func (c *checker) call(e *Call) Type {
	if _, ok := e.Fn.(*Ident); ok {
		c.expr(e.Fn)
		c.fail(e.P, "%s is not a function", describe(e.Fn))
	}
	if t, _ := c.expr(e.Fn); t != TypeUnknown {
		c.fail(e.P, "%s is not a function", describe(e.Fn))
	}
	sig := make([]byte, 0, len(e.Args))
	for _, a := range e.Args {
		t, _ := c.expr(a)
		c.scalar(a)
		sig = append(sig, argCode(t))
	}
	o := c.objs[e.Fn]
	if o == nil {
		return TypeUnknown
	}
	if o.Kind != KindFunc {
		c.fail(e.P, "%s is not a function", describe(e.Fn))
	}
	for _, f := range o.Funcs {
		if f.Args == string(sig) {
			c.objs[e] = &Object{Kind: KindFunc, Funcs: []*Func{f}}
			switch f.Ret {
			case KindInt:
				return TypeInt
			case KindFloat:
				return TypeFloat
			case KindString:
				return TypeString
			}
			return TypeUnknown
		}
	}
	c.fail(e.P, "wrong arguments for function %s", describe(e.Fn))
	return TypeUnknown
}
