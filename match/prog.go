package match

import (
	"fmt"
	"sync"
)

// A Prog is a pattern compiled for priority matching: where the Matcher
// reports, per start, the shortest match, a Prog gives the end a
// backtracking engine with Perl's priorities would choose (greedy repeats
// take as much as they can, lazy ones as little, the leftmost alternative
// that leads to a match wins). YARA reports match lengths that way.
//
// A Prog simulates the pattern's NFA with threads kept in priority order
// (a Pike VM), so it runs in time proportional to the input length times
// the program size and never backtracks. It is safe for concurrent use.
type Prog struct {
	inst  []inst
	class []Class
	pool  sync.Pool // *progMachine
}

// maxProgInst bounds a Prog's size: counted repeats are unrolled, so
// ((a|b){1000}){30} would otherwise grow without limit. It is the
// matcher's NFA limit.
const maxProgInst = 1 << 18

type instOp uint8

const (
	iByte   instOp = iota // one byte in class[arg]; then next
	iSplit                // continue at x (preferred) and y
	iJmp                  // continue at x
	iAssert               // zero-width assertion arg; then next
	iMatch
)

type inst struct {
	op   instOp
	arg  int32 // class index or assertion
	x, y int32
}

// CompileProg compiles the tree n for MatchAt and Find.
func CompileProg(n *Node) (*Prog, error) {
	if err := validate(n, 0); err != nil {
		return nil, err
	}
	c := &progCompiler{classIdx: map[Class]int32{}}
	if err := c.emit(n); err != nil {
		return nil, err
	}
	if _, err := c.add(inst{op: iMatch}); err != nil {
		return nil, err
	}
	return &Prog{inst: c.inst, class: c.classes}, nil
}

type progCompiler struct {
	inst     []inst
	classes  []Class
	classIdx map[Class]int32
}

func (c *progCompiler) add(i inst) (int32, error) {
	if len(c.inst) >= maxProgInst {
		return 0, fmt.Errorf("pattern too large for the priority verifier (more than %d instructions)", maxProgInst)
	}
	c.inst = append(c.inst, i)
	return int32(len(c.inst) - 1), nil
}

func (c *progCompiler) byteInst(cl Class) error {
	k, ok := c.classIdx[cl]
	if !ok {
		k = int32(len(c.classes))
		c.classes = append(c.classes, cl)
		c.classIdx[cl] = k
	}
	_, err := c.add(inst{op: iByte, arg: k})
	return err
}

// next is the index of the next instruction to be emitted.
func (c *progCompiler) next() int32 { return int32(len(c.inst)) }

// emit appends code for n that falls through to whatever follows.
func (c *progCompiler) emit(n *Node) error {
	switch n.Op {
	case OpEmpty:
	case OpLiteral:
		for _, b := range n.Lit {
			if err := c.byteInst(foldClass(b, n.Fold)); err != nil {
				return err
			}
		}
	case OpClass:
		return c.byteInst(n.Class)
	case OpConcat:
		for _, s := range n.Sub {
			if err := c.emit(s); err != nil {
				return err
			}
		}
	case OpAlt:
		if len(n.Sub) == 0 {
			return nil
		}
		var jumps []int32
		for i, s := range n.Sub {
			if i == len(n.Sub)-1 {
				if err := c.emit(s); err != nil {
					return err
				}
				break
			}
			split, err := c.add(inst{op: iSplit})
			if err != nil {
				return err
			}
			c.inst[split].x = c.next()
			if err := c.emit(s); err != nil {
				return err
			}
			j, err := c.add(inst{op: iJmp})
			if err != nil {
				return err
			}
			jumps = append(jumps, j)
			c.inst[split].y = c.next()
		}
		for _, j := range jumps {
			c.inst[j].x = c.next()
		}
	case OpRepeat:
		return c.repeat(n)
	case OpAssert:
		_, err := c.add(inst{op: iAssert, arg: int32(n.Assert)})
		return err
	default:
		return fmt.Errorf("unknown node op %d", n.Op)
	}
	return nil
}

// repeat unrolls x{min,max}: min copies of x, then either a loop (max < 0)
// or max-min nested optional copies, each split ordered by greediness.
func (c *progCompiler) repeat(n *Node) error {
	sub := n.Sub[0]
	for i := 0; i < n.Min; i++ {
		if err := c.emit(sub); err != nil {
			return err
		}
	}
	split := func(body, out int32) inst {
		if n.Greedy {
			return inst{op: iSplit, x: body, y: out}
		}
		return inst{op: iSplit, x: out, y: body}
	}
	if n.Max < 0 {
		loop, err := c.add(inst{})
		if err != nil {
			return err
		}
		if err := c.emit(sub); err != nil {
			return err
		}
		if _, err := c.add(inst{op: iJmp, x: loop}); err != nil {
			return err
		}
		c.inst[loop] = split(loop+1, c.next())
		return nil
	}
	var splits []int32
	for i := n.Min; i < n.Max; i++ {
		s, err := c.add(inst{})
		if err != nil {
			return err
		}
		splits = append(splits, s)
		if err := c.emit(sub); err != nil {
			return err
		}
	}
	out := c.next()
	for _, s := range splits {
		c.inst[s] = split(s+1, out)
	}
	return nil
}

// progMachine is the scratch state of one run.
type progMachine struct {
	cur, nxt threadList
	stack    []int32
}

type thread struct {
	pc    int32
	start int // where the thread's match began (Find)
}

// threadList is a priority-ordered list of threads, with the generation
// at which each instruction was last put on it, so that clearing it is
// O(1).
type threadList struct {
	dense []thread
	gen   uint32
	mark  []uint32 // by pc: the generation when it was added
}

func newThreadList(n int) threadList {
	return threadList{mark: make([]uint32, n), gen: 1}
}

func (l *threadList) clear() {
	l.dense = l.dense[:0]
	l.gen++
	if l.gen == 0 {
		clear(l.mark)
		l.gen = 1
	}
}

func (p *Prog) machine() *progMachine {
	if m, ok := p.pool.Get().(*progMachine); ok {
		return m
	}
	return &progMachine{cur: newThreadList(len(p.inst)), nxt: newThreadList(len(p.inst))}
}

// add puts the thread at pc on l, following jumps, splits (preferred
// branch first) and assertions at position pos of data, so that l holds
// only byte and match instructions, in priority order. The YARA word
// boundaries see data only up to the limit, as yara's engine treats the end
// of its window as an edge; the other assertions see all of data.
func (p *Prog) add(m *progMachine, l *threadList, pc int32, start int, data []byte, limit, pos int) {
	stack := append(m.stack[:0], pc)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
	follow:
		for l.mark[pc] != l.gen {
			l.mark[pc] = l.gen
			in := &p.inst[pc]
			switch in.op {
			case iJmp:
				pc = in.x
			case iSplit:
				stack = append(stack, in.y)
				pc = in.x
			case iAssert:
				a, d := Assertion(in.arg), data
				if a >= AssertEdgeWordBoundary && a <= AssertWideNotWordBoundary {
					d = data[:limit]
				}
				if !assertAt(a, d, pos, false) {
					break follow
				}
				pc++
			default:
				l.dense = append(l.dense, thread{pc: pc, start: start})
				break follow
			}
		}
	}
	m.stack = stack
}

// MatchAt reports whether the pattern matches at start, looking at no byte
// at or beyond limit (assertions still see the whole data), and returns the
// end the priority rules choose.
func (p *Prog) MatchAt(data []byte, start, limit int) (end int, ok bool) {
	end, ok, _ = p.MatchAtBudget(data, start, limit, -1)
	return end, ok
}

// MatchAtBudget is MatchAt giving up, with exhausted set, once it has
// stepped more than budget threads (budget < 0: no limit). Patterns with
// long counted repeats ([^ ]{1,2000}) can keep thousands of threads alive
// per byte; a caller that knows a cheaper approximation of the end uses
// it then.
func (p *Prog) MatchAtBudget(data []byte, start, limit, budget int) (end int, ok, exhausted bool) {
	if start < 0 || start > len(data) {
		return 0, false, false
	}
	if limit > len(data) {
		limit = len(data)
	}
	m := p.machine()
	defer p.pool.Put(m)
	cur, nxt := &m.cur, &m.nxt
	cur.clear()
	p.add(m, cur, 0, start, data, limit, start)
	end = -1
	for pos := start; len(cur.dense) > 0; pos++ {
		if budget >= 0 {
			if budget -= len(cur.dense); budget < 0 {
				return 0, false, true
			}
		}
		nxt.clear()
		for _, t := range cur.dense {
			in := &p.inst[t.pc]
			if in.op == iMatch {
				end = pos
				break // lower-priority threads lose
			}
			if pos < limit && p.class[in.arg].Has(data[pos]) {
				p.add(m, nxt, t.pc+1, t.start, data, limit, pos+1)
			}
		}
		cur, nxt = nxt, cur
	}
	return end, end >= 0, false
}

// Find returns the leftmost match in data, with the end the priority rules
// choose.
func (p *Prog) Find(data []byte) (start, end int, ok bool) {
	return p.find(data, len(data), true)
}

// FindLimit is Find as YARA's `matches` operator searches: only matches
// that end at or before limit count and no byte at or beyond it is read;
// no match starts at limit itself unless it is 0; the YARA word boundaries
// take limit for the end of the data, while the other assertions see all
// of data. (yara searches only the first 4,096 bytes of a string this way.)
func (p *Prog) FindLimit(data []byte, limit int) (start, end int, ok bool) {
	return p.find(data, limit, false)
}

func (p *Prog) find(data []byte, limit int, startAtLimit bool) (start, end int, ok bool) {
	if limit > len(data) {
		limit = len(data)
	}
	m := p.machine()
	defer p.pool.Put(m)
	cur, nxt := &m.cur, &m.nxt
	cur.clear()
	start, end = -1, -1
	for pos := 0; pos <= limit; pos++ {
		if start < 0 && (pos < limit || pos == 0 || startAtLimit) {
			// A thread starting here has the lowest priority: any
			// match from an earlier start wins.
			p.add(m, cur, 0, pos, data, limit, pos)
		} else if start >= 0 && len(cur.dense) == 0 {
			break
		}
		nxt.clear()
		for _, t := range cur.dense {
			in := &p.inst[t.pc]
			if in.op == iMatch {
				start, end = t.start, pos
				break
			}
			if pos < limit && p.class[in.arg].Has(data[pos]) {
				p.add(m, nxt, t.pc+1, t.start, data, limit, pos+1)
			}
		}
		cur, nxt = nxt, cur
	}
	return start, end, start >= 0
}
