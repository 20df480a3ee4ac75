package yara

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"hash/crc32"
)

// hashModule is yara's "hash" module: digests and checksums of a range of
// the scanned data or of a string. Digests are lower-case hex strings;
// checksum32 (the byte sum modulo 2^32) and crc32 (IEEE, as zlib) are
// integers. A range outside the data is undefined (see dataRange).
type hashModule struct{ obj *Object }

func newHashModule() hashModule { return hashModule{hashObject()} }

func (hashModule) Name() string { return "hash" }

func (m hashModule) Declare() *Object { return m.obj }

func (m hashModule) Load(*ScanContext) (*Object, error) { return m.obj, nil }

func hashObject() *Object {
	return structOf(
		member{"md5", digestFuncs("md5", md5.New)},
		member{"sha1", digestFuncs("sha1", sha1.New)},
		member{"sha256", digestFuncs("sha256", sha256.New)},
		member{"checksum32", overloads(
			fn("ii", KindInt, func(sc *ScanContext, a []Value) Value {
				b, ok := dataRange(sc, a[0].Int, a[1].Int)
				if !ok {
					return undefined(KindInt)
				}
				return intValue(int64(checksum32(b)))
			}),
			fn("s", KindInt, func(_ *ScanContext, a []Value) Value {
				return intValue(int64(checksum32(a[0].Str)))
			}),
		)},
		member{"crc32", overloads(
			fn("ii", KindInt, func(sc *ScanContext, a []Value) Value {
				b, ok := dataRange(sc, a[0].Int, a[1].Int)
				if !ok {
					return undefined(KindInt)
				}
				return intValue(int64(crc32.ChecksumIEEE(b)))
			}),
			fn("s", KindInt, func(_ *ScanContext, a []Value) Value {
				return intValue(int64(crc32.ChecksumIEEE(a[0].Str)))
			}),
		)},
	)
}

// digestKey names a memoised digest of a data range. Rules often ask for
// the same digest many times (hash.md5(0, filesize) == "…" in every rule of
// a block list), so data digests are computed once per scan, as yara does.
type digestKey struct {
	alg      string
	off, len int64
}

// digestFuncs returns the (offset, length) and (string) overloads of a
// digest function.
func digestFuncs(alg string, newHash func() hash.Hash) *Object {
	sum := func(b []byte) []byte {
		h := newHash()
		h.Write(b)
		var buf [sha256.Size]byte
		d := h.Sum(buf[:0])
		out := make([]byte, hex.EncodedLen(len(d)))
		hex.Encode(out, d)
		return out
	}
	return overloads(
		fn("ii", KindString, func(sc *ScanContext, a []Value) Value {
			b, ok := dataRange(sc, a[0].Int, a[1].Int)
			if !ok {
				return undefined(KindString)
			}
			key := digestKey{alg, a[0].Int, a[1].Int}
			d := sc.Cached(key, func() any { return sum(b) }).([]byte)
			return stringValue(d)
		}),
		fn("s", KindString, func(_ *ScanContext, a []Value) Value {
			return stringValue(sum(a[0].Str))
		}),
	)
}

// checksum32 is the sum of the bytes modulo 2^32.
func checksum32(b []byte) uint32 {
	var s uint32
	for _, c := range b {
		s += uint32(c)
	}
	return s
}
