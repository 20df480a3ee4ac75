package match

import (
	"slices"
	"sort"
)

// Hit is one match: it occupies data[Start:End].
type Hit struct{ Start, End int64 }

// Hits holds the results of a Scan and the scratch state behind them, so
// that repeated scans allocate nothing once warm. Results stay valid until
// the next Scan or Reset. A Hits is not safe for concurrent use; use one per
// goroutine.
type Hits struct {
	pats    [][]Hit // by pattern; nil or empty when no hit
	trunc   []bool
	matched []int
	segHits [][]Hit // merged per segment
	segTr   []bool
	workers []*worker
	// chain scratch
	best, nbest, suffix []int64
	deque               []int32
	patScratch          []int32
	maskBuf             []uint64 // the search's skip mask (dupInfo.searchMask)
}

// NewHits returns an empty Hits.
func NewHits() *Hits { return &Hits{} }

// Reset forgets the last scan's results.
func (h *Hits) Reset() {
	for _, p := range h.matched {
		h.pats[p] = nil
		h.trunc[p] = false
	}
	h.matched = h.matched[:0]
}

// Matched returns the indices of the patterns with at least one hit, in
// ascending order.
func (h *Hits) Matched() []int { return h.matched }

// Of returns pattern p's hits sorted by Start, one per distinct Start with
// the shortest End. The slice belongs to h: read it, do not keep or change
// it across scans.
func (h *Hits) Of(p int) []Hit {
	if p < 0 || p >= len(h.pats) {
		return nil
	}
	return h.pats[p]
}

// Truncated reports whether pattern p reached the hit cap, so that some of
// its hits (those with the largest starts) were dropped.
func (h *Hits) Truncated(p int) bool {
	return p >= 0 && p < len(h.trunc) && h.trunc[p]
}

// sortHits orders hits by Start, then End.
func sortHits(hs []Hit) {
	slices.SortFunc(hs, func(a, b Hit) int {
		switch {
		case a.Start != b.Start:
			if a.Start < b.Start {
				return -1
			}
			return 1
		case a.End < b.End:
			return -1
		case a.End > b.End:
			return 1
		}
		return 0
	})
}

// normalize sorts hs, keeps one hit per Start (the shortest), and cuts it
// to at most max hits; it reports whether it cut.
func normalize(hs []Hit, max int) ([]Hit, bool) {
	sortHits(hs)
	out := hs[:0]
	for i, x := range hs {
		if i > 0 && x.Start == hs[i-1].Start {
			continue
		}
		out = append(out, x)
	}
	if len(out) > max {
		return out[:max], true
	}
	return out, false
}

// chain combines the hits of a split pattern's segments (each normalized)
// into the pattern's hits: a hit of segment 0 becomes a pattern hit when
// some sequence of hits of the following segments respects every gap; its
// End is the smallest reachable end of the last segment. It works backward
// from the last segment keeping, per hit, the best end reachable from it.
func (h *Hits) chain(segs [][]Hit, gaps []gapSpec, dst []Hit) []Hit {
	const none = int64(-1)
	k := len(segs)
	last := segs[k-1]
	h.best = h.best[:0]
	for _, x := range last {
		h.best = append(h.best, x.End)
	}
	for j := k - 2; j >= 0; j-- {
		next, nb := segs[j+1], h.best
		cur := segs[j]
		h.nbest = h.nbest[:0]
		g := gaps[j]
		if g.max < 0 {
			// Unbounded gap: the best over all later starts.
			h.suffix = append(h.suffix[:0], make([]int64, len(nb)+1)...)
			h.suffix[len(nb)] = none
			for t := len(nb) - 1; t >= 0; t-- {
				s := h.suffix[t+1]
				if nb[t] != none && (s == none || nb[t] < s) {
					s = nb[t]
				}
				h.suffix[t] = s
			}
			for _, x := range cur {
				lo := x.End + g.min
				t := sort.Search(len(next), func(i int) bool { return next[i].Start >= lo })
				h.nbest = append(h.nbest, h.suffix[t])
			}
		} else {
			// Bounded gap after a fixed-length segment: the windows
			// [End+min, End+max] only move right, so a monotone deque
			// gives each window's minimum.
			dq := h.deque[:0]
			r := 0
			for _, x := range cur {
				lo, hi := x.End+g.min, x.End+g.max
				for r < len(next) && next[r].Start <= hi {
					if nb[r] != none {
						for len(dq) > 0 && nb[dq[len(dq)-1]] >= nb[r] {
							dq = dq[:len(dq)-1]
						}
						dq = append(dq, int32(r))
					}
					r++
				}
				for len(dq) > 0 && next[dq[0]].Start < lo {
					dq = dq[1:]
				}
				if len(dq) > 0 {
					h.nbest = append(h.nbest, nb[dq[0]])
				} else {
					h.nbest = append(h.nbest, none)
				}
			}
			h.deque = dq[:0]
		}
		h.best, h.nbest = h.nbest, h.best
	}
	for t, x := range segs[0] {
		if h.best[t] != none {
			dst = append(dst, Hit{x.Start, h.best[t]})
		}
	}
	return dst
}
