package yara

// This file compiles string references, `of` and the for loops.

// stringIndex returns the compiled index of the string r names, or -1 for
// the current string of a for … of loop.
func (c *compiler) stringIndex(r *StringRef) int {
	if r.ID == "$" || r.String == nil {
		return -1
	}
	i, ok := c.strIdx[r.String]
	if !ok {
		c.fail(r.P, "internal error: string %s not compiled", r.ID)
	}
	if r.Kind != RefMatch || r.At != nil || r.In != nil {
		c.r.strs[i].counted = true
	}
	if r.Kind == RefMatch && r.At != nil {
		c.r.strs[i].use(constOffset(r.At))
	} else {
		c.r.strs[i].use(0, false)
	}
	return i
}

func (s *scanState) str(i int) []StringMatch {
	if i < 0 {
		i = s.cur
	}
	return s.stringMatches(i)
}

// rangeFn compiles (lo..hi).
func (c *compiler) rangeFn(r *Range) func(*scanState) (lo, hi int64, ok bool) {
	lo, hi := c.int(r.Lo), c.int(r.Hi)
	return func(s *scanState) (int64, int64, bool) {
		a, ok := lo(s)
		if !ok {
			return 0, 0, false
		}
		b, ok := hi(s)
		return a, b, ok
	}
}

func (c *compiler) stringRef(e *StringRef) intFn {
	i := c.stringIndex(e)
	if e.ID == "$" {
		// In a for … of body every string of the set is current in turn.
		c.markSetCounted(e.Kind == RefMatch && e.At == nil && e.In == nil)
	}
	switch e.Kind {
	case RefMatch:
		switch {
		case e.At != nil:
			at := c.int(e.At)
			return func(s *scanState) (int64, bool) {
				off, ok := at(s)
				if !ok {
					return 0, true
				}
				for _, m := range s.str(i) {
					if m.Offset == off {
						return 1, true
					}
					if m.Offset > off {
						break
					}
				}
				return 0, true
			}
		case e.In != nil:
			rng := c.rangeFn(e.In)
			return func(s *scanState) (int64, bool) {
				lo, hi, ok := rng(s)
				if !ok {
					return 0, false
				}
				for _, m := range s.str(i) {
					if m.Offset >= lo && m.Offset <= hi {
						return 1, true
					}
					if m.Offset > hi {
						break
					}
				}
				return 0, true
			}
		}
		return func(s *scanState) (int64, bool) {
			if i < 0 {
				return b2i(s.found(s.cur)), true
			}
			return b2i(s.found(i)), true
		}
	case RefCount:
		if e.In != nil {
			rng := c.rangeFn(e.In)
			return func(s *scanState) (int64, bool) {
				lo, hi, ok := rng(s)
				if !ok {
					return 0, false
				}
				n := int64(0)
				for _, m := range s.str(i) {
					if m.Offset >= lo && m.Offset <= hi {
						n++
					}
				}
				return n, true
			}
		}
		return func(s *scanState) (int64, bool) { return int64(len(s.str(i))), true }
	case RefOffset, RefLength:
		idx := intConst(1)
		if e.Index != nil {
			idx = c.int(e.Index)
		}
		length := e.Kind == RefLength
		return func(s *scanState) (int64, bool) {
			k, ok := idx(s)
			if !ok {
				return 0, false
			}
			ms := s.str(i)
			if k < 1 || k > int64(len(ms)) {
				return 0, false
			}
			if length {
				return ms[k-1].Length, true
			}
			return ms[k-1].Offset, true
		}
	}
	c.fail(e.P, "internal error: string reference kind %d", e.Kind)
	return nil
}

// markSetCounted marks every string of the innermost for … of as needing
// all its matches in fast mode, unless the anonymous reference is plain.
func (c *compiler) markSetCounted(plain bool) {
	if plain || c.curSet == nil {
		return
	}
	for _, i := range c.curSet {
		c.r.strs[i].counted = true
	}
}

// quant compiles a quantifier into a function deciding, from the number
// of true items and the total, whether the expression holds; and a
// function telling whether the result is already decided after n true
// items out of done of total (to stop early, as yara does).
func (c *compiler) quant(q *Quantifier) func(s *scanState, trues, total int) bool {
	switch q.Kind {
	case QuantAll:
		return func(_ *scanState, t, n int) bool { return t >= n }
	case QuantAny:
		return func(_ *scanState, t, _ int) bool { return t >= 1 }
	case QuantNone:
		return func(_ *scanState, t, _ int) bool { return t == 0 }
	case QuantPercent:
		k := c.int(q.N)
		return func(s *scanState, t, n int) bool {
			p, ok := k(s)
			if !ok {
				return false // checked with yara 4.2.3
			}
			return float64(t)*100 >= float64(p)*float64(n)
		}
	}
	k := c.int(q.N)
	return func(s *scanState, t, n int) bool {
		v, ok := k(s)
		if !ok {
			return t >= n
		}
		return int64(t) >= v
	}
}

func (c *compiler) setStrings(set *Set) []int {
	out := make([]int, len(set.Strings))
	for j, str := range set.Strings {
		i, ok := c.strIdx[str]
		if !ok {
			c.fail(set.Pos, "internal error: string %s not compiled", str.ID)
		}
		c.r.strs[i].use(0, false) // sets look everywhere, as in yara
		out[j] = i
	}
	return out
}

func (c *compiler) of(e *Of) intFn {
	q := c.quant(&e.Quant)
	if e.Set.Rules {
		idx := make([]int, len(e.Set.RuleRefs))
		for j, r := range e.Set.RuleRefs {
			i, ok := c.ruleIdx[r]
			if !ok {
				i = len(c.r.rules) // the rule itself
			}
			idx[j] = i
		}
		return func(s *scanState) (int64, bool) {
			t := 0
			for _, i := range idx {
				if s.matched[i] {
					t++
				}
			}
			return b2i(q(s, t, len(idx))), true
		}
	}
	strs := c.setStrings(e.Set)
	if e.At != nil || e.In != nil {
		for _, i := range strs {
			c.r.strs[i].counted = true
		}
	}
	var hit func(s *scanState, i int) bool
	switch {
	case e.At != nil:
		at := c.int(e.At)
		hit = func(s *scanState, i int) bool {
			off, ok := at(s)
			if !ok {
				return false
			}
			for _, m := range s.stringMatches(i) {
				if m.Offset == off {
					return true
				}
				if m.Offset > off {
					break
				}
			}
			return false
		}
	case e.In != nil:
		rng := c.rangeFn(e.In)
		hit = func(s *scanState, i int) bool {
			lo, hi, ok := rng(s)
			if !ok {
				return false
			}
			for _, m := range s.stringMatches(i) {
				if m.Offset >= lo && m.Offset <= hi {
					return true
				}
				if m.Offset > hi {
					break
				}
			}
			return false
		}
	default:
		hit = (*scanState).found
	}
	return func(s *scanState) (int64, bool) {
		t := 0
		for _, i := range strs {
			if hit(s, i) {
				t++
			}
		}
		return b2i(q(s, t, len(strs))), true
	}
}

// decided returns whether a loop with quantifier kind k can stop after
// trues true bodies out of n visited: any and none at the first true body,
// all at the first false one, as yara's loops do.
func decided(k QuantKind, trues, n int) bool {
	switch k {
	case QuantAny, QuantNone:
		return trues > 0
	case QuantAll:
		return n > trues
	}
	return false
}

func (c *compiler) forOf(e *ForOf) intFn {
	q := c.quant(&e.Quant)
	qk := e.Quant.Kind
	strs := c.setStrings(e.Set)
	saved := c.curSet
	c.curSet = strs
	body := c.bool(e.Body)
	c.curSet = saved
	return func(s *scanState) (int64, bool) {
		prev := s.cur
		t, n := 0, 0
		for _, i := range strs {
			s.cur = i
			n++
			if v, ok := body(s); ok && v != 0 {
				t++
			}
			if s.stop() || decided(qk, t, n) {
				break
			}
		}
		s.cur = prev
		if n < len(strs) && !decided(qk, t, n) {
			return 0, true // stopped by the context
		}
		if qk == QuantAll || qk == QuantAny || qk == QuantNone {
			return b2i(q(s, t, n)), true
		}
		return b2i(q(s, t, len(strs))), true
	}
}

// newSlot allocates a loop variable slot for name in the current scope.
func (c *compiler) newSlot(name string) int {
	k := len(c.scope)
	c.scope = append(c.scope, scopeVar{name: name, slot: k})
	if k+1 > c.maxSlots {
		c.maxSlots = k + 1
	}
	return k
}

func (c *compiler) forIn(e *ForIn) intFn {
	q := c.quant(&e.Quant)
	n := len(c.scope)
	defer func() { c.scope = c.scope[:n] }()
	// iterate calls visit for every item, with the loop variables set;
	// visit returns false to stop.
	// iterate returns the number of items visited, or -1 when the
	// iterable is undefined (yara 4.2.3: the loop is then false whatever
	// its quantifier).
	var iterate func(s *scanState, visit func() bool) int
	switch e.Iter {
	case IterRange:
		rng := c.rangeFn(e.Range)
		k := c.newSlot(e.Vars[0])
		iterate = func(s *scanState, visit func() bool) int {
			lo, hi, ok := rng(s)
			if !ok {
				return -1
			}
			if lo > hi {
				return 0
			}
			total := 0
			for v := lo; ; v++ {
				s.vars[k] = slot{i: v, def: true}
				total++
				if !visit() || v == hi {
					break
				}
			}
			return total
		}
	case IterList:
		items := make([]func(s *scanState) slot, len(e.List))
		for j, x := range e.List {
			if x.Type() == TypeString {
				f := c.str(x)
				items[j] = func(s *scanState) slot { v, ok := f(s); return slot{s: v, def: ok} }
			} else {
				f := c.int(x)
				items[j] = func(s *scanState) slot { v, ok := f(s); return slot{i: v, def: ok} }
			}
		}
		k := c.newSlot(e.Vars[0])
		iterate = func(s *scanState, visit func() bool) int {
			for j, it := range items {
				s.vars[k] = it(s)
				if !visit() {
					return j + 1
				}
			}
			return len(items)
		}
	case IterExpr:
		x := c.obj(e.X)
		d := c.objs[e.X]
		if d == nil {
			c.fail(e.P, "internal error: loop over an untyped value")
		}
		if d.Kind == KindDict {
			kk := c.newSlot(e.Vars[0])
			kv := c.newSlot(e.Vars[1])
			iterate = func(s *scanState, visit func() bool) int {
				o := x(s)
				if o == nil {
					return 0
				}
				for j, key := range o.Keys {
					s.vars[kk] = slot{s: []byte(key), def: true}
					s.vars[kv] = objSlot(o.Dict[key])
					if !visit() {
						return j + 1
					}
				}
				return len(o.Keys)
			}
		} else {
			k := c.newSlot(e.Vars[0])
			iterate = func(s *scanState, visit func() bool) int {
				o := x(s)
				if o == nil {
					return 0
				}
				for j, it := range o.Items {
					s.vars[k] = objSlot(it)
					if !visit() {
						return j + 1
					}
				}
				return len(o.Items)
			}
		}
	}
	body := c.bool(e.Body)
	qk := e.Quant.Kind
	return func(s *scanState) (int64, bool) {
		t, n := 0, 0
		total := iterate(s, func() bool {
			n++
			if v, ok := body(s); ok && v != 0 {
				t++
			}
			return !s.stop() && !decided(qk, t, n)
		})
		if total <= 0 {
			// yara 4.2.3: a loop over nothing is false whatever its
			// quantifier (`for none i in (1..0)` too, checked).
			return 0, true
		}
		return b2i(q(s, t, total)), true
	}
}

// objSlot makes a loop variable of a module value: scalars by value,
// structures by reference.
func objSlot(o *Object) slot {
	if o == nil {
		return slot{}
	}
	switch o.Kind {
	case KindInt:
		return slot{i: o.Int, def: o.Defined}
	case KindFloat:
		return slot{f: o.Float, def: o.Defined}
	case KindString:
		return slot{s: o.Str, def: o.Defined}
	}
	return slot{o: o, def: true}
}
