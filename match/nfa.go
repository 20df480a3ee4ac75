package match

import "context"

// edgeKind says how an NFA edge is crossed.
type edgeKind uint8

const (
	edgeEps    edgeKind = iota // free
	edgeClass                  // consumes one byte of classes[cls]
	edgeAssert                 // free when the assertion holds
)

// edge is one NFA transition. In a prog's backward table, to is the edge's
// source.
type edge struct {
	to   int32
	cls  int32
	kind edgeKind
	as   Assertion
}

// prog is a Thompson NFA over bytes for one segment, with its edges stored
// both forward and backward (compressed rows) so that verification can run
// either way from an atom.
type prog struct {
	start, accept int32
	fwdOff        []int32 // node i's forward edges are fwd[fwdOff[i]:fwdOff[i+1]]
	fwd           []edge
	bwdOff        []int32
	bwd           []edge
	classes       []Class
	sided         bool // has side-dependent (ClamAV) assertions
}

func (p *prog) nodes() int { return len(p.fwdOff) - 1 }

// sparseSet is a set of NFA nodes with O(1) clear, add and membership
// (Briggs and Torczon), iterated in insertion order.
type sparseSet struct {
	dense  []int32
	sparse []int32
}

func (s *sparseSet) init(n int) {
	if cap(s.sparse) < n {
		s.sparse = make([]int32, n)
		s.dense = make([]int32, 0, n)
	}
	s.sparse = s.sparse[:n]
	s.dense = s.dense[:0]
}

func (s *sparseSet) has(i int32) bool {
	j := s.sparse[i]
	return int(j) < len(s.dense) && s.dense[j] == i
}

func (s *sparseSet) add(i int32) {
	if !s.has(i) {
		s.sparse[i] = int32(len(s.dense))
		s.dense = append(s.dense, i)
	}
}

func (s *sparseSet) copyFrom(t *sparseSet) {
	s.dense = s.dense[:0]
	for _, i := range t.dense {
		s.add(i)
	}
}

// nfaScratch is the per-worker state of the NFA simulations.
type nfaScratch struct {
	a, b, c, d sparseSet
	memos      map[memoKey]*passMemo
	pool       []*passMemo
	used       int
	budget     int
	off        passMemo // stands in when the memo limits are reached

	// ctx is the scan's context, looked at every spendCheck units of NFA
	// work (states times positions), so that one long pass does not
	// outlive a deadline; cancelled records that it ended.
	ctx       context.Context
	work      int
	cancelled bool
}

// spendCheck is the NFA work between looks at the context: a few
// milliseconds.
const spendCheck = 1 << 21

// spend accounts for n units of work and reports whether the scan's
// context has ended.
func (sc *nfaScratch) spend(n int) bool {
	sc.work += n
	if sc.work >= spendCheck {
		sc.work = 0
		if sc.ctx != nil && sc.ctx.Err() != nil {
			sc.cancelled = true
		}
	}
	return sc.cancelled
}

type memoKey struct {
	seg     int32
	forward bool
}

func (sc *nfaScratch) init(n int) {
	sc.a.init(n)
	sc.b.init(n)
	sc.c.init(n)
	sc.d.init(n)
	if sc.memos == nil {
		sc.memos = make(map[memoKey]*passMemo)
	}
	clear(sc.memos)
	sc.used = 0
	sc.budget = memoMaxTotalStates
}

// memo returns the pass memo of segment seg in one direction.
func (sc *nfaScratch) memo(seg int32, forward bool) *passMemo {
	k := memoKey{seg, forward}
	if m := sc.memos[k]; m != nil {
		return m
	}
	if sc.used == memoMaxMemos {
		none := 0
		sc.off.reset(&none)
		return &sc.off
	}
	if sc.used == len(sc.pool) {
		sc.pool = append(sc.pool, &passMemo{})
	}
	m := sc.pool[sc.used]
	sc.used++
	m.reset(&sc.budget)
	sc.memos[k] = m
	return m
}

// closure adds to s every node reachable from its members through free
// edges at position pos, following the forward or backward table.
func (p *prog) closure(s *sparseSet, data []byte, pos int, atStart, forward bool) {
	off, edges := p.fwdOff, p.fwd
	if !forward {
		off, edges = p.bwdOff, p.bwd
	}
	for i := 0; i < len(s.dense); i++ {
		q := s.dense[i]
		for _, e := range edges[off[q]:off[q+1]] {
			switch e.kind {
			case edgeEps:
				s.add(e.to)
			case edgeAssert:
				if assertAt(e.as, data, pos, atStart) {
					s.add(e.to)
				}
			}
		}
	}
}

// step puts into dst the nodes reached from src by consuming b.
func (p *prog) step(dst, src *sparseSet, b byte, forward bool) {
	off, edges := p.fwdOff, p.fwd
	if !forward {
		off, edges = p.bwdOff, p.bwd
	}
	dst.dense = dst.dense[:0]
	for _, q := range src.dense {
		for _, e := range edges[off[q]:off[q+1]] {
			if e.kind == edgeClass && p.classes[e.cls].Has(b) {
				dst.add(e.to)
			}
		}
	}
}

// forward runs the NFA from node from at position pos and returns the
// smallest end at which the accept node is reached, or -1. mstart is the
// start of the match being verified and first whether this segment begins
// its pattern; together they decide which side the ClamAV assertions see.
func (p *prog) forward(data []byte, from int32, pos, mstart int, first bool, sc *nfaScratch, seg int32) int {
	cur, nxt := &sc.a, &sc.b
	cur.dense = cur.dense[:0]
	cur.add(from)
	memo := sc.memo(seg, true)
	memo.begin()
	for {
		p.closure(cur, data, pos, first && pos == mstart, true)
		// The closed set decides everything from here on. The same set
		// ends where the earlier pass ended; a subset of a set from which
		// no end was reachable reaches none either (a later atom hit
		// inside a run an earlier pass already walked to its death).
		if j := memo.find(pos, true); j >= 0 && (sameSet(cur, memo.entry(j)) ||
			memo.res[j] < 0 && subset(cur, memo.entry(j), &sc.d)) {
			end := memo.res[j]
			memo.end(end, true, j)
			return int(end)
		}
		memo.record(pos, cur, 0)
		if cur.has(p.accept) {
			memo.end(int64(pos), true, -1)
			return pos
		}
		if pos >= len(data) {
			break
		}
		p.step(nxt, cur, data[pos], true)
		if len(nxt.dense) == 0 || sc.spend(len(cur.dense)+1) {
			break
		}
		pos++
		cur, nxt = nxt, cur
	}
	memo.end(-1, true, -1)
	return -1
}

// backward runs the NFA in reverse from node to at position pos and appends
// a Hit{start, end} to dst for every position start at which the start node
// is reached.
func (p *prog) backward(data []byte, to int32, pos, end int, first bool, sc *nfaScratch, seg int32, dst []Hit) []Hit {
	cur, nxt, left := &sc.a, &sc.b, &sc.c
	cur.dense = cur.dense[:0]
	cur.add(to)
	twoSided := first && p.sided
	memo := sc.memo(seg, false)
	memo.begin()
	for {
		if j := memo.find(pos, false); j >= 0 && memo.res[j] <= int64(end) && subset(cur, memo.entry(j), &sc.d) {
			memo.end(0, false, j)
			return dst
		}
		memo.record(pos, cur, int64(end))
		if twoSided {
			// Reaching the start here makes pos the match start, so the
			// assertions crossed at pos look left; continuing to consume
			// makes them look right. Keep both closures.
			left.copyFrom(cur)
			p.closure(left, data, pos, true, false)
			p.closure(cur, data, pos, false, false)
			if left.has(p.start) {
				dst = append(dst, Hit{int64(pos), int64(end)})
			}
		} else {
			p.closure(cur, data, pos, false, false)
			if cur.has(p.start) {
				dst = append(dst, Hit{int64(pos), int64(end)})
			}
		}
		if pos == 0 {
			break
		}
		p.step(nxt, cur, data[pos-1], false)
		if len(nxt.dense) == 0 || sc.spend(len(cur.dense)+1) {
			break
		}
		pos--
		cur, nxt = nxt, cur
	}
	memo.end(0, false, -1)
	return dst
}

// firstBytes returns the bytes a non-empty match can begin with (ignoring
// assertions, so a superset) and whether the empty string may match.
func (p *prog) firstBytes() (c Class, nullable bool) {
	var s sparseSet
	s.init(p.nodes())
	s.add(p.start)
	for i := 0; i < len(s.dense); i++ {
		q := s.dense[i]
		for _, e := range p.fwd[p.fwdOff[q]:p.fwdOff[q+1]] {
			if e.kind == edgeClass {
				for j := range c {
					c[j] |= p.classes[e.cls][j]
				}
			} else {
				s.add(e.to)
			}
		}
	}
	return c, s.has(p.accept)
}
