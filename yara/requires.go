package yara

// A rule whose condition cannot hold unless one of its strings matched
// need not be evaluated on data where none of its strings has a hit: most
// public rules are such ("any of them", "$a and pe.is_dll()", "#a > 2 and
// filesize < 1MB"), and on a typical file only a few of thousands of rules
// have a hit. Skipping the rest spares the evaluation that dominates the
// scan of small files.

// requiresMatch reports whether e can only be true (defined and non-zero)
// when at least one string of the rule matched: a string reference, a
// quantifier over strings that needs one or more of them, a count compared
// so as to need one, an offset or length (undefined without a match)
// compared with anything; an `and` with such an operand, an `or` of two.
// Anything else (not, for … of, module calls alone) may hold without a
// match.
func requiresMatch(e Expr) bool {
	switch e := e.(type) {
	case *StringRef:
		return e.Kind == RefMatch
	case *Of:
		return !e.Set.Rules && len(e.Set.Strings) > 0 && quantNeedsOne(e.Quant)
	case *Binary:
		switch e.Op {
		case KwAnd:
			return requiresMatch(e.X) || requiresMatch(e.Y)
		case KwOr:
			return requiresMatch(e.X) && requiresMatch(e.Y)
		case Lt, Le, Gt, Ge, Eq, Ne:
			if isOffsetOrLength(e.X) || isOffsetOrLength(e.Y) {
				return true
			}
			if r, ok := e.X.(*StringRef); ok && r.Kind == RefCount {
				if n, ok := e.Y.(*IntLit); ok {
					switch e.Op {
					case Gt:
						return n.Value >= 0
					case Ge, Eq:
						return n.Value >= 1
					}
				}
			}
		}
	}
	return false
}

// quantNeedsOne reports whether the quantifier of an `of` is false over a
// set of which nothing matched.
func quantNeedsOne(q Quantifier) bool {
	switch q.Kind {
	case QuantAll, QuantAny:
		return true
	case QuantN, QuantPercent:
		n, ok := q.N.(*IntLit)
		return ok && n.Value >= 1
	}
	return false
}

// isOffsetOrLength reports whether e is @a[i] or !a[i] of a named string,
// undefined when the string has no match.
func isOffsetOrLength(e Expr) bool {
	r, ok := e.(*StringRef)
	return ok && (r.Kind == RefOffset || r.Kind == RefLength) && r.ID != "$"
}

// usesModule reports whether e refers to module name anywhere.
func usesModule(e Expr, name string) bool {
	found := false
	walkExpr(e, func(x Expr) {
		if id, ok := x.(*Ident); ok && id.Kind == IdentModule && id.Name == name {
			found = true
		}
	})
	return found
}

// walkExpr calls fn for e and every expression under it.
func walkExpr(e Expr, fn func(Expr)) {
	if e == nil {
		return
	}
	fn(e)
	rng := func(r *Range) {
		if r != nil {
			walkExpr(r.Lo, fn)
			walkExpr(r.Hi, fn)
		}
	}
	switch e := e.(type) {
	case *Field:
		walkExpr(e.X, fn)
	case *Index:
		walkExpr(e.X, fn)
		walkExpr(e.Index, fn)
	case *Call:
		walkExpr(e.Fn, fn)
		for _, a := range e.Args {
			walkExpr(a, fn)
		}
	case *StringRef:
		walkExpr(e.Index, fn)
		walkExpr(e.At, fn)
		rng(e.In)
	case *Read:
		walkExpr(e.Offset, fn)
	case *Unary:
		walkExpr(e.X, fn)
	case *Binary:
		walkExpr(e.X, fn)
		walkExpr(e.Y, fn)
	case *Of:
		walkExpr(e.Quant.N, fn)
		walkExpr(e.At, fn)
		rng(e.In)
	case *ForOf:
		walkExpr(e.Quant.N, fn)
		walkExpr(e.Body, fn)
	case *ForIn:
		walkExpr(e.Quant.N, fn)
		rng(e.Range)
		for _, x := range e.List {
			walkExpr(x, fn)
		}
		walkExpr(e.X, fn)
		walkExpr(e.Body, fn)
	}
}
