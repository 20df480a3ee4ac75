package yara

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// loaded returns the object mod loads for data.
func loaded(t testing.TB, mod Module, sc *ScanContext) *Object {
	t.Helper()
	o, err := mod.Load(sc)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// call1 calls the overload sig of function name of obj.
func call1(t testing.TB, obj *Object, sc *ScanContext, name, sig string, args ...Value) Value {
	t.Helper()
	f := obj.Fields[name]
	if f == nil {
		t.Fatalf("no field %s", name)
	}
	for _, o := range f.Funcs {
		if o.Args == sig {
			return o.Call(sc, args)
		}
	}
	t.Fatalf("no overload %s(%s)", name, sig)
	return Value{}
}

func iv(i int64) Value   { return Value{Kind: KindInt, Int: i} }
func fv(f float64) Value { return Value{Kind: KindFloat, Float: f} }
func sv(s string) Value  { return Value{Kind: KindString, Str: []byte(s)} }
func undef(k Kind) Value { return Value{Kind: k, Undefined: true} }
func same(a, b Value) bool {
	if a.Undefined || b.Undefined {
		return a.Undefined == b.Undefined && a.Kind == b.Kind
	}
	return a.Kind == b.Kind && a.Int == b.Int && a.Float == b.Float && string(a.Str) == string(b.Str)
}

func TestHashStrings(t *testing.T) {
	obj := loaded(t, newHashModule(), &ScanContext{})
	tests := []struct {
		fn, in string
		want   Value
	}{
		// Published test vectors (RFC 1321, FIPS 180, the CRC-32 check value).
		{"md5", "", sv("d41d8cd98f00b204e9800998ecf8427e")},
		{"md5", "abc", sv("900150983cd24fb0d6963f7d28e17f72")},
		{"sha1", "abc", sv("a9993e364706816aba3e25717850c26c9cd0d89d")},
		{"sha256", "abc", sv("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")},
		{"crc32", "123456789", iv(0xcbf43926)},
		{"crc32", "", iv(0)},
		{"checksum32", "\xff\xff\x01", iv(511)},
		// Strings keep their NULs.
		{"md5", "foo\x00bar", sv("f6f5f8cd0cb63668898ba29025ae824e")},
		{"checksum32", "a\x00b", iv('a' + 'b')},
	}
	for _, tt := range tests {
		got := call1(t, obj, nil, tt.fn, "s", sv(tt.in))
		if !same(got, tt.want) {
			t.Errorf("hash.%s(%q) = %+v, want %+v", tt.fn, tt.in, got, tt.want)
		}
	}
}

func TestHashRanges(t *testing.T) {
	data := []byte("hello world\n")
	sc := &ScanContext{Data: data}
	obj := loaded(t, newHashModule(), sc)
	md5hex := func(b []byte) Value { s := md5.Sum(b); return sv(hex.EncodeToString(s[:])) }
	tests := []struct {
		off, n int64
		want   Value
	}{
		{0, 12, md5hex(data)},
		{0, 100, md5hex(data)}, // cut at the end
		{1, 3, md5hex(data[1:4])},
		{11, 0, md5hex(nil)}, // empty range inside the data
		{11, 5, md5hex(data[11:])},
		{12, 0, undef(KindString)}, // offset at the end: outside
		{-1, 5, undef(KindString)},
		{0, -1, undef(KindString)},
		{1 << 62, 1, undef(KindString)},
	}
	for _, tt := range tests {
		got := call1(t, obj, sc, "md5", "ii", iv(tt.off), iv(tt.n))
		if !same(got, tt.want) {
			t.Errorf("hash.md5(%d, %d) = %+v, want %+v", tt.off, tt.n, got, tt.want)
		}
	}
	// Empty data has no range at all.
	empty := &ScanContext{Data: []byte{}}
	for _, fn := range []string{"md5", "sha1", "sha256", "crc32", "checksum32"} {
		if got := call1(t, obj, empty, fn, "ii", iv(0), iv(0)); !got.Undefined {
			t.Errorf("hash.%s(0, 0) of empty data = %+v, want undefined", fn, got)
		}
	}
	// Undefined arguments give an undefined result.
	if got := call1(t, obj, sc, "sha1", "ii", undef(KindInt), iv(1)); !got.Undefined || got.Kind != KindString {
		t.Errorf("hash.sha1(undefined, 1) = %+v", got)
	}
}

func TestHashMemo(t *testing.T) {
	data := []byte(strings.Repeat("abc", 1000))
	sc := &ScanContext{Data: data}
	obj := loaded(t, newHashModule(), sc)
	a := call1(t, obj, sc, "sha256", "ii", iv(0), iv(3000))
	b := call1(t, obj, sc, "sha256", "ii", iv(0), iv(3000))
	if &a.Str[0] != &b.Str[0] {
		t.Error("second hash.sha256(0, 3000) recomputed the digest")
	}
	if len(sc.cache) != 1 {
		t.Errorf("cache holds %d entries, want 1", len(sc.cache))
	}
	c := call1(t, obj, sc, "md5", "ii", iv(0), iv(3000))
	if len(sc.cache) != 2 || string(c.Str) == string(a.Str) {
		t.Errorf("md5 and sha256 of one range share a cache entry")
	}
}

// TestHashPeer compares every hash function on real files with yara
// 4.2.3, and with digests computed outside Go (coreutils, Python's zlib).
func TestHashPeer(t *testing.T) {
	files := peerFiles(t, t.TempDir())
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var calls []modCall
		for _, r := range rangesOf(int64(len(data))) {
			for _, fn := range []string{"md5", "sha1", "sha256", "checksum32", "crc32"} {
				calls = append(calls, modCall{mod: "hash", fn: fn, sig: "ii", args: []Value{iv(r[0]), iv(r[1])}})
			}
		}
		for _, off := range []int{0, 7, len(data) / 2} {
			s := cut(data, off, 40)
			for _, fn := range []string{"md5", "sha1", "sha256", "checksum32", "crc32"} {
				calls = append(calls, modCall{mod: "hash", fn: fn, sig: "s", args: []Value{{Str: s}}})
			}
		}
		cases := evalAll(t, newHashModule(), data, nil, calls)
		total += peerAgrees(t, f, "", cases)
		checkOutsideGo(t, f, data, cases)
	}
	t.Logf("yara agreed on %d hash calls over %d files", total, len(files))
}

// checkOutsideGo checks whole-file digests against md5sum, sha1sum,
// sha256sum and Python's zlib.crc32, so Go's crypto is not its own judge.
func checkOutsideGo(t *testing.T, file string, data []byte, cases []peerCase) {
	t.Helper()
	ext := map[string]string{}
	for _, tool := range []string{"md5sum", "sha1sum", "sha256sum"} {
		p := testenv.NeedTool(t, tool)
		out, err := exec.Command(p, file).Output()
		if err != nil {
			t.Fatal(err)
		}
		ext[strings.TrimSuffix(tool, "sum")], _, _ = strings.Cut(string(out), " ")
	}
	py := testenv.NeedTool(t, "python3")
	out, err := exec.Command(py, "-c", "import sys,zlib;print(zlib.crc32(open(sys.argv[1],'rb').read()))", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	ext["crc32"] = strings.TrimSpace(string(out))
	n := 0
	for _, c := range cases {
		if c.call.sig != "ii" || c.call.args[0].Int != 0 || c.call.args[1].Int != int64(len(data)) {
			continue
		}
		want, ok := ext[c.call.fn]
		if !ok {
			continue
		}
		got := string(c.got.Str)
		if c.call.fn == "crc32" {
			got = strconv.FormatInt(c.got.Int, 10)
		}
		if got != want {
			t.Errorf("%s on %s = %s, %s says %s", c.call, file, got, c.call.fn, want)
		}
		n++
	}
	if n != 4 {
		t.Errorf("checked %d whole-file digests of %s, want 4", n, file)
	}
}

func BenchmarkHashMD5(b *testing.B) {
	data := make([]byte, 1<<20)
	obj := loaded(b, newHashModule(), &ScanContext{})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sc := &ScanContext{Data: data}
		call1(b, obj, sc, "md5", "ii", iv(0), iv(int64(len(data))))
	}
}
