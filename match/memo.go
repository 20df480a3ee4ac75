package match

// Limits of one pass's memo.
const (
	memoMaxEntries = 1 << 20
	memoMaxStates  = 1 << 21
	// per worker: memos (one per segment and direction) and their
	// stored states in all
	memoMaxMemos       = 256
	memoMaxTotalStates = 1 << 23
)

// passMemo remembers the NFA state sets the last verification passes of one
// segment met, by position, so that a later pass can stop where it meets a
// set already explored. Without it a pattern like [a-z]*abcd or abcd[a-z]*x
// costs a walk over the whole letter run for every atom hit in it
// (quadratic); with it each position of the run is explored about once.
//
// A forward pass that meets, at the same position, exactly the set an
// earlier pass met must end where that pass ended. A backward pass that
// meets a subset of an earlier pass's set at the same position can only
// find starts the earlier one found, and with an End no smaller when its
// own end is no smaller, so its remaining hits are redundant.
//
// The entries are stored in the reverse of pass order (a backward pass
// walks positions down, its entries are stored ascending), so that a pass
// that stops on an old entry keeps the old entries up to it and appends its
// own, reversed, after them: O(own entries), never a copy of the old ones.
type passMemo struct {
	off    []int32 // entry i's states are states[off[i]:off[i+1]]
	pos    []int   // reverse pass order
	states []int32
	res    []int64 // forward: the pass's end (-1 none); backward: the pass's end

	// the pass being recorded, in pass order
	npos    []int
	noff    []int32
	nstates []int32
	nres    []int64
	j       int  // cursor into the stored entries, moving down
	budget  *int // the worker's remaining stored-state budget
}

// reset empties the memo.
func (m *passMemo) reset(budget *int) {
	m.pos, m.off, m.states, m.res = m.pos[:0], append(m.off[:0], 0), m.states[:0], m.res[:0]
	m.budget = budget
}

// begin starts recording a pass.
func (m *passMemo) begin() {
	m.npos, m.noff, m.nstates, m.nres = m.npos[:0], append(m.noff[:0], 0), m.nstates[:0], m.nres[:0]
	m.j = len(m.pos) - 1
}

// find returns the stored entry at position p, or -1; forward says which
// way the pass moves.
func (m *passMemo) find(p int, forward bool) int {
	for m.j >= 0 && (forward && m.pos[m.j] < p || !forward && m.pos[m.j] > p) {
		m.j--
	}
	if m.j >= 0 && m.pos[m.j] == p {
		return m.j
	}
	return -1
}

func (m *passMemo) entry(i int) []int32 { return m.states[m.off[i]:m.off[i+1]] }

// record notes the set s of the current pass at position p.
func (m *passMemo) record(p int, s *sparseSet, res int64) {
	if len(m.npos) >= memoMaxEntries || len(m.nstates)+len(s.dense) > min(memoMaxStates, *m.budget) {
		return
	}
	m.npos = append(m.npos, p)
	m.nstates = append(m.nstates, s.dense...)
	m.noff = append(m.noff, int32(len(m.nstates)))
	m.nres = append(m.nres, res)
}

// end finishes the pass. If it stopped on stored entry stop, the stored
// entries up to stop stay; otherwise all are dropped. The pass's own
// entries (with result res when fill is set) follow, reversed.
func (m *passMemo) end(res int64, fill bool, stop int) {
	keep := stop + 1 // stop < 0 keeps none
	if len(m.states)+len(m.nstates) > memoMaxStates {
		keep = 0
	}
	*m.budget += len(m.states)
	m.pos, m.off, m.res = m.pos[:keep], m.off[:keep+1], m.res[:keep]
	m.states = m.states[:m.off[keep]]
	for i := len(m.npos) - 1; i >= 0; i-- {
		m.pos = append(m.pos, m.npos[i])
		m.states = append(m.states, m.nstates[m.noff[i]:m.noff[i+1]]...)
		m.off = append(m.off, int32(len(m.states)))
		if fill {
			m.res = append(m.res, res)
		} else {
			m.res = append(m.res, m.nres[i])
		}
	}
	*m.budget -= len(m.states)
}

// sameSet reports whether s holds exactly the states of list (which has no
// duplicates).
func sameSet(s *sparseSet, list []int32) bool {
	if len(s.dense) != len(list) {
		return false
	}
	for _, q := range list {
		if !s.has(q) {
			return false
		}
	}
	return true
}

// subset reports whether every state of s is in list; mark is scratch.
func subset(s *sparseSet, list []int32, mark *sparseSet) bool {
	if len(s.dense) > len(list) {
		return false
	}
	mark.dense = mark.dense[:0]
	for _, q := range list {
		mark.add(q)
	}
	for _, q := range s.dense {
		if !mark.has(q) {
			return false
		}
	}
	return true
}
