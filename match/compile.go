package match

import "fmt"

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
	first    bool      // begins its pattern: ClamAV assertions at its start look left
	prog     *prog     // the NFA; nil when fix is set
	fix      *fixedSeq // fast path, nil unless fixed length and classes only
	atoms    []atomCand
	q        int  // quality of atoms
	dep      bool // searched only near its neighbours' hits, not on its own
	minLen   int
	nodes    int   // NFA size, for scratch sizing
	fb       Class // bytes a match can begin with (for atom-less segments)
	nullable bool
}

// Len returns the number of patterns.
func (m *Matcher) Len() int { return len(m.pats) }

// compiler holds Compile's scratch buffers, reused from pattern to pattern,
// and the slabs the Matcher's small per-segment slices are carved from.
type compiler struct {
	es      []elem
	run     []runItem
	keys    []uint32
	segIDs  slab[int32]
	fixes   slab[fixedSeq]
	items   slab[fixedItem]
	atoms   slab[atomCand]
	classes slab[Class]
}

// Compile builds a Matcher for pats; pattern i is pats[i].
func Compile(pats []*Node, opt Options) (*Matcher, error) {
	m := &Matcher{maxHits: opt.MaxHitsPerPattern, minParallel: parallelMin, block: blockSize}
	if m.maxHits <= 0 {
		m.maxHits = DefaultMaxHits
	}
	m.pats = make([]patInfo, 0, len(pats))
	m.segs = make([]segment, 0, len(pats))
	var c compiler
	var entries [maxAtomLen + 1][]groupEntry
	for i, n := range pats {
		if err := validate(n, 0); err != nil {
			return nil, fmt.Errorf("match: pattern %d: %w", i, err)
		}
		budget := maxNodesPerSegment
		c.es = flatten(n, c.es[:0], true, &budget)
		if budget < 0 {
			return nil, fmt.Errorf("match: pattern %d: too large after repeat expansion", i)
		}
		parts, gaps := split(c.es)
		pi := patInfo{gaps: gaps, segs: c.segIDs.alloc(len(parts))}
		base := int32(len(m.segs))
		for j, part := range parts {
			seg, err := c.newSegment(part, int32(i), j == 0)
			if err != nil {
				return nil, fmt.Errorf("match: pattern %d: %w", i, err)
			}
			pi.segs[j] = base + int32(j)
			m.maxNodes = max(m.maxNodes, seg.nodes)
			m.segs = append(m.segs, seg)
		}
		markDependent(m.segs[base:])
		for j := range parts {
			id := base + int32(j)
			seg := &m.segs[id]
			switch {
			case seg.dep:
			case seg.atoms == nil:
				m.scanAll = append(m.scanAll, id)
			default:
				for a := range seg.atoms {
					ref := aref{seg: id, atom: int32(a)}
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
func split(es []elem) ([][]elem, []gapSpec) {
	var parts [][]elem
	var gaps []elem
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
		amin, amax := elemLen(parts[i])
		bmin, _ := elemLen(parts[i+1])
		if amin >= 1 && bmin >= 1 && (gaps[i].max < 0 || amin == amax) {
			i++
			continue
		}
		parts[i] = append(append(parts[i], gaps[i]), parts[i+1]...)
		parts = append(parts[:i+1], parts[i+2:]...)
		gaps = append(gaps[:i], gaps[i+1:]...)
	}
	specs := make([]gapSpec, len(gaps))
	for i, g := range gaps {
		specs[i] = gapSpec{int64(g.min), int64(g.max)}
	}
	return parts, specs
}

func (c *compiler) newSegment(es []elem, pat int32, first bool) (segment, error) {
	s := segment{pat: pat, first: first}
	s.minLen, _ = elemLen(es)
	if s.fix = c.newFixedSeq(es); s.fix != nil {
		// The fast path (most ClamAV bodies) needs no automaton: atoms
		// come straight from the runs of byte classes.
		s.nullable = true
		var best window
		var bestRun []runItem
		run := c.run[:0]
		begin, off := 0, 0
		flush := func() {
			if w := bestIn(run[begin:], maxAtomLen); w.better(best) {
				best, bestRun = w, run[begin:]
			}
			begin = len(run)
		}
		for _, e := range es {
			if e.kind == elemAssert {
				flush()
				continue
			}
			if s.nullable {
				s.fb, s.nullable = e.cls, false
			}
			run = append(run, newRunItem(-1, e.cls, off))
			off++
		}
		flush()
		c.run = run
		if best.k > 0 {
			s.atoms = c.atoms.alloc(1)
			s.atoms[0] = best.atom(bestRun, -1, c.classes.alloc(best.k))
			s.q = best.q
		}
		return s, nil
	}
	b := newBuilder()
	start := b.node()
	accept, cov := b.compileElems(es, start, 0, true)
	if b.err != nil {
		return segment{}, b.err
	}
	p := b.finish(start, accept)
	s.prog, s.nodes = &p, int(b.n)
	if cov != nil {
		s.atoms, s.q = cov.atoms, cov.q
	}
	s.fb, s.nullable = s.prog.firstBytes()
	return s, nil
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
