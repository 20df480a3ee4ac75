package match

import (
	"fmt"
	"slices"
)

// Options tune a Matcher.
type Options struct {
	// MaxHitsPerPattern caps the hits kept per pattern (and per segment of
	// a split pattern); 0 means 1,000,000, YARA's limit.
	MaxHitsPerPattern int
}

// DefaultMaxHits is the hit cap used when Options.MaxHitsPerPattern is 0.
const DefaultMaxHits = 1_000_000

// Matcher finds all patterns of a set in one pass. It is immutable after
// Compile and safe for concurrent use.
type Matcher struct {
	pats     []patInfo
	segs     []segment
	groups   [maxAtomLen + 1]*group // by atom length; nil when none
	scanAll  []int32                // segments without atoms
	fbs      []Class                // bytes a match can begin with, of the segments tried at every offset
	dup      dupInfo                // patterns searched once for several
	maxHits  int
	maxNodes int
	// minParallel and block are parallelMin and blockSize; tests lower
	// them to exercise chunk and block boundaries on small inputs.
	minParallel, block int
}

// patInfo chains a pattern's segments: segment i+1 starts between gaps[i].min
// and gaps[i].max bytes after segment i ends (max < 0: unbounded).
type patInfo struct {
	segs []int32
	gaps []gapSpec
}

type gapSpec struct{ min, max int64 }

// segment is one separately searched piece of a pattern.
type segment struct {
	pat      int32
	q        int32 // quality of atoms
	minLen   int32
	nodes    int32     // NFA size, for scratch sizing
	first    bool      // begins its pattern: ClamAV assertions at its start look left
	dep      bool      // searched only near its neighbours' hits, not on its own
	nullable bool      // matches the empty string
	prog     *prog     // the NFA; nil when fix is set
	fix      *fixedSeq // fast path, nil unless fixed length and classes only
	atoms    []atomCand
	fb       int32 // segments tried at every offset: index in Matcher.fbs
}

// Len returns the number of patterns.
func (m *Matcher) Len() int { return len(m.pats) }

// compiler holds Compile's scratch buffers, reused from pattern to pattern,
// and the slabs the Matcher's small per-segment slices are carved from.
type compiler struct {
	es       []elem
	segFB    []Class // the current pattern's segments' first bytes
	fb       Class   // set by newSegment
	refs     elemRefs
	keys     []uint32
	segIDs   slab[int32]
	fixes    slab[fixedSeq]
	bytes    slab[byte]
	extras   slab[fixedExtra]
	fclasses slab[fixedClass]
	asserts  slab[fixedAssert]
	gaps     slab[gapSpec]
	parts    [][]elem
	gapElems []elem
	atoms    slab[atomCand]
	classes  slab[Class]
}

// Compile builds a Matcher for pats; pattern i is pats[i].
func Compile(pats []*Node, opt Options) (*Matcher, error) {
	m := &Matcher{maxHits: opt.MaxHitsPerPattern, minParallel: parallelMin, block: blockSize}
	if m.maxHits <= 0 {
		m.maxHits = DefaultMaxHits
	}
	m.pats = make([]patInfo, 0, len(pats))
	m.segs = make([]segment, 0, len(pats)+len(pats)/4)
	var c compiler
	var entries [maxAtomLen + 1][]groupEntry
	seen := make(map[string]int32, len(pats))
	var key []byte
	canon := make([]int32, len(pats))
	aliases := 0
	for i, n := range pats {
		if err := validate(n, 0); err != nil {
			return nil, fmt.Errorf("match: pattern %d: %w", i, err)
		}
		key = nodeKey(key[:0], n)
		if c, ok := seen[string(key)]; ok {
			canon[i] = c
			aliases++
			m.pats = append(m.pats, patInfo{})
			continue
		}
		seen[string(key)] = int32(i)
		canon[i] = int32(i)
		budget := maxNodesPerSegment
		c.refs.reset()
		c.es = flatten(n, c.es[:0], true, &budget, &c.refs)
		if budget < 0 {
			return nil, fmt.Errorf("match: pattern %d: too large after repeat expansion", i)
		}
		parts, gaps := c.split(c.es)
		pi := patInfo{gaps: gaps, segs: c.segIDs.alloc(len(parts))}
		base := int32(len(m.segs))
		for j, part := range parts {
			// Built in place: a segment is large and holds pointers.
			m.segs = append(m.segs, segment{pat: int32(i), first: j == 0})
			seg := &m.segs[len(m.segs)-1]
			if err := c.newSegment(seg, part); err != nil {
				return nil, fmt.Errorf("match: pattern %d: %w", i, err)
			}
			if j == 0 {
				c.segFB = c.segFB[:0]
			}
			c.segFB = append(c.segFB, c.fb)
			pi.segs[j] = base + int32(j)
			m.maxNodes = max(m.maxNodes, int(seg.nodes))
		}
		markDependent(m.segs[base:])
		for j := range parts {
			id := base + int32(j)
			seg := &m.segs[id]
			if seg.dep || seg.atoms == nil {
				// Only these are tried offset by offset (scanEvery).
				seg.fb = int32(len(m.fbs))
				m.fbs = append(m.fbs, c.segFB[j])
			}
			switch {
			case seg.dep:
			case seg.atoms == nil:
				m.scanAll = append(m.scanAll, id)
			default:
				for a := range seg.atoms {
					ref := aref{seg: id, atom: int32(a), pat: int32(i), pre: seg.atoms[a].pre}
					l := len(seg.atoms[a].cls)
					c.keys = seg.atoms[a].appendKeys(c.keys[:0])
					for _, key := range c.keys {
						entries[l] = append(entries[l], groupEntry{key: key, ref: ref})
					}
				}
			}
		}
		m.pats = append(m.pats, pi)
	}
	if aliases > 0 {
		m.dup = newDupInfo(canon)
	}
	if cap(m.segs)-len(m.segs) > len(m.segs)/8 {
		m.segs = slices.Clone(m.segs) // the estimate was high: give back the rest
	}
	for l := 1; l <= maxAtomLen; l++ {
		if len(entries[l]) > 0 {
			m.groups[l] = newGroup(l, entries[l])
		}
	}
	return m, nil
}

// split cuts a flattened pattern at its gaps where the segments can be
// chained exactly: every segment must consume at least one byte (so that
// only the first one sees the match start) and a bounded gap must follow a
// fixed-length segment (a variable one would need all of its ends, not just
// the shortest). Other gaps stay inside their segment.
func (c *compiler) split(es []elem) ([][]elem, []gapSpec) {
	parts, gaps := c.parts[:0], c.gapElems[:0]
	start := 0
	for i, e := range es {
		if e.kind == elemGap {
			// Full slice expressions: a later merge must copy, not
			// overwrite the gap element that follows.
			parts = append(parts, es[start:i:i])
			gaps = append(gaps, e)
			start = i + 1
		}
	}
	parts = append(parts, es[start:len(es):len(es)])
	for i := 0; i < len(gaps); {
		amin, amax := elemLen(parts[i], &c.refs)
		bmin, _ := elemLen(parts[i+1], &c.refs)
		if amin >= 1 && bmin >= 1 && (gaps[i].max < 0 || amin == amax) {
			i++
			continue
		}
		parts[i] = append(append(parts[i], gaps[i]), parts[i+1]...)
		parts = append(parts[:i+1], parts[i+2:]...)
		gaps = append(gaps[:i], gaps[i+1:]...)
	}
	c.parts, c.gapElems = parts, gaps
	specs := c.gaps.alloc(len(gaps))
	for i, g := range gaps {
		specs[i] = gapSpec{int64(g.min), int64(g.max)}
	}
	return parts, specs
}

// newSegment fills in s, whose pat and first are set, for elements es.
func (c *compiler) newSegment(s *segment, es []elem) error {
	c.fb = Class{}
	minLen, _ := elemLen(es, &c.refs)
	s.minLen = int32(minLen)
	if s.fix = c.newFixedSeq(es); s.fix != nil {
		// The fast path (most ClamAV bodies) needs no automaton: atoms
		// come straight from the runs of byte classes between
		// assertions, scored on the elements themselves.
		var best window
		bestAt, bestOff := 0, 0
		if s.fix.extra == nil || len(s.fix.extra.asserts) == 0 {
			// One run, the usual case.
			best = bestIn(es, maxAtomLen)
		} else {
			begin, off, runOff := 0, 0, 0
			flush := func(end int) {
				if best.q == maxQuality && best.n == 1 {
					return
				}
				if w := bestIn(es[begin:end], maxAtomLen); w.better(best) {
					best, bestAt, bestOff = w, begin, runOff
				}
			}
			for i := range es {
				if es[i].kind == elemAssert {
					flush(i)
					begin, runOff = i+1, off
					continue
				}
				off++
			}
			flush(len(es))
		}
		s.nullable = s.fix.len() == 0
		for i := range es {
			if es[i].kind == elemClass {
				c.fb = es[i].class(&c.refs)
				break
			}
		}
		if best.k > 0 {
			cls := c.classes.alloc(best.k)
			for j := range cls {
				cls[j] = es[bestAt+best.i+j].class(&c.refs)
			}
			s.atoms = c.atoms.alloc(1)
			n, off := s.fix.len(), bestOff+best.i
			pre := newPrecheck(n, off, best.k, func(j int) (byte, byte) { return s.fix.mv[j], s.fix.mv[n+j] })
			s.atoms[0] = atomCand{cls: cls, s0: -1, sk: -1, off: off, pre: pre}
			s.q = int32(best.q)
		}
		return nil
	}
	b := newBuilder(&c.refs)
	start := b.node()
	accept, cov := b.compileElems(es, start, 0, true)
	if b.err != nil {
		return b.err
	}
	p := b.finish(start, accept)
	s.prog, s.nodes = &p, b.n
	if cov != nil {
		s.atoms, s.q = cov.atoms, int32(cov.q)
	}
	c.fb, s.nullable = s.prog.firstBytes()
	return nil
}

// depQuality is the atom quality below which a segment of a split pattern
// is not searched on its own (about three good bytes).
const depQuality = 60

// markDependent decides which segments of one pattern are searched on
// their own. A segment whose atoms are poor or missing (ClamAV "?? ?? 4?"
// between two gaps) would be verified at a large share of all offsets; it is
// cheaper to look for it only where its neighbours' hits allow it, after
// the search. The best segment is always searched; if no segment has
// atoms the first one is (at every offset).
func markDependent(segs []segment) {
	if len(segs) == 1 {
		return
	}
	best := -1
	for j := range segs {
		if segs[j].atoms != nil && (best < 0 || segs[j].q > segs[best].q) {
			best = j
		}
	}
	if best < 0 {
		best = 0
	}
	for j := range segs {
		segs[j].dep = j != best && (segs[j].atoms == nil || segs[j].q < depQuality)
	}
}

// Slow reports whether pattern p is expensive to search: some segment of it
// that is searched on its own has no atom (it is tried at every offset) or
// only a one-byte atom. Front ends can warn about such patterns, as YARA
// does for strings that "slow down scanning".
func (m *Matcher) Slow(p int) bool {
	if p < 0 || p >= len(m.pats) {
		return false
	}
	if m.dup.canon != nil {
		p = int(m.dup.canon[p])
	}
	for _, s := range m.pats[p].segs {
		seg := &m.segs[s]
		if seg.dep {
			continue
		}
		if seg.atoms == nil {
			return true
		}
		for _, a := range seg.atoms {
			if len(a.cls) < 2 {
				return true
			}
		}
	}
	return false
}
