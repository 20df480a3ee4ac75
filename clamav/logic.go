package clamav

import (
	"errors"
	"fmt"

	"github.com/glassav/glassav/ir"
)

// maxLogicLen bounds a logical expression; it also bounds the parser's
// recursion, since each level consumes at least one character.
const maxLogicLen = 8192

// parseLogic parses an .ldb logical expression into an ir.Expr.
//
// It splits the text exactly as ClamAV's cli_ac_chklsig does, because the
// grouping is part of the meaning: outside parentheses the first & or |
// splits (so 0&1|2 is 0&(1|2)), inside a parenthesised group the last one
// does (so (0|1&2) is (0|1)&2), and a count modifier binds to a whole group
// only when the group ends the (sub)expression. ir.Expr.Eval supplies the
// matching evaluation.
func parseLogic(s string) (*ir.Expr, error) {
	if len(s) > maxLogicLen {
		return nil, fmt.Errorf("logical expression longer than %d characters", maxLogicLen)
	}
	return parseLogicRec(s)
}

func parseLogicRec(expr string) (*ir.Expr, error) {
	if expr == "" {
		return nil, errors.New("logical expression: missing argument")
	}
	n := len(expr)
	var (
		pth              int
		op, op1, mod     byte
		opoff, op1off    int
		modoff, blkend   int
		blkmod           byte
		modval1, modval2 int
	)
	for i := 0; i < n; i++ {
		switch c := expr[i]; c {
		case '(':
			pth++
		case ')':
			if pth == 0 {
				return nil, fmt.Errorf("logical expression %q: missing '('", expr)
			}
			pth--
			mod, modoff = c, i
		case '>', '<', '=':
			mod, modoff = c, i
		case '&', '|':
			if pth == 0 {
				op, opoff = c, i
			} else if pth == 1 {
				op1, op1off = c, i
			}
		}
		if op != 0 {
			break
		}
		if op1 != 0 && pth == 0 {
			blkend = i
			if i+1 < n && (expr[i+1] == '>' || expr[i+1] == '<' || expr[i+1] == '=') {
				blkmod = expr[i+1]
				v1, v2, ok := scanCounts(expr[i+2:])
				if !ok {
					return nil, fmt.Errorf("logical expression %q: missing number after '%c'", expr, expr[i+1])
				}
				modval1, modval2 = v1, v2
				for i += 2; i+1 < n && (isDigit(expr[i+1]) || expr[i+1] == ','); i++ {
				}
			}
			if i+1 == n {
				break
			}
			blkmod = 0
		}
	}
	if pth != 0 {
		return nil, fmt.Errorf("logical expression %q: missing ')'", expr)
	}
	if op == 0 && op1 == 0 {
		if expr[0] == '(' {
			if n < 2 {
				return nil, fmt.Errorf("logical expression %q: missing ')'", expr)
			}
			return parseLogicRec(expr[1 : n-1])
		}
		id, _, ok := scanUint(expr)
		if !ok {
			return nil, fmt.Errorf("logical expression: cannot parse %q", expr)
		}
		sub := &ir.Expr{Op: ir.ExprSub, Sub: id}
		if mod == 0 {
			return sub, nil
		}
		v, _, ok := scanUint(expr[modoff+1:])
		if !ok {
			return nil, fmt.Errorf("logical expression %q: missing number after '%c'", expr, mod)
		}
		return &ir.Expr{Op: ir.ExprCount, Cmp: mod, N: v, Args: []*ir.Expr{sub}}, nil
	}
	lstart, rend := 0, n
	if op == 0 {
		op, opoff = op1, op1off
		lstart, rend = 1, blkend
	}
	if opoff == 0 {
		return nil, fmt.Errorf("logical expression %q: missing left argument", expr)
	}
	if opoff+1 == n {
		return nil, fmt.Errorf("logical expression %q: missing right argument", expr)
	}
	if lstart > opoff || opoff+1 > rend {
		return nil, fmt.Errorf("logical expression %q: missing argument", expr)
	}
	l, err := parseLogicRec(expr[lstart:opoff])
	if err != nil {
		return nil, err
	}
	r, err := parseLogicRec(expr[opoff+1 : rend])
	if err != nil {
		return nil, err
	}
	e := &ir.Expr{Op: ir.ExprAnd, Args: []*ir.Expr{l, r}}
	if op == '|' {
		e.Op = ir.ExprOr
	}
	if blkmod != 0 {
		return &ir.Expr{Op: ir.ExprCount, Cmp: blkmod, N: modval1, Distinct: modval2, Args: []*ir.Expr{e}}, nil
	}
	return e, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanUint reads a decimal number at the start of s (at most 9 digits).
func scanUint(s string) (v, width int, ok bool) {
	for width < len(s) && isDigit(s[width]) {
		if width == 9 {
			return 0, 0, false
		}
		v = v*10 + int(s[width]-'0')
		width++
	}
	return v, width, width > 0
}

// scanCounts reads "X" or "X,Y" at the start of s.
func scanCounts(s string) (x, y int, ok bool) {
	x, w, ok := scanUint(s)
	if !ok {
		return 0, 0, false
	}
	if w < len(s) && s[w] == ',' {
		if v, _, ok := scanUint(s[w+1:]); ok {
			y = v
		}
	}
	return x, y, true
}
