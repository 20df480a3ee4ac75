package ir

import "testing"

func sub(i int) *Expr      { return &Expr{Op: ExprSub, Sub: i} }
func and(a ...*Expr) *Expr { return &Expr{Op: ExprAnd, Args: a} }
func or(a ...*Expr) *Expr  { return &Expr{Op: ExprOr, Args: a} }
func cnt(c byte, n, d int, a *Expr) *Expr {
	return &Expr{Op: ExprCount, Cmp: c, N: n, Distinct: d, Args: []*Expr{a}}
}

// TestExprEval uses counts 3, 1, 0 for subsignatures 0, 1, 2; each case's
// expected value is what clamscan 1.4.6 reported for the same logical
// expression (see clamav/logic_test.go, which parses the text forms).
func TestExprEval(t *testing.T) {
	counts := []int{3, 1, 0}
	tests := []struct {
		text string
		e    *Expr
		want bool
	}{
		{"2", sub(2), false},
		{"0|2", or(sub(0), sub(2)), true},
		{"0&2", and(sub(0), sub(2)), false},
		{"2&(1|0)", and(sub(2), or(sub(1), sub(0))), false},
		{"(0|2)>2,2", cnt('>', 2, 2, or(sub(0), sub(2))), false},
		{"(0|2=0)>2,2", cnt('>', 2, 2, or(sub(0), cnt('=', 0, 0, sub(2)))), true},
		{"(0|2=0)>2,3", cnt('>', 2, 3, or(sub(0), cnt('=', 0, 0, sub(2)))), false},
		{"(0|1|2)=4,2", cnt('=', 4, 2, or(or(sub(0), sub(1)), sub(2))), true},
		{"(0|1|2)=4,3", cnt('=', 4, 3, or(or(sub(0), sub(1)), sub(2))), false},
		{"((0|1)>3)&(2=0)", and(cnt('>', 3, 0, or(sub(0), sub(1))), cnt('=', 0, 0, sub(2))), true},
		{"((0|1)>4)&(2=0)", and(cnt('>', 4, 0, or(sub(0), sub(1))), cnt('=', 0, 0, sub(2))), false},
		{"(0&1&2)<1", cnt('<', 1, 0, and(and(sub(0), sub(1)), sub(2))), true},
		{"0>2", cnt('>', 2, 0, sub(0)), true},
		{"0>3", cnt('>', 3, 0, sub(0)), false},
		{"0<3|1&2", or(cnt('<', 3, 0, sub(0)), and(sub(1), sub(2))), false},
		// A group's distinct set does not pass upward: the outer count sees
		// only subsignature 2's bit.
		{"((0|1)>0,2|2=0)>0,2", cnt('>', 0, 2, or(cnt('>', 0, 2, or(sub(0), sub(1))), cnt('=', 0, 0, sub(2)))), false},
	}
	for _, tt := range tests {
		if got := tt.e.Eval(func(i int) int { return counts[i] }); got != tt.want {
			t.Errorf("%s: Eval = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestExprMaxSub(t *testing.T) {
	e := and(sub(3), or(sub(0), cnt('>', 1, 0, sub(7))))
	if m := e.MaxSub(); m != 7 {
		t.Errorf("MaxSub = %d, want 7", m)
	}
	var nilExpr *Expr
	if m := nilExpr.MaxSub(); m != -1 {
		t.Errorf("nil MaxSub = %d", m)
	}
}

func BenchmarkExprEval(b *testing.B) {
	e := and(cnt('>', 3, 2, or(or(sub(0), sub(1)), sub(2))), cnt('=', 0, 0, sub(3)))
	counts := []int{3, 1, 2, 0}
	f := func(i int) int { return counts[i] }
	for b.Loop() {
		e.Eval(f)
	}
}
