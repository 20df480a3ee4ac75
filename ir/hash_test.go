package ir

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"testing"
)

func TestHashTable(t *testing.T) {
	tab := NewHashTable()
	a, b := []byte("alpha"), []byte("bravo-content")
	m := md5.Sum(a)
	s1 := sha1.Sum(b)
	s2 := sha256.Sum256(b)
	tab.Add(HashFile, m[:], int64(len(a)), "A", 0, Source{File: "x.hdb"})
	tab.Add(HashFile, s1[:], AnySize, "B1", HashPUA, Source{File: "y.hsb"})
	tab.Add(HashPESection, s2[:], int64(len(b)), "B2", 0, Source{File: "y.msb"})
	// Filler so the parallel sort path runs too.
	for i := range 70000 {
		d := md5.Sum([]byte(fmt.Sprint(i)))
		tab.Add(HashFile, d[:], int64(i%100+1000), fmt.Sprint("F", i), 0, Source{File: "z.hdb"})
	}
	tab.Sort()

	tests := []struct {
		kind  HashKind
		data  []byte
		size  int64
		algos string
		want  string
	}{
		{HashFile, a, 5, "[md5 sha1]", "A@x.hdb"},
		{HashFile, a, 6, "[sha1]", ""},
		{HashFile, b, 13, "[sha1]", "B1@y.hsb"},
		{HashPESection, b, 13, "[sha256]", "B2@y.msb"},
		{HashPESection, b, 12, "[]", ""},
		{HashFile, []byte("7"), 1007, "[md5 sha1]", "F7@z.hdb"},
	}
	for _, tt := range tests {
		algos := fmt.Sprint(tab.Algos(tt.kind, tt.size))
		if algos != tt.algos {
			t.Errorf("Algos(%d, %d) = %s, want %s", tt.kind, tt.size, algos, tt.algos)
		}
		got := ""
		for _, al := range tab.Algos(tt.kind, tt.size) {
			var d []byte
			switch al {
			case MD5:
				x := md5.Sum(tt.data)
				d = x[:]
			case SHA1:
				x := sha1.Sum(tt.data)
				d = x[:]
			default:
				x := sha256.Sum256(tt.data)
				d = x[:]
			}
			tab.Lookup(tt.kind, d, tt.size, func(e HashEntry) { got += e.Name + "@" + e.Source.File })
		}
		if got != tt.want {
			t.Errorf("lookup %q size %d = %q, want %q", tt.data, tt.size, got, tt.want)
		}
	}
	if tab.Len() != 70003 {
		t.Errorf("Len = %d", tab.Len())
	}
}

func BenchmarkHashTableAdd(b *testing.B) {
	d := md5.Sum([]byte("x"))
	for b.Loop() {
		tab := NewHashTable()
		for i := range 100000 {
			d[0] = byte(i)
			d[1] = byte(i >> 8)
			tab.Add(HashPESection, d[:], int64(i%5000), "Win.Trojan.Agent-1234567-0", 0, Source{File: "main.mdb"})
		}
		tab.Sort()
	}
}
