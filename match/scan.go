package match

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"sync"
)

const (
	// blockSize is the unit of work between cancellation checks; all
	// prefilter passes run over one block before the next, so the block
	// stays in cache.
	blockSize = 4 << 20
	// parallelMin is the smallest input split among workers.
	parallelMin = 4 << 20
)

// worker is the per-goroutine state of a scan: raw hits per segment (in
// atom order, not yet sorted) and NFA scratch.
type worker struct {
	m       *Matcher
	data    []byte
	seg     [][]Hit
	segTr   []bool
	touched []int32
	sc      nfaScratch
	skip    []uint64 // patterns not to verify (ScanMasked); nil: none

	// Cancellation inside a block: verifications can be slow (a regular
	// expression whose atom is everywhere), so every verifyCheck of them
	// look at ctx, and once it is done the rest of the block is skipped.
	ctx       context.Context
	verifies  uint32
	cancelled bool
}

// verifyCheck is how many verifications run between looks at the context.
const verifyCheck = 1 << 10

// stopped reports whether the scan's context ended, looking at it only
// every verifyCheck calls.
func (w *worker) stopped() bool {
	if w.cancelled || w.sc.cancelled {
		w.cancelled = true
		return true
	}
	w.verifies++
	if w.verifies%verifyCheck == 0 && w.ctx != nil && w.ctx.Err() != nil {
		w.cancelled = true
	}
	return w.cancelled
}

// skipped reports whether the scan leaves pattern p out.
func (w *worker) skipped(p int32) bool {
	return w.skip != nil && w.skip[p>>6]&(1<<(p&63)) != 0
}

func (w *worker) reset(m *Matcher, data []byte) {
	for _, s := range w.touched {
		w.seg[s] = w.seg[s][:0]
		w.segTr[s] = false
	}
	w.touched = w.touched[:0]
	if len(w.seg) != len(m.segs) || w.m != m {
		w.seg = make([][]Hit, len(m.segs))
		w.segTr = make([]bool, len(m.segs))
	}
	w.m, w.data = m, data
	w.sc.init(max(m.maxNodes, 1))
}

// added notes that segment s's raw hits grew from before, compacting the
// buffer when it reaches twice the cap: the hits kept are those with the
// smallest starts, which is exact because later compactions can only
// replace them by smaller ones.
func (w *worker) added(s int32, before int) {
	hs := w.seg[s]
	if before == 0 && len(hs) > 0 {
		w.touched = append(w.touched, s)
	}
	if len(hs) >= 2*w.m.maxHits {
		var cut bool
		w.seg[s], cut = normalize(hs, w.m.maxHits)
		w.segTr[s] = w.segTr[s] || cut
	}
}

// verify checks atom a of segment s found at data[at:].
func (w *worker) verify(ref *aref, at int) {
	s := &w.m.segs[ref.seg]
	if w.stopped() {
		return
	}
	a := &s.atoms[ref.atom]
	n := len(w.seg[ref.seg])
	if s.fix != nil {
		st := at - a.off
		if !s.fix.match(w.data, st, s.first) {
			return
		}
		w.seg[ref.seg] = append(w.seg[ref.seg], Hit{int64(st), int64(st + s.fix.len())})
	} else {
		end := s.prog.forward(w.data, a.sk, at+len(a.cls), -1, s.first, &w.sc, ref.seg)
		if end < 0 {
			return
		}
		w.seg[ref.seg] = s.prog.backward(w.data, a.s0, at, end, s.first, &w.sc, ref.seg, w.seg[ref.seg])
	}
	w.added(ref.seg, n)
}

// candidates verifies the atoms spelled key found at data[at:], those of
// patterns the scan does not skip whose precheck passes.
func (w *worker) candidates(g *group, key uint32, at int) {
	refs := g.lookup(key)
	for i := range refs {
		r := &refs[i]
		if w.skipped(r.pat) || !r.pre.pass(w.data, at) {
			continue
		}
		w.verify(r, at)
	}
}

// scanBlock finds every atom occurrence starting in [lo, hi) and tries
// the atom-less segments at every start in [lo, hi).
func (w *worker) scanBlock(lo, hi int) {
	m, data := w.m, w.data
	for l := 4; l >= 3; l-- {
		switch g := m.groups[l]; {
		case g == nil:
		case g.bm3 != nil:
			w.scanStride(g, lo, hi)
		default:
			w.scanHashed(g, lo, hi)
		}
	}
	if g := m.groups[2]; g != nil {
		for i := lo; i < min(hi, len(data)-1); i++ {
			k := uint32(binary.LittleEndian.Uint16(data[i:]))
			if g.bits[k>>6]&(1<<(k&63)) != 0 {
				w.candidates(g, k, i)
			}
		}
	}
	if g := m.groups[1]; g != nil {
		for i := lo; i < min(hi, len(data)); i++ {
			k := uint32(data[i])
			if g.bits[k>>6]&(1<<(k&63)) != 0 {
				w.candidates(g, k, i)
			}
		}
	}
	for _, id := range m.scanAll {
		w.scanEvery(id, lo, hi)
	}
}

// scanHashed is the hot loop for 3-byte atoms and large sets of 4-byte ones: two 8-byte loads
// serve eight positions, each costing a multiply and a bit test with no
// dependency between positions and one branch per eight.
func (w *worker) scanHashed(g *group, lo, hi int) {
	data, bm, sh := w.data, g.bm, g.bmask
	mask := uint32(1)<<(8*g.length) - 1
	if g.length == 4 {
		mask = ^uint32(0)
	}
	hi = min(hi, len(data))
	i := lo
	if hi-lo >= 16 && lo >= 0 {
		// d starts at i and ends where the last window of [lo, hi) ends
		// (eight bytes beyond for the loads), so that the loop's loads
		// are provably in range.
		d := data[i:min(hi+11, len(data))]
		for ; len(d) >= 19; d = d[8:] {
			x := binary.LittleEndian.Uint64(d)
			y := binary.LittleEndian.Uint64(d[4:])
			h0 := bmHash(uint32(x)&mask, sh)
			h1 := bmHash(uint32(x>>8)&mask, sh)
			h2 := bmHash(uint32(x>>16)&mask, sh)
			h3 := bmHash(uint32(x>>24)&mask, sh)
			h4 := bmHash(uint32(y)&mask, sh)
			h5 := bmHash(uint32(y>>8)&mask, sh)
			h6 := bmHash(uint32(y>>16)&mask, sh)
			h7 := bmHash(uint32(y>>24)&mask, sh)
			if (bm[h0>>6]>>(h0&63)|bm[h1>>6]>>(h1&63)|bm[h2>>6]>>(h2&63)|bm[h3>>6]>>(h3&63)|
				bm[h4>>6]>>(h4&63)|bm[h5>>6]>>(h5&63)|bm[h6>>6]>>(h6&63)|bm[h7>>6]>>(h7&63))&1 != 0 {
				w.probe(g, i, 8)
			}
			i += 8
		}
	}
	for ; i < hi && i+g.length <= len(data); i++ {
		var k uint32
		for j := range g.length {
			k |= uint32(data[i+j]) << (8 * j)
		}
		h := bmHash(k, sh)
		if bm[h>>6]>>(h&63)&1 != 0 {
			w.candidates(g, k, i)
		}
	}
}

// scanStride is the hot loop for 4-byte atoms. Every occurrence of a
// 4-byte atom at p contains the 3-byte window at whichever of p and p+1 has
// the parity of lo, so it samples only those (two loads serve six samples,
// one branch per six), tests them against the bitmap of the atoms' 3-byte
// prefixes and suffixes, and checks both starts a sample can belong to: half
// the multiplies and bit tests of testing every position.
func (w *worker) scanStride(g *group, lo, hi int) {
	data, bm3, sh := w.data, g.bm3, g.bmask3
	// An atom starting at p needs p+4 <= len(data).
	hi = min(hi, len(data)-3)
	if lo < 0 || lo >= hi {
		return
	}
	// Samples q = lo, lo+2, ... <= hi; the one at hi serves the start
	// hi-1. d runs from q to where the loads of the last full step of six
	// end, so that they are provably in range.
	q := lo
	d := data[q:min(hi+11, len(data))]
	for ; len(d) >= 21; d = d[12:] {
		x := binary.LittleEndian.Uint64(d)
		y := binary.LittleEndian.Uint64(d[6:])
		h0 := bm3Hash(uint32(x)&0xffffff, sh)
		h1 := bm3Hash(uint32(x>>16)&0xffffff, sh)
		h2 := bm3Hash(uint32(x>>32)&0xffffff, sh)
		h3 := bm3Hash(uint32(y)&0xffffff, sh)
		h4 := bm3Hash(uint32(y>>16)&0xffffff, sh)
		h5 := bm3Hash(uint32(y>>32)&0xffffff, sh)
		if bm3[h0>>6]&(1<<(h0&63))|bm3[h1>>6]&(1<<(h1&63))|bm3[h2>>6]&(1<<(h2&63))|
			bm3[h3>>6]&(1<<(h3&63))|bm3[h4>>6]&(1<<(h4&63))|bm3[h5>>6]&(1<<(h5&63)) != 0 {
			w.probeStride(g, q, q+12, lo, hi)
		}
		q += 12
	}
	w.probeStride(g, q, hi+1, lo, hi)
}

// probeStride tests the samples q, q+2, ... below end one by one and
// checks both atom starts of each that passes; starts outside [lo, hi) are
// another chunk's.
func (w *worker) probeStride(g *group, q, end, lo, hi int) {
	data := w.data
	for ; q < end && q <= hi; q += 2 {
		k3 := uint32(data[q]) | uint32(data[q+1])<<8 | uint32(data[q+2])<<16
		h := bm3Hash(k3, g.bmask3)
		if g.bm3[h>>6]>>(h&63)&1 != 0 {
			w.checkStride(g, q, 1, lo, hi)
		}
	}
}

// checkStride checks the atom starts of the samples q+2t for every bit t
// set in hit: both starts each sample can belong to, within [lo, hi).
func (w *worker) checkStride(g *group, q int, hit uint64, lo, hi int) {
	data := w.data
	for ; hit != 0; hit &= hit - 1 {
		s := q + 2*bits.TrailingZeros64(hit)
		for p := max(s-1, lo); p <= s && p < hi; p++ {
			k := binary.LittleEndian.Uint32(data[p:])
			h := bmHash(k, g.bmask)
			if g.bm[h>>6]>>(h&63)&1 != 0 {
				w.candidates(g, k, p)
			}
		}
	}
}

// scanEvery tries segment id at every start in [lo, hi).
func (w *worker) scanEvery(id int32, lo, hi int) {
	s := &w.m.segs[id]
	if w.skipped(s.pat) {
		return
	}
	data := w.data
	fb := &w.m.fbs[s.fb]
	for st := lo; st < hi && st <= len(data); st++ {
		if !s.nullable && (st == len(data) || !fb.Has(data[st])) {
			continue
		}
		if w.stopped() {
			return
		}
		n := len(w.seg[id])
		if s.fix != nil {
			if !s.fix.match(data, st, s.first) {
				continue
			}
			w.seg[id] = append(w.seg[id], Hit{int64(st), int64(st + s.fix.len())})
		} else {
			end := s.prog.forward(data, s.prog.start, st, st, s.first, &w.sc, id)
			if end < 0 {
				continue
			}
			w.seg[id] = append(w.seg[id], Hit{int64(st), int64(end)})
		}
		w.added(id, n)
	}
}

// run scans starts [lo, hi) block by block, checking ctx between blocks.
func (w *worker) run(ctx context.Context, lo, hi int) error {
	for b := lo; b < hi; b += w.m.block {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("match: scan cancelled at offset %d: %w", b, err)
		}
		w.scanBlock(b, min(b+w.m.block, hi))
	}
	if w.cancelled || w.sc.cancelled {
		return fmt.Errorf("match: scan cancelled: %w", ctx.Err())
	}
	return nil
}

// Scan finds every hit of every pattern in data and stores them in h
// (which it resets first). With workers > 1 and large data the atom search
// is split into that many chunks searched in parallel; verification always
// sees the whole data, so results do not depend on workers. Scan is safe to
// call concurrently on one Matcher with different Hits. On error (ctx done)
// h holds no usable result.
func (m *Matcher) Scan(ctx context.Context, data []byte, workers int, h *Hits) error {
	return m.ScanMasked(ctx, data, workers, h, nil)
}

// ScanMasked is Scan with the patterns whose bit is set in skip (bit p%64
// of skip[p/64]) left out: their atoms still pass the prefilter but are
// never verified, and they get no hits. A host that knows before the
// search that it cannot use some patterns (YARA strings of rules already
// ruled out by filesize or header checks) pays almost nothing for them.
func (m *Matcher) ScanMasked(ctx context.Context, data []byte, workers int, h *Hits, skip []uint64) error {
	if skip != nil && len(skip) < (len(m.pats)+63)/64 {
		return fmt.Errorf("match: skip mask of %d words for %d patterns", len(skip), len(m.pats))
	}
	h.Reset()
	if len(h.pats) != len(m.pats) {
		h.pats = make([][]Hit, len(m.pats))
		h.trunc = make([]bool, len(m.pats))
	}
	if len(h.segHits) != len(m.segs) {
		h.segHits = make([][]Hit, len(m.segs))
		h.segTr = make([]bool, len(m.segs))
	}
	if workers < 1 || len(data) < m.minParallel {
		workers = 1
	}
	for len(h.workers) < workers {
		h.workers = append(h.workers, &worker{})
	}
	ws := h.workers[:workers]
	search := m.dup.searchMask(skip, h.maskBuf)
	if skip != nil && m.dup.groups != nil {
		h.maskBuf = search
	}
	for _, w := range ws {
		w.reset(m, data)
		w.skip = search
		w.ctx, w.verifies, w.cancelled = ctx, 0, false
		w.sc.ctx, w.sc.work, w.sc.cancelled = ctx, 0, false
	}
	// Starts run over 0..len(data) inclusive: a pattern that matches the
	// empty string matches at the very end too.
	total := len(data) + 1
	if workers == 1 {
		if err := ws[0].run(ctx, 0, total); err != nil {
			return err
		}
	} else {
		errs := make([]error, workers)
		var wg sync.WaitGroup
		chunk := (total + workers - 1) / workers
		for i, w := range ws {
			lo, hi := i*chunk, min((i+1)*chunk, total)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = w.run(ctx, lo, hi)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	if err := m.collect(ctx, h, ws); err != nil {
		return err
	}
	m.dup.spread(h, skip)
	return nil
}

// collect merges the workers' raw segment hits, searches the dependent
// segments near their neighbours' hits, and chains segments into pattern
// hits.
func (m *Matcher) collect(ctx context.Context, h *Hits, ws []*worker) error {
	w0 := ws[0]
	for _, w := range ws[1:] {
		for _, s := range w.touched {
			n := len(w0.seg[s])
			w0.seg[s] = append(w0.seg[s], w.seg[s]...)
			w0.segTr[s] = w0.segTr[s] || w.segTr[s]
			w0.added(s, n)
		}
	}
	pats := h.patScratch[:0]
	for _, s := range w0.touched {
		m.normalizeSeg(h, w0, s)
		pats = append(pats, m.segs[s].pat)
	}
	slices.Sort(pats)
	pats = slices.Compact(pats)
	h.patScratch = pats
	for i, p := range pats {
		pi := &m.pats[p]
		if i%64 == 63 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("match: scan cancelled while chaining: %w", err)
			}
		}
		if len(pi.segs) == 1 {
			s := pi.segs[0]
			h.pats[p], h.trunc[p] = w0.seg[s], h.segTr[s]
		} else {
			out, tr, ok := m.chainPattern(h, w0, pi)
			if !ok {
				continue
			}
			var cut bool
			h.pats[p], cut = normalize(out, m.maxHits)
			h.trunc[p] = tr || cut
		}
		if len(h.pats[p]) > 0 {
			h.matched = append(h.matched, int(p))
		}
	}
	if w0.cancelled || w0.sc.cancelled {
		return fmt.Errorf("match: scan cancelled while chaining: %w", ctx.Err())
	}
	return nil
}

func (m *Matcher) normalizeSeg(h *Hits, w0 *worker, s int32) {
	var cut bool
	w0.seg[s], cut = normalize(w0.seg[s], m.maxHits)
	h.segTr[s] = w0.segTr[s] || cut
}

// chainPattern resolves a split pattern: it gives up unless every
// independently searched segment has hits, searches each dependent segment
// only at the starts its neighbours allow, and chains the results.
func (m *Matcher) chainPattern(h *Hits, w0 *worker, pi *patInfo) ([]Hit, bool, bool) {
	for _, s := range pi.segs {
		if !m.segs[s].dep && len(w0.seg[s]) == 0 {
			return nil, false, false
		}
	}
	segs := make([][]Hit, len(pi.segs))
	tr := false
	n := len(w0.data)
	for j, s := range pi.segs {
		seg := &m.segs[s]
		if seg.dep {
			// Allowed starts: after the previous segment's hits by
			// the gap, and early enough for the next segment's last
			// hit (when that one is known).
			hi := n
			if j+1 < len(pi.segs) && !m.segs[pi.segs[j+1]].dep {
				next := w0.seg[pi.segs[j+1]]
				hi = int(next[len(next)-1].Start-pi.gaps[j].min) - int(seg.minLen)
			}
			before := len(w0.seg[s])
			if j == 0 {
				w0.scanEvery(s, 0, hi+1)
			} else {
				prev, g := segs[j-1], pi.gaps[j-1]
				if g.max < 0 {
					lo := prev[0].End
					for _, x := range prev {
						lo = min(lo, x.End)
					}
					w0.scanEvery(s, int(lo+g.min), hi+1)
				} else {
					// Bounded gap: prev has fixed length, so its
					// ends are sorted; merge the windows.
					lo, up := int64(-1), int64(-1)
					for _, x := range prev {
						a, b := x.End+g.min, x.End+g.max
						if lo >= 0 && a <= up+1 {
							up = max(up, b)
							continue
						}
						if lo >= 0 {
							w0.scanEvery(s, int(lo), min(int(up), hi)+1)
						}
						lo, up = a, b
					}
					w0.scanEvery(s, int(lo), min(int(up), hi)+1)
				}
			}
			if before == 0 && len(w0.seg[s]) > 0 {
				m.normalizeSeg(h, w0, s)
			}
		}
		if len(w0.seg[s]) == 0 {
			return nil, false, false
		}
		segs[j] = w0.seg[s]
		tr = tr || h.segTr[s]
	}
	return h.chain(segs, pi.gaps, nil), tr, true
}

// probe checks the n positions from i one by one.
func (w *worker) probe(g *group, i, n int) {
	for j := i; j < i+n && j+g.length <= len(w.data); j++ {
		var k uint32
		for b := range g.length {
			k |= uint32(w.data[j+b]) << (8 * b)
		}
		h := bmHash(k, g.bmask)
		if g.bm[h>>6]>>(h&63)&1 != 0 {
			w.candidates(g, k, j)
		}
	}
}
