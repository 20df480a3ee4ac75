package match

import (
	"fmt"
	"math/bits"
	"strings"
)

// Op is the kind of a pattern syntax node.
type Op uint8

// The node kinds. Every front end (ClamAV hex signatures, YARA text, hex and
// regular-expression strings) lowers into trees of these, so the matcher has
// one input language over raw bytes.
const (
	OpEmpty   Op = iota // matches the empty string
	OpLiteral           // Lit, byte for byte (ASCII letters folded when Fold)
	OpClass             // one byte from Class
	OpConcat            // Sub[0] Sub[1] ...
	OpAlt               // Sub[0] | Sub[1] | ... (leftmost first)
	OpRepeat            // Sub[0] repeated Min..Max times (Max < 0: unbounded)
	OpAssert            // zero-width assertion Assert
)

// Assertion is a zero-width condition at a position.
type Assertion uint8

// Zero-width assertions. The ClamAV boundary tokens (B) (L) (W) and YARA's
// regular-expression anchors map onto these.
const (
	AssertBegin        Assertion = iota + 1 // start of data (YARA ^)
	AssertEnd                               // end of data (YARA $)
	AssertWordBoundary                      // YARA \b: [A-Za-z0-9_] on exactly one side
	AssertNotWordBoundary
	AssertClamBoundary // ClamAV (B): a non-alphanumeric byte or the edge of the data on this side
	AssertClamLineEnd  // ClamAV (L): CR, LF or the edge of the data
	AssertClamNonAlnum // ClamAV (W): a non-alphanumeric byte (not the edge)
	AssertLineStart    // multi-line ^
	AssertLineEnd      // multi-line $
	// YARA's \b and \B as its engine evaluates them: like the word
	// boundaries, but the edges of the data count as a boundary (\b holds
	// there and \B does not, whatever the byte next to the edge).
	AssertEdgeWordBoundary
	AssertEdgeNotWordBoundary
	// The same in wide strings: word characters are 16-bit units (a byte
	// of [A-Za-z0-9_] then a zero byte).
	AssertWideWordBoundary
	AssertWideNotWordBoundary
)

// Class is a set of bytes, one bit per byte value.
type Class [4]uint64

// Add puts b in the set.
func (c *Class) Add(b byte) { c[b>>6] |= 1 << (b & 63) }

// AddRange puts lo..hi (inclusive) in the set.
func (c *Class) AddRange(lo, hi byte) {
	for b := int(lo); b <= int(hi); b++ {
		c.Add(byte(b))
	}
}

// Has reports whether b is in the set.
func (c *Class) Has(b byte) bool { return c[b>>6]&(1<<(b&63)) != 0 }

// Negate replaces the set by its complement.
func (c *Class) Negate() {
	for i := range c {
		c[i] = ^c[i]
	}
}

// Count returns the number of bytes in the set.
func (c *Class) Count() int {
	return bits.OnesCount64(c[0]) + bits.OnesCount64(c[1]) + bits.OnesCount64(c[2]) + bits.OnesCount64(c[3])
}

// AnyByte returns the class of all 256 byte values.
func AnyByte() Class { return Class{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)} }

// Node is a node of a byte-pattern syntax tree.
type Node struct {
	Op     Op
	Lit    []byte    // OpLiteral
	Fold   bool      // OpLiteral: ASCII case-insensitive
	Class  Class     // OpClass
	Sub    []*Node   // OpConcat, OpAlt, OpRepeat (one)
	Min    int       // OpRepeat
	Max    int       // OpRepeat; < 0 means no upper bound
	Greedy bool      // OpRepeat: prefer more repetitions (regular expressions)
	Assert Assertion // OpAssert
}

// Lit returns a node matching b exactly.
func Lit(b []byte) *Node { return &Node{Op: OpLiteral, Lit: b} }

// Cls returns a node matching one byte of c.
func Cls(c Class) *Node { return &Node{Op: OpClass, Class: c} }

// Cat returns the concatenation of subs.
func Cat(subs ...*Node) *Node { return &Node{Op: OpConcat, Sub: subs} }

// Alt returns the alternation of subs.
func Alt(subs ...*Node) *Node { return &Node{Op: OpAlt, Sub: subs} }

// Gap returns a node matching min..max arbitrary bytes (max < 0: unbounded).
func Gap(min, max int) *Node {
	return &Node{Op: OpRepeat, Sub: []*Node{Cls(AnyByte())}, Min: min, Max: max, Greedy: true}
}

// String renders the tree in a compact regular-expression-like notation, for
// tests and debugging.
func (n *Node) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *Node) write(b *strings.Builder) {
	switch n.Op {
	case OpEmpty:
		b.WriteString("()")
	case OpLiteral:
		if n.Fold {
			b.WriteString("(?i)")
		}
		fmt.Fprintf(b, "%x", n.Lit)
	case OpClass:
		if n.Class == AnyByte() {
			b.WriteString("??")
		} else {
			fmt.Fprintf(b, "[%d]", n.Class.Count())
		}
	case OpConcat:
		b.WriteByte('(')
		for i, s := range n.Sub {
			if i > 0 {
				b.WriteByte(' ')
			}
			s.write(b)
		}
		b.WriteByte(')')
	case OpAlt:
		b.WriteByte('(')
		for i, s := range n.Sub {
			if i > 0 {
				b.WriteByte('|')
			}
			s.write(b)
		}
		b.WriteByte(')')
	case OpRepeat:
		n.Sub[0].write(b)
		if n.Max < 0 {
			fmt.Fprintf(b, "{%d,}", n.Min)
		} else {
			fmt.Fprintf(b, "{%d,%d}", n.Min, n.Max)
		}
	case OpAssert:
		fmt.Fprintf(b, "\\A%d", n.Assert)
	}
}
