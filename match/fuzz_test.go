package match

import (
	"fmt"
	"testing"
)

// genReader turns fuzz input into choices.
type genReader struct {
	b []byte
	i int
}

func (r *genReader) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *genReader) intn(n int) int { return int(r.next()) % n }

// alphabet is small so random patterns and data meet often; it holds
// letters of both cases, a digit, separators and the bytes atoms avoid.
const alphabet = "abAB1_ \n\x00\xff-"

func (r *genReader) byteOf() byte { return alphabet[r.intn(len(alphabet))] }

// genNode builds a random pattern tree of bounded size.
func (r *genReader) genNode(depth int) *Node {
	op := r.intn(10)
	if depth > 3 && op >= 2 && op <= 5 {
		op = 0
	}
	switch op {
	case 0, 9:
		n := 1 + r.intn(5)
		lit := make([]byte, n)
		for i := range lit {
			lit[i] = r.byteOf()
		}
		return &Node{Op: OpLiteral, Lit: lit, Fold: r.intn(3) == 0}
	case 1:
		var c Class
		switch r.intn(4) {
		case 0:
			c = AnyByte()
		case 1:
			b := r.byteOf()
			c.AddRange(b&0xf0, b|0x0f)
		default:
			for k := 1 + r.intn(3); k > 0; k-- {
				c.Add(r.byteOf())
			}
			if r.intn(4) == 0 {
				c.Negate()
			}
		}
		return Cls(c)
	case 2:
		n := 2 + r.intn(3)
		subs := make([]*Node, n)
		for i := range subs {
			subs[i] = r.genNode(depth + 1)
		}
		return Cat(subs...)
	case 3:
		n := 1 + r.intn(3)
		subs := make([]*Node, n)
		for i := range subs {
			subs[i] = r.genNode(depth + 1)
		}
		return Alt(subs...)
	case 4:
		min := r.intn(3)
		max := min + r.intn(3)
		if r.intn(4) == 0 {
			max = -1
		}
		return &Node{Op: OpRepeat, Sub: []*Node{r.genNode(depth + 1)}, Min: min, Max: max}
	case 5:
		min := r.intn(4)
		max := min + r.intn(40)
		if r.intn(3) == 0 {
			max = -1
		}
		return Gap(min, max)
	case 6:
		return &Node{Op: OpAssert, Assert: Assertion(1 + r.intn(int(AssertLineEnd)))}
	case 7:
		return &Node{Op: OpEmpty}
	default:
		// A ClamAV-like body: literal, gap, literal.
		a := []byte{r.byteOf(), r.byteOf(), r.byteOf()}
		b := []byte{r.byteOf(), r.byteOf()}
		min := r.intn(3)
		max := min + r.intn(30)
		if r.intn(2) == 0 {
			max = -1
		}
		return Cat(Lit(a), Gap(min, max), Lit(b))
	}
}

// genCase builds 1–4 patterns and up to 300 bytes of data.
func genCase(in []byte) ([]*Node, []byte) {
	r := &genReader{b: in}
	np := 1 + r.intn(4)
	pats := make([]*Node, np)
	for i := range pats {
		pats[i] = r.genNode(0)
	}
	n := min(300, len(in)-r.i)
	data := make([]byte, 0, n)
	for len(data) < n {
		data = append(data, r.byteOf())
	}
	return pats, data
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"\x02\x00\x01\x02\x03\x04abcabcab",
		"\x01\x08\x01\x02\x00\x01\x05\x05\x05abababab",
		"\x03\x04\x00\x01\x02\x06\x05\x00\x09\x03\x01\x02\x03\x04\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09",
		"\x00\x08\x00\x01\x02\x03\x04\x09\x01\x02\x02\x00\x01\x02\x00\x01\x02\x03\x04\x05\x06\x07",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		pats, data := genCase(in)
		m, err := Compile(pats, Options{MaxHitsPerPattern: 50})
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		m.minParallel, m.block = 1, 1+int(len(in)%17)
		h := NewHits()
		for _, workers := range []int{1, 3} {
			if err := m.Scan(t.Context(), data, workers, h); err != nil {
				t.Fatal(err)
			}
			for i, p := range pats {
				ref := refHits(p, data, 50)
				if h.Truncated(i) {
					// A split pattern whose later segment hit the
					// cap may lose hits; what it reports must
					// still start where a match starts.
					checkStarts(t, p, data, h.Of(i))
					continue
				}
				want := fmtHits(ref)
				if got := fmtHits(h.Of(i)); got != want {
					t.Fatalf("workers %d pattern %d %s on %q:\n got %s\nwant %s", workers, i, p, data, got, want)
				}
			}
		}
	})
}

func checkStarts(t *testing.T, p *Node, data []byte, hs []Hit) {
	t.Helper()
	for _, x := range hs {
		ends := refStep(p, data, int(x.Start), refSet{int(x.Start): true})
		if !ends[int(x.End)] {
			t.Fatalf("pattern %s on %q: hit %d:%d is not a match", p, data, x.Start, x.End)
		}
	}
}

func FuzzCompile(f *testing.F) {
	f.Add([]byte("\x04\x02\x01\x00\x05\x06"))
	f.Add([]byte("\x02\x03\x04\x04\x04\x04\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		// Arbitrary trees, including invalid ones: Compile must return
		// an error or a Matcher that scans without panicking.
		r := &genReader{b: in}
		var rawNode func(depth int) *Node
		rawNode = func(depth int) *Node {
			n := &Node{Op: Op(r.intn(9))}
			switch n.Op {
			case OpLiteral:
				n.Lit = []byte{r.next(), r.next()}[:r.intn(3)]
				n.Fold = r.intn(2) == 0
			case OpClass:
				n.Class[r.intn(4)] = uint64(r.next()) * 0x0101010101010101
			case OpConcat, OpAlt, OpRepeat:
				if depth < 6 {
					for k := r.intn(4); k > 0; k-- {
						n.Sub = append(n.Sub, rawNode(depth+1))
					}
				}
				n.Min = int(int8(r.next())) * (1 + r.intn(40))
				n.Max = int(int8(r.next())) * (1 + r.intn(40))
			case OpAssert:
				n.Assert = Assertion(r.intn(12))
			}
			return n
		}
		var pats []*Node
		for k := 1 + r.intn(3); k > 0; k-- {
			pats = append(pats, rawNode(0))
		}
		m, err := Compile(pats, Options{})
		if err != nil {
			return
		}
		h := NewHits()
		data := []byte(fmt.Sprintf("%x %s", in, in))
		data = data[:min(len(data), 256)]
		if err := m.Scan(t.Context(), data, 2, h); err != nil {
			t.Fatal(err)
		}
	})
}
