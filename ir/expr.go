package ir

import "math/bits"

// Eval reports whether the condition holds, given count(sub), the number of
// matches of subsignature sub (an index into Rule.Subs).
//
// The semantics are ClamAV's logical-signature evaluation, quirks included,
// so that glassav and clamscan agree on every object:
//
//   - A subsignature is true when it matched at least once; its value is its
//     match count (every match, not 1), so (0|1)>3 counts matches.
//   - & and | are true when all / any of their arguments are; a true node's
//     value is the sum of the values of its true arguments, and it carries
//     the set of subsignatures that made it true. False nodes carry nothing.
//   - A count on a single subsignature (0>2, 1=0, 2<5) compares that
//     subsignature's count; when it holds, the subsignature joins the set even
//     if its count is 0 (so (0|1=0)>1,2 sees two distinct subsignatures). The
//     ",Y" part is ignored on a single subsignature, as in ClamAV.
//   - A count on a parenthesised group ((0|1)>3,2) compares the group's value
//     (0 when the group is false) and, with Distinct > 0, requires that many
//     distinct subsignatures in its set. The group's value passes upward but
//     its set does not.
func (e *Expr) Eval(count func(sub int) int) bool {
	ok, _, _ := e.eval(count)
	return ok
}

// eval returns the truth of e, its value (summed match count) and the set
// of subsignatures (bit i for subsignature i) that contributed.
func (e *Expr) eval(count func(int) int) (bool, int, uint64) {
	switch e.Op {
	case ExprSub:
		if n := count(e.Sub); n > 0 {
			return true, n, subBit(e.Sub)
		}
		return false, 0, 0
	case ExprAnd, ExprOr:
		all, anyTrue := true, false
		var sum int
		var ids uint64
		for _, a := range e.Args {
			ok, n, s := a.eval(count)
			if ok {
				anyTrue = true
				sum += n
				ids |= s
			} else {
				all = false
			}
		}
		if (e.Op == ExprAnd && all && len(e.Args) > 0) || (e.Op == ExprOr && anyTrue) {
			return true, sum, ids
		}
		return false, 0, 0
	case ExprCount:
		if len(e.Args) != 1 {
			return false, 0, 0
		}
		a := e.Args[0]
		if a.Op == ExprSub {
			n := count(a.Sub)
			if !e.compare(n) {
				return false, 0, 0
			}
			return true, n, subBit(a.Sub)
		}
		ok, n, ids := a.eval(count)
		if !ok {
			n, ids = 0, 0
		}
		if !e.compare(n) {
			return false, 0, 0
		}
		if e.Distinct > 0 && bits.OnesCount64(ids) < e.Distinct {
			return false, 0, 0
		}
		return true, n, 0
	}
	return false, 0, 0
}

func (e *Expr) compare(n int) bool {
	switch e.Cmp {
	case '=':
		return n == e.N
	case '>':
		return n > e.N
	case '<':
		return n < e.N
	}
	return false
}

func subBit(i int) uint64 {
	if i < 0 || i >= 64 {
		return 0
	}
	return 1 << uint(i)
}

// MaxSub returns the largest subsignature index e refers to, or -1.
func (e *Expr) MaxSub() int {
	if e == nil {
		return -1
	}
	m := -1
	if e.Op == ExprSub {
		m = e.Sub
	}
	for _, a := range e.Args {
		m = max(m, a.MaxSub())
	}
	return m
}
