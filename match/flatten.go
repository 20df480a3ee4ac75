package match

import "fmt"

// Hard limits against hostile or absurd patterns.
const (
	maxNodesPerSegment = 1 << 18 // NFA nodes after repeat expansion
	maxRepeat          = 1 << 16 // Min/Max of one repeat
	maxDepth           = 1000    // syntax tree nesting
)

// elemKind is the kind of a flattened pattern element.
type elemKind uint8

const (
	elemClass  elemKind = iota // one byte of cls
	elemAssert                 // zero-width assertion
	elemNode                   // anything else, compiled as a sub-automaton
	elemGap                    // top level only: a run of any bytes, a split candidate
)

// elem is one element of a flattened concatenation.
type elem struct {
	kind     elemKind
	cls      Class
	as       Assertion
	node     *Node
	min, max int // elemGap
}

// foldClass returns the class of b with ASCII case folded when fold is set.
func foldClass(b byte, fold bool) Class {
	var c Class
	c.Add(b)
	if fold {
		switch {
		case 'a' <= b && b <= 'z':
			c.Add(b - 32)
		case 'A' <= b && b <= 'Z':
			c.Add(b + 32)
		}
	}
	return c
}

// validate checks the tree's shape and limits.
func validate(n *Node, depth int) error {
	if n == nil {
		return fmt.Errorf("nil node")
	}
	if depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	switch n.Op {
	case OpEmpty, OpLiteral, OpClass:
	case OpConcat, OpAlt:
		for _, s := range n.Sub {
			if err := validate(s, depth+1); err != nil {
				return err
			}
		}
	case OpRepeat:
		if len(n.Sub) != 1 {
			return fmt.Errorf("repeat with %d operands", len(n.Sub))
		}
		if n.Min < 0 || n.Min > maxRepeat || n.Max > maxRepeat || (n.Max >= 0 && n.Max < n.Min) {
			return fmt.Errorf("bad repeat bounds {%d,%d}", n.Min, n.Max)
		}
		return validate(n.Sub[0], depth+1)
	case OpAssert:
		if !validAssertion(n.Assert) {
			return fmt.Errorf("unknown assertion %d", n.Assert)
		}
	default:
		return fmt.Errorf("unknown node op %d", n.Op)
	}
	return nil
}

// isAnyByte reports whether n matches exactly one arbitrary byte.
func isAnyByte(n *Node) bool {
	return n.Op == OpClass && n.Class == AnyByte()
}

// gapThreshold is the width (max-min) above which a top-level run of
// arbitrary bytes splits a pattern into separately matched segments.
const gapThreshold = 16

// flatten appends the elements of n, as a concatenation, to out. At the top
// level (top) wide or unbounded runs of arbitrary bytes become elemGap.
// budget bounds the number of elements produced by repeat expansion.
func flatten(n *Node, out []elem, top bool, budget *int) []elem {
	switch n.Op {
	case OpEmpty:
	case OpLiteral:
		*budget -= len(n.Lit)
		for _, b := range n.Lit {
			out = append(out, elem{kind: elemClass, cls: foldClass(b, n.Fold)})
		}
	case OpClass:
		*budget--
		out = append(out, elem{kind: elemClass, cls: n.Class})
	case OpConcat:
		for _, s := range n.Sub {
			out = flatten(s, out, top, budget)
		}
	case OpAssert:
		*budget--
		out = append(out, elem{kind: elemAssert, as: n.Assert})
	case OpAlt:
		if len(n.Sub) == 1 {
			return flatten(n.Sub[0], out, top, budget)
		}
		*budget--
		out = append(out, elem{kind: elemNode, node: n})
	case OpRepeat:
		sub := n.Sub[0]
		if top && isAnyByte(sub) && (n.Max < 0 || n.Max-n.Min > gapThreshold) {
			*budget--
			return append(out, elem{kind: elemGap, min: n.Min, max: n.Max})
		}
		if n.Min == 0 && n.Max == 0 {
			return out
		}
		// Mandatory copies become elements (so their bytes can give
		// atoms and the fixed-length fast path); the optional rest stays
		// one node.
		for i := 0; i < n.Min && *budget >= 0; i++ {
			out = flatten(sub, out, false, budget)
		}
		if n.Max != n.Min {
			max := n.Max
			if max > 0 {
				max -= n.Min
			}
			*budget--
			out = append(out, elem{kind: elemNode, node: &Node{Op: OpRepeat, Sub: n.Sub, Min: 0, Max: max, Greedy: n.Greedy}})
		}
	}
	return out
}

// elemLen returns the minimum and maximum number of bytes the elements
// match (max < 0: unbounded).
func elemLen(es []elem) (min, max int) {
	for _, e := range es {
		var a, b int
		switch e.kind {
		case elemClass:
			a, b = 1, 1
		case elemAssert:
		case elemGap:
			a, b = e.min, e.max
		case elemNode:
			a, b = nodeLen(e.node)
		}
		min += a
		if max >= 0 {
			if b < 0 {
				max = -1
			} else {
				max += b
			}
		}
	}
	return min, max
}

// nodeLen returns the minimum and maximum length of n's matches.
func nodeLen(n *Node) (min, max int) {
	switch n.Op {
	case OpLiteral:
		return len(n.Lit), len(n.Lit)
	case OpClass:
		return 1, 1
	case OpConcat:
		for _, s := range n.Sub {
			a, b := nodeLen(s)
			min += a
			if max >= 0 {
				if b < 0 {
					max = -1
				} else {
					max += b
				}
			}
		}
		return min, max
	case OpAlt:
		for i, s := range n.Sub {
			a, b := nodeLen(s)
			if i == 0 || a < min {
				min = a
			}
			if max >= 0 && (b < 0 || b > max) {
				max = b
			}
		}
		return min, max
	case OpRepeat:
		a, b := nodeLen(n.Sub[0])
		min = a * n.Min
		switch {
		case n.Max < 0 && b != 0:
			max = -1
		case b < 0 && n.Max != 0:
			max = -1
		default:
			max = b * n.Max
			if n.Max < 0 {
				max = 0
			}
		}
		return min, max
	}
	return 0, 0
}
