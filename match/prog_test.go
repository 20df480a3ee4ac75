package match

import (
	"math/rand"
	"strings"
	"testing"
)

// btMatch is a backtracking reference for Prog: it tries the tree's
// choices in Perl's order (greedy repeats longest first, lazy ones
// shortest first, alternatives left to right) and returns the end of the
// first complete match at start.
func btMatch(n *Node, data []byte, start, limit int) (int, bool) {
	end := -1
	ok := bt(n, data, start, limit, func(p int) bool { end = p; return true })
	return end, ok
}

func bt(n *Node, data []byte, pos, limit int, k func(int) bool) bool {
	switch n.Op {
	case OpEmpty:
		return k(pos)
	case OpLiteral:
		for i, c := range n.Lit {
			fc := foldClass(c, n.Fold)
			if pos+i >= limit || !fc.Has(data[pos+i]) {
				return false
			}
		}
		return k(pos + len(n.Lit))
	case OpClass:
		return pos < limit && n.Class.Has(data[pos]) && k(pos+1)
	case OpConcat:
		var seq func(i, p int) bool
		seq = func(i, p int) bool {
			if i == len(n.Sub) {
				return k(p)
			}
			return bt(n.Sub[i], data, p, limit, func(q int) bool { return seq(i+1, q) })
		}
		return seq(0, pos)
	case OpAlt:
		for _, s := range n.Sub {
			if bt(s, data, pos, limit, k) {
				return true
			}
		}
		return false
	case OpRepeat:
		var rep func(i, p int) bool
		rep = func(i, p int) bool {
			if i < n.Min {
				return bt(n.Sub[0], data, p, limit, func(q int) bool { return rep(i+1, q) })
			}
			if n.Max >= 0 && i >= n.Max {
				return k(p)
			}
			more := func() bool {
				return bt(n.Sub[0], data, p, limit, func(q int) bool { return rep(i+1, q) })
			}
			if n.Greedy {
				return more() || k(p)
			}
			return k(p) || more()
		}
		return rep(0, pos)
	case OpAssert:
		return assertAt(n.Assert, data, pos, false) && k(pos)
	}
	return false
}

// randTree returns a random small tree over the bytes 'a' and 'b'.
func randTree(rng *rand.Rand, depth int, greedy bool) *Node {
	if depth <= 0 {
		switch rng.Intn(6) {
		case 0:
			var c Class
			c.Add('a')
			c.Add('b')
			return Cls(c)
		case 1:
			return &Node{Op: OpAssert, Assert: []Assertion{AssertBegin, AssertEnd, AssertWordBoundary, AssertNotWordBoundary}[rng.Intn(4)]}
		case 2:
			return &Node{Op: OpLiteral, Lit: []byte("A"), Fold: true}
		}
		return Lit([]byte{"ab"[rng.Intn(2)]})
	}
	switch rng.Intn(4) {
	case 0:
		return Cat(randTree(rng, depth-1, greedy), randTree(rng, depth-1, greedy))
	case 1:
		return Alt(randTree(rng, depth-1, greedy), randTree(rng, depth-1, greedy))
	case 2:
		min := rng.Intn(3)
		max := min + rng.Intn(3)
		if rng.Intn(3) == 0 {
			max = -1
		}
		// Repeats of what can match empty are left out: the engines
		// differ there (yara, like Prog, drops a thread that loops back
		// to where it was; backtracking engines vary).
		sub := randTree(rng, depth-1, greedy)
		for lo, _ := nodeLen(sub); lo == 0; lo, _ = nodeLen(sub) {
			sub = randTree(rng, depth-1, greedy)
		}
		return &Node{Op: OpRepeat, Sub: []*Node{sub}, Min: min, Max: max, Greedy: greedy}
	}
	return randTree(rng, 0, greedy)
}

func TestProgMatchesBacktracking(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	inputs := []string{"", "a", "ab", "aab", "abab", "bbaab", "aAbab", "abba abba", "aaaaaaaa", "ba_ab!ab"}
	for i := 0; i < 3000; i++ {
		n := randTree(rng, 1+rng.Intn(4), rng.Intn(2) == 0)
		p, err := CompileProg(n)
		if err != nil {
			t.Fatalf("%v: %v", n, err)
		}
		for _, in := range inputs {
			data := []byte(in)
			for start := 0; start <= len(data); start++ {
				limit := len(data)
				if rng.Intn(4) == 0 {
					limit = start + rng.Intn(len(data)-start+1)
				}
				we, wok := btMatch(n, data, start, limit)
				ge, gok := p.MatchAt(data, start, limit)
				if we != ge || wok != gok {
					t.Fatalf("%v on %q at %d (limit %d): got %d,%v want %d,%v", n, in, start, limit, ge, gok, we, wok)
				}
			}
			// Find: the leftmost start with a match, its priority end.
			ws, we := -1, -1
			for s := 0; s <= len(data); s++ {
				if e, ok := btMatch(n, data, s, len(data)); ok {
					ws, we = s, e
					break
				}
			}
			gs, ge, ok := p.Find(data)
			if gs != ws || ge != we || ok != (ws >= 0) {
				t.Fatalf("%v: Find(%q) = %d,%d,%v want %d,%d", n, in, gs, ge, ok, ws, we)
			}
		}
	}
}

func TestProgTable(t *testing.T) {
	a, b := Lit([]byte("a")), Lit([]byte("b"))
	star := func(n *Node, greedy bool) *Node {
		return &Node{Op: OpRepeat, Sub: []*Node{n}, Min: 0, Max: -1, Greedy: greedy}
	}
	for _, tc := range []struct {
		name string
		n    *Node
		in   string
		end  int // -1: no match at 0
	}{
		{"greedy star", Cat(a, star(Cls(AnyByte()), true), b), "axbxbx", 5},
		{"lazy star", Cat(a, star(Cls(AnyByte()), false), b), "axbxbx", 3},
		{"first alternative wins", Alt(a, Lit([]byte("ab"))), "ab", 1},
		{"second when first fails", Cat(Alt(a, Lit([]byte("ab"))), Lit([]byte("c"))), "abc", 3},
		{"counted", &Node{Op: OpRepeat, Sub: []*Node{a}, Min: 2, Max: 3, Greedy: true}, "aaaa", 3},
		{"counted lazy", &Node{Op: OpRepeat, Sub: []*Node{a}, Min: 2, Max: 3}, "aaaa", 2},
		{"too few", &Node{Op: OpRepeat, Sub: []*Node{a}, Min: 2, Max: 3}, "ab", -1},
		{"nullable loop", star(star(a, true), true), "aab", 2},
		{"end anchor", Cat(star(a, true), &Node{Op: OpAssert, Assert: AssertEnd}), "aa", 2},
		{"gap lazy", Cat(a, &Node{Op: OpRepeat, Sub: []*Node{Cls(AnyByte())}, Min: 1, Max: 8}, b), "axxbxb", 4},
	} {
		p, err := CompileProg(tc.n)
		if err != nil {
			t.Fatal(err)
		}
		end, ok := p.MatchAt([]byte(tc.in), 0, len(tc.in))
		if !ok {
			end = -1
		}
		if end != tc.end {
			t.Errorf("%s: %v on %q: end %d, want %d", tc.name, tc.n, tc.in, end, tc.end)
		}
	}
}

func TestProgLimits(t *testing.T) {
	// Unrolled counted repeats are bounded.
	n := &Node{Op: OpRepeat, Sub: []*Node{&Node{Op: OpRepeat, Sub: []*Node{Lit([]byte("abcdefgh"))}, Min: 1000, Max: 1000}}, Min: 1000, Max: 1000}
	if _, err := CompileProg(n); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("CompileProg of a huge repeat: err = %v, want too large", err)
	}
	// Linear time: a pattern that backtracks exponentially runs fast.
	aq := &Node{Op: OpRepeat, Sub: []*Node{Lit([]byte("a"))}, Min: 0, Max: 1, Greedy: true}
	var subs []*Node
	for i := 0; i < 30; i++ {
		subs = append(subs, aq)
	}
	for i := 0; i < 30; i++ {
		subs = append(subs, Lit([]byte("a")))
	}
	p, err := CompileProg(Cat(subs...))
	if err != nil {
		t.Fatal(err)
	}
	if end, ok := p.MatchAt([]byte(strings.Repeat("a", 30)), 0, 30); !ok || end != 30 {
		t.Errorf("a?^30 a^30 on a^30: %d,%v", end, ok)
	}
}

func BenchmarkProgMatchAt(b *testing.B) {
	// /[a-z]+@[a-z]+\.com/ over a 4 KiB window of letters.
	var lower Class
	lower.AddRange('a', 'z')
	plus := func(c Class) *Node {
		return &Node{Op: OpRepeat, Sub: []*Node{Cls(c)}, Min: 1, Max: -1, Greedy: true}
	}
	p, err := CompileProg(Cat(plus(lower), Lit([]byte("@")), plus(lower), Lit([]byte(".com"))))
	if err != nil {
		b.Fatal(err)
	}
	data := []byte(strings.Repeat("abcdefghij", 400) + "@example.com")
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, ok := p.MatchAt(data, 0, len(data)); !ok {
			b.Fatal("no match")
		}
	}
}

func TestProgBudget(t *testing.T) {
	n := Cat(Lit([]byte("a")), &Node{Op: OpRepeat, Sub: []*Node{Cls(AnyByte())}, Min: 0, Max: 2000, Greedy: true}, Lit([]byte("b")))
	p, err := CompileProg(n)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("a" + strings.Repeat("x", 3000) + "b")
	if _, ok, exhausted := p.MatchAtBudget(data, 0, len(data), 1000); ok || !exhausted {
		t.Errorf("small budget: ok %v exhausted %v, want false true", ok, exhausted)
	}
	data = []byte("a" + strings.Repeat("x", 100) + "b" + strings.Repeat("x", 100) + "b")
	if end, ok, exhausted := p.MatchAtBudget(data, 0, len(data), -1); !ok || exhausted || end != len(data) {
		t.Errorf("no budget: end %d ok %v exhausted %v, want %d true false", end, ok, exhausted, len(data))
	}
}

func TestWideWordBoundary(t *testing.T) {
	for _, tc := range []struct {
		data string
		p    int
		want bool
	}{
		{"a\x00-\x00", 2, true},
		{"a\x00b\x00", 2, false},
		{"-\x00-\x00", 2, false},
		{"a\x00", 0, true}, // the edges count as boundaries
		{"a\x00", 2, true},
		{"-a\x00", 1, true}, // before: "-a" is no word unit
	} {
		if got := assertAt(AssertWideWordBoundary, []byte(tc.data), tc.p, false); got != tc.want {
			t.Errorf("wide \\b in %q at %d: %v, want %v", tc.data, tc.p, got, tc.want)
		}
		if got := assertAt(AssertWideNotWordBoundary, []byte(tc.data), tc.p, false); got == tc.want {
			t.Errorf("wide \\B in %q at %d: %v, want %v", tc.data, tc.p, got, !tc.want)
		}
	}
}
