package match

import "fmt"

// builder assembles one segment's NFA and picks its atoms while doing so,
// because an atom is a path of NFA edges: verification restarts the NFA at
// the atom's first and last node.
type builder struct {
	from     []int32 // edge sources, parallel to edges
	edges    []edge
	n        int32
	classes  []Class
	classIdx map[Class]int32
	budget   int // flatten budget for nested repeats
	sided    bool
	err      error
	refs     *elemRefs
}

func newBuilder(refs *elemRefs) *builder {
	return &builder{classIdx: make(map[Class]int32), budget: maxNodesPerSegment, refs: refs}
}

func (b *builder) node() int32 {
	if b.n >= maxNodesPerSegment && b.err == nil {
		b.err = fmt.Errorf("pattern needs more than %d automaton states", maxNodesPerSegment)
	}
	b.n++
	return b.n - 1
}

func (b *builder) class(c Class) int32 {
	if i, ok := b.classIdx[c]; ok {
		return i
	}
	i := int32(len(b.classes))
	b.classes = append(b.classes, c)
	b.classIdx[c] = i
	return i
}

func (b *builder) eps(from, to int32) {
	if from != to {
		b.from = append(b.from, from)
		b.edges = append(b.edges, edge{to: to, kind: edgeEps})
	}
}

func (b *builder) byteEdge(from, to int32, c Class) {
	b.from = append(b.from, from)
	b.edges = append(b.edges, edge{to: to, kind: edgeClass, cls: b.class(c)})
}

func (b *builder) assertEdge(from, to int32, a Assertion) {
	if sideDependent(a) {
		b.sided = true
	}
	b.from = append(b.from, from)
	b.edges = append(b.edges, edge{to: to, kind: edgeAssert, as: a})
}

// finish lays the edges out forward and backward.
func (b *builder) finish(start, accept int32) prog {
	p := prog{start: start, accept: accept, classes: b.classes, sided: b.sided}
	n := int(b.n)
	p.fwdOff = make([]int32, n+1)
	p.bwdOff = make([]int32, n+1)
	for i, e := range b.edges {
		p.fwdOff[b.from[i]+1]++
		p.bwdOff[e.to+1]++
	}
	for i := 0; i < n; i++ {
		p.fwdOff[i+1] += p.fwdOff[i]
		p.bwdOff[i+1] += p.bwdOff[i]
	}
	p.fwd = make([]edge, len(b.edges))
	p.bwd = make([]edge, len(b.edges))
	fi := append([]int32(nil), p.fwdOff[:n]...)
	bi := append([]int32(nil), p.bwdOff[:n]...)
	for i, e := range b.edges {
		f := b.from[i]
		p.fwd[fi[f]] = e
		fi[f]++
		r := e
		r.to = f
		p.bwd[bi[e.to]] = r
		bi[e.to]++
	}
	return p
}

// runItem is one byte position of a run of consecutive class elements.
type runItem struct {
	ei     int32 // index of the element in the run's elements
	node   int32 // NFA node before the byte
	off    int32 // bytes from the segment start, -1 when not fixed
	count  int32 // cls.Count()
	single byte  // the byte, when count == 1
}

func newRunItem(node int32, ei int, e *elem, off int) runItem {
	return runItem{ei: int32(ei), node: node, off: int32(off), count: int32(e.count), single: e.single}
}

// compileElems adds the NFA for es starting at node from and returns its end
// node and the best atom cover found in it (nil when none or !want). off is
// the fixed offset of from within the segment, or -1.
func (b *builder) compileElems(es []elem, from int32, off int, want bool) (int32, *cover) {
	cur := from
	var best *cover
	var run []runItem
	flush := func() {
		if want && len(run) > 0 {
			if c := bestWindow(run, es, b.refs, cur); c.better(best) {
				best = c
			}
		}
		run = run[:0]
	}
	for i := range es {
		e := &es[i]
		if b.err != nil {
			return cur, nil
		}
		switch e.kind {
		case elemClass:
			t := b.node()
			b.byteEdge(cur, t, e.class(b.refs))
			run = append(run, newRunItem(cur, i, e, off))
			cur = t
			if off >= 0 {
				off++
			}
		case elemAssert:
			flush()
			t := b.node()
			b.assertEdge(cur, t, e.as)
			cur = t
		case elemNode, elemGap:
			flush()
			var n *Node
			if e.kind == elemGap {
				n = Gap(int(e.min), int(e.max))
			} else {
				n = b.refs.nodes[e.ref]
			}
			t, c := b.compileNode(n, cur, want)
			if c.better(best) {
				best = c
			}
			cur = t
			off = -1
		}
	}
	flush()
	return cur, best
}

// compileNode adds the NFA for n starting at node from.
func (b *builder) compileNode(n *Node, from int32, want bool) (int32, *cover) {
	if b.err != nil {
		return from, nil
	}
	switch n.Op {
	case OpAlt:
		to := b.node()
		var u *cover
		for i, s := range n.Sub {
			t, c := b.compileNode(s, from, want)
			b.eps(t, to)
			if i == 0 {
				u = c
			} else {
				u = u.union(c)
			}
		}
		if len(n.Sub) == 0 {
			u = nil
		}
		return to, u
	case OpRepeat:
		sub := n.Sub[0]
		cur := from
		var cov *cover
		for i := 0; i < n.Min && b.err == nil; i++ {
			t, c := b.compileNode(sub, cur, want && i == 0)
			if i == 0 {
				cov = c
			}
			cur = t
		}
		if n.Max < 0 {
			l := b.node()
			b.eps(cur, l)
			t, _ := b.compileNode(sub, l, false)
			b.eps(t, l)
			return l, cov
		}
		for i := n.Min; i < n.Max && b.err == nil; i++ {
			j := b.node()
			b.eps(cur, j)
			t, _ := b.compileNode(sub, cur, false)
			b.eps(t, j)
			cur = j
		}
		return cur, cov
	default:
		es := flatten(n, nil, false, &b.budget, b.refs)
		if b.budget < 0 {
			b.err = fmt.Errorf("pattern too large after repeat expansion")
			return from, nil
		}
		return b.compileElems(es, from, -1, want)
	}
}
