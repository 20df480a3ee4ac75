package difftest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Near-miss negatives: a signature that almost matches its file. ClamAV must
// not detect them; glassav must agree whatever ClamAV does.

func negativeFeatures() []Feature {
	neg := func(name string, pool Pool, fn func(g *Gen, f *File) (ext, line, sigName string, ok bool)) Feature {
		return Feature{Name: "neg/" + name, Pool: pool, Negative: true, Gen: func(g *Gen, f *File) (DB, bool) {
			ext, line, n, ok := fn(g, f)
			if !ok {
				return nil, false
			}
			return one(Sig{Ext: ext, Name: n, Line: line, Path: f.Path})
		}}
	}
	return []Feature{
		neg("byte", PoolPlain, func(g *Gen, f *File) (string, string, string, bool) {
			b, ok := g.staticIn(f.Data, 0, f.Size())
			if !ok {
				return "", "", "", false
			}
			raw, _ := hex.DecodeString(b.Hex)
			i := g.r.IntN(len(raw))
			raw[i] = g.otherByte(raw[i])
			if bytes.Contains(f.Data, raw) {
				return "", "", "", false
			}
			n := g.Name("Neg.Byte")
			return "ndb", NDBLine(n, 0, "*", hx(raw)), n, true
		}),
		neg("offset", PoolPlain, func(g *Gen, f *File) (string, string, string, bool) {
			b, ok := g.staticIn(f.Data, 0, f.Size())
			raw, _ := hex.DecodeString(b.Hex)
			if !ok || bytes.HasPrefix(f.Data[b.Start+1:], raw) {
				return "", "", "", false
			}
			n := g.Name("Neg.Offset")
			return "ndb", NDBLine(n, 0, fmt.Sprint(b.Start+1), b.Hex), n, true
		}),
		neg("ep", PoolExe, func(g *Gen, f *File) (string, string, string, bool) {
			b, off, ok := EPOffset(g, f)
			if !ok || strings.Contains(off, ",") {
				return "", "", "", false
			}
			raw, _ := hex.DecodeString(b.Hex)
			if bytes.HasPrefix(f.Data[b.Start+1:], raw) {
				return "", "", "", false
			}
			d := b.Start - f.Exe.EP + 1
			n := g.Name("Neg.EP")
			return "ndb", NDBLine(n, f.Exe.Target(), epForm(d), b.Hex), n, true
		}),
		neg("target", PoolExe, func(g *Gen, f *File) (string, string, string, bool) {
			b, ok := g.staticIn(f.Data, 0, f.Size())
			t := 1
			if f.Exe.Target() == 1 {
				t = 6
			}
			n := g.Name("Neg.Target")
			return "ndb", NDBLine(n, t, "*", b.Hex), n, ok
		}),
		neg("hash-size", PoolPlain, func(g *Gen, f *File) (string, string, string, bool) {
			n := g.Name("Neg.HashSize")
			return "hdb", fmt.Sprintf("%s:%d:%s", MD5.Digest(f.Data), len(f.Data)+1, n), n, true
		}),
		neg("ldb-filesize", PoolPlain, func(g *Gen, f *File) (string, string, string, bool) {
			b, ok := g.static(f.Data, 12)
			n := g.Name("Neg.LdbFileSize")
			return "ldb", LDBLine(n, TDB(0, fmt.Sprintf("FileSize:%d-%d", f.Size()+1, f.Size()+100)), "0", b.Hex), n, ok
		}),
		neg("ldb-count", PoolPlain, func(g *Gen, f *File) (string, string, string, bool) {
			p, c, ok := g.repeated(f.Data)
			n := g.Name("Neg.LdbCount")
			return "ldb", LDBLine(n, TDB(0), "0="+strconv.Itoa(c+1), hx(p)), n, ok
		}),
		neg("ldb-nsections", PoolExe, func(g *Gen, f *File) (string, string, string, bool) {
			b, ok := g.static(f.Data, 12)
			k := len(f.Exe.Sections) + 1
			n := g.Name("Neg.LdbNSect")
			return "ldb", LDBLine(n, TDB(f.Exe.Target(), fmt.Sprintf("NumberOfSections:%d-%d", k, k+3)), "0", b.Hex), n, ok
		}),
	}
}
