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
//
// It is kept small and free of pointers (most elements are literal bytes,
// and Compile writes one per pattern byte, which with pointers would cost a
// write barrier each while the collector runs): a class element of one
// byte, or of a letter and its other case, has no Class of its own; any
// other refers to its node's Class through elemRefs, as an elemNode refers
// to its node.
type elem struct {
	kind     elemKind
	single   byte   // elemClass: the smallest byte of the class
	count    uint16 // elemClass: the size of the class
	as       Assertion
	min, max int32 // elemGap
	ref      int32 // elemClass: 1 + index in refs.classes, or 0; elemNode: index in refs.nodes
}

// elemRefs holds what elements refer to.
type elemRefs struct {
	nodes   []*Node
	classes []*Class // read only
}

func (r *elemRefs) reset() {
	clear(r.nodes)
	clear(r.classes)
	r.nodes, r.classes = r.nodes[:0], r.classes[:0]
}

func (r *elemRefs) node(n *Node) int32 {
	r.nodes = append(r.nodes, n)
	return int32(len(r.nodes) - 1)
}

// cls returns the Class of a class element that has one, or nil.
func (r *elemRefs) cls(e *elem) *Class {
	if e.ref == 0 {
		return nil
	}
	return r.classes[e.ref-1]
}

// class returns the bytes of a class element.
func (e *elem) class(r *elemRefs) Class {
	if c := r.cls(e); c != nil {
		return *c
	}
	var c Class
	c.Add(e.single)
	if e.count == 2 {
		c.Add(e.single + 32)
	}
	return c
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

// classElem returns the element for one byte of c.
func classElem(c *Class, r *elemRefs) elem {
	k, b := c.Count(), lowest(*c)
	e := elem{kind: elemClass, count: uint16(k), single: b}
	if k > 1 {
		r.classes = append(r.classes, c)
		e.ref = int32(len(r.classes))
	}
	return e
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
func flatten(n *Node, out []elem, top bool, budget *int, r *elemRefs) []elem {
	switch n.Op {
	case OpEmpty:
	case OpLiteral:
		*budget -= len(n.Lit)
		for _, b := range n.Lit {
			e := elem{kind: elemClass, single: b, count: 1}
			if n.Fold {
				switch {
				case 'a' <= b && b <= 'z':
					e.single, e.count = b-32, 2
				case 'A' <= b && b <= 'Z':
					e.count = 2
				}
			}
			out = append(out, e)
		}
	case OpClass:
		*budget--
		out = append(out, classElem(&n.Class, r))
	case OpConcat:
		for _, s := range n.Sub {
			out = flatten(s, out, top, budget, r)
		}
	case OpAssert:
		*budget--
		out = append(out, elem{kind: elemAssert, as: n.Assert})
	case OpAlt:
		if len(n.Sub) == 1 {
			return flatten(n.Sub[0], out, top, budget, r)
		}
		*budget--
		out = append(out, elem{kind: elemNode, ref: r.node(n)})
	case OpRepeat:
		sub := n.Sub[0]
		if top && isAnyByte(sub) && (n.Max < 0 || n.Max-n.Min > gapThreshold) {
			*budget--
			return append(out, elem{kind: elemGap, min: int32(n.Min), max: int32(n.Max)})
		}
		if n.Min == 0 && n.Max == 0 {
			return out
		}
		// Mandatory copies become elements (so their bytes can give
		// atoms and the fixed-length fast path); the optional rest stays
		// one node.
		for i := 0; i < n.Min && *budget >= 0; i++ {
			out = flatten(sub, out, false, budget, r)
		}
		if n.Max != n.Min {
			max := n.Max
			if max > 0 {
				max -= n.Min
			}
			*budget--
			out = append(out, elem{kind: elemNode, ref: r.node(&Node{Op: OpRepeat, Sub: n.Sub, Min: 0, Max: max, Greedy: n.Greedy})})
		}
	}
	return out
}

// elemLen returns the minimum and maximum number of bytes the elements
// match (max < 0: unbounded).
func elemLen(es []elem, r *elemRefs) (min, max int) {
	for _, e := range es {
		var a, b int
		switch e.kind {
		case elemClass:
			a, b = 1, 1
		case elemAssert:
		case elemGap:
			a, b = int(e.min), int(e.max)
		case elemNode:
			a, b = nodeLen(r.nodes[e.ref])
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
