package yara

import (
	"errors"

	"github.com/glassav/glassav/match"
)

// This file reproduces yr_re_match, the regexp search behind yara's
// tests.match(/re/, s). It is not the search `matches` uses: yr_re_match
// runs yara's fiber machine in scan mode, which starts a new lowest-priority
// thread at every offset for as long as the machine runs, lets a match
// kill only the lower-priority threads alive at that moment, and returns
// the offset at which the last match instruction ran. So /x*/ on "yyy"
// gives 2 (the empty match at offset 2) and /ab|b/ on "abb" gives 2 (the
// match of b at offset 1 dies with the threads "ab" kills), where the end
// of the leftmost match would be 0 and 2, and of the last match 3 and 3.
// The input is the string up to its first NUL, searched up to 4,096 bytes
// (RE_SCAN_LIMIT), and yara's \b and \B treat the first offset and the
// scan limit as boundaries whatever the bytes.
//
// Not reproduced: a yara fiber may not pass the same split twice without
// consuming input, so a repeat of a group that can match the empty string
// can fail in yara where it matches here (yara gives -1 for
// /(a|.{0,3})*/ on "aax", this code 3). Such regexps are rare outside
// yara's own tests.

// scanLimit is yara's RE_SCAN_LIMIT.
const scanLimit = 4096

// maxScanInst bounds the program of a tests.match regexp.
const maxScanInst = 1 << 16

type scanOp uint8

const (
	scanByte scanOp = iota
	scanSplit
	scanJmp
	scanAssert
	scanMatch
)

type scanInst struct {
	op     scanOp
	class  match.Class
	assert match.Assertion
	x, y   int // scanSplit: x preferred; scanJmp: x
}

// scanProg is a regexp compiled for yaraScanMatch.
type scanProg []scanInst

func compileScan(n *match.Node) (scanProg, error) {
	var p scanProg
	if err := p.emit(n); err != nil {
		return nil, err
	}
	p = append(p, scanInst{op: scanMatch})
	return p, nil
}

var errScanTooBig = errors.New("regular expression too large for tests.match")

func (p *scanProg) add(i scanInst) (int, error) {
	if len(*p) >= maxScanInst {
		return 0, errScanTooBig
	}
	*p = append(*p, i)
	return len(*p) - 1, nil
}

func (p *scanProg) emit(n *match.Node) error {
	switch n.Op {
	case match.OpEmpty:
	case match.OpLiteral:
		for _, b := range n.Lit {
			var c match.Class
			c.Add(b)
			if n.Fold && (b|0x20) >= 'a' && (b|0x20) <= 'z' {
				c.Add(b ^ 0x20)
			}
			if _, err := p.add(scanInst{op: scanByte, class: c}); err != nil {
				return err
			}
		}
	case match.OpClass:
		_, err := p.add(scanInst{op: scanByte, class: n.Class})
		return err
	case match.OpAssert:
		_, err := p.add(scanInst{op: scanAssert, assert: n.Assert})
		return err
	case match.OpConcat:
		for _, s := range n.Sub {
			if err := p.emit(s); err != nil {
				return err
			}
		}
	case match.OpAlt:
		// split L1, L2; L1: a; jmp end; L2: split …; last: z
		var jumps []int
		for i, s := range n.Sub {
			split := -1
			if i < len(n.Sub)-1 {
				var err error
				if split, err = p.add(scanInst{op: scanSplit}); err != nil {
					return err
				}
				(*p)[split].x = split + 1
			}
			if err := p.emit(s); err != nil {
				return err
			}
			if split >= 0 {
				j, err := p.add(scanInst{op: scanJmp})
				if err != nil {
					return err
				}
				jumps = append(jumps, j)
				(*p)[split].y = len(*p)
			}
		}
		for _, j := range jumps {
			(*p)[j].x = len(*p)
		}
	case match.OpRepeat:
		for i := 0; i < n.Min; i++ {
			if err := p.emit(n.Sub[0]); err != nil {
				return err
			}
		}
		if n.Max < 0 {
			// L: split body, out; body; jmp L
			l, err := p.add(scanInst{op: scanSplit})
			if err != nil {
				return err
			}
			if err := p.emit(n.Sub[0]); err != nil {
				return err
			}
			if _, err := p.add(scanInst{op: scanJmp, x: l}); err != nil {
				return err
			}
			p.setSplit(l, l+1, len(*p), n.Greedy)
			return nil
		}
		// Max-Min optional copies, nested: each may be skipped to the end.
		var splits []int
		for i := n.Min; i < n.Max; i++ {
			s, err := p.add(scanInst{op: scanSplit})
			if err != nil {
				return err
			}
			splits = append(splits, s)
			if err := p.emit(n.Sub[0]); err != nil {
				return err
			}
		}
		for _, s := range splits {
			p.setSplit(s, s+1, len(*p), n.Greedy)
		}
	}
	return nil
}

// setSplit makes split s go to body and out, preferring body when greedy.
func (p scanProg) setSplit(s, body, out int, greedy bool) {
	if greedy {
		p[s].x, p[s].y = body, out
	} else {
		p[s].x, p[s].y = out, body
	}
}

// scanMachine holds the thread lists of one yaraScanMatch run.
type scanMachine struct {
	p       scanProg
	s       []byte
	max     int
	seen    []int // step+1 at which a pc was last added
	clist   []int
	nlist   []int
	stepTag int
}

func isWordByte(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c|0x20 && c|0x20 <= 'z')
}

func (m *scanMachine) assert(a match.Assertion, pos int) bool {
	switch a {
	case match.AssertBegin:
		return pos == 0
	case match.AssertEnd:
		return pos == len(m.s)
	case match.AssertLineStart:
		return pos == 0 || m.s[pos-1] == '\n'
	case match.AssertLineEnd:
		return pos == len(m.s) || m.s[pos] == '\n'
	case match.AssertWordBoundary, match.AssertNotWordBoundary, match.AssertEdgeWordBoundary, match.AssertEdgeNotWordBoundary:
		b := pos == 0 || pos >= m.max || isWordByte(m.s[pos]) != isWordByte(m.s[pos-1])
		return b == (a == match.AssertWordBoundary || a == match.AssertEdgeWordBoundary)
	}
	return false
}

// addThread adds pc and what it reaches without input, in priority order,
// to the list for offset pos.
func (m *scanMachine) addThread(list []int, pc, pos int) []int {
	if m.seen[pc] == m.stepTag {
		return list
	}
	m.seen[pc] = m.stepTag
	in := &m.p[pc]
	switch in.op {
	case scanJmp:
		return m.addThread(list, in.x, pos)
	case scanSplit:
		list = m.addThread(list, in.x, pos)
		return m.addThread(list, in.y, pos)
	case scanAssert:
		if m.assert(in.assert, pos) {
			return m.addThread(list, pc+1, pos)
		}
		return list
	}
	return append(list, pc)
}

// yaraScanMatch returns what yr_re_match returns for p on s: see the top of
// this file.
func yaraScanMatch(p scanProg, s []byte) int64 {
	m := &scanMachine{p: p, s: s, max: min(len(s), scanLimit), seen: make([]int, len(p))}
	m.stepTag = 1
	m.clist = m.addThread(m.clist, 0, 0)
	result := int64(-1)
	// yara checks assertions when a thread reaches them, not when it is
	// created, so the thread started at each offset before the limit keeps
	// the machine running even when its first assertion fails.
	for pos := 0; pos == 0 || pos < m.max || len(m.clist) > 0; pos++ {
		m.stepTag++
		m.nlist = m.nlist[:0]
	threads:
		for _, pc := range m.clist {
			in := &m.p[pc]
			switch in.op {
			case scanMatch:
				result = int64(pos)
				break threads // kills this thread and all of lower priority
			case scanByte:
				if pos < m.max && in.class.Has(s[pos]) {
					m.nlist = m.addThread(m.nlist, pc+1, pos+1)
				}
			}
		}
		if pos+1 < m.max {
			m.nlist = m.addThread(m.nlist, 0, pos+1)
		}
		m.clist, m.nlist = m.nlist, m.clist
	}
	return result
}

// testsMatch is tests.match(re, s).
func testsMatch(re *Regex, s []byte) Value {
	n, err := lowerRegexp(re.src.Source, reFlags{nocase: re.src.NoCase, dotAll: re.src.DotAll})
	if err != nil {
		return undefined(KindInt)
	}
	p, err := compileScan(n)
	if err != nil {
		return undefined(KindInt)
	}
	return intValue(yaraScanMatch(p, cString(s)))
}
