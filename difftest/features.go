package difftest

import (
	"bytes"
	"fmt"
	"strings"
)

// Pool names the kind of file a feature cuts its signatures from.
type Pool string

// File pools.
const (
	PoolPlain Pool = "plain" // any non-container file (mostly ELF under /usr)
	PoolText  Pool = "text"  // plain ASCII text
	PoolExe   Pool = "exe"   // PE or ELF with an entry point in the file
	PoolPE    Pool = "pe"    // PE images
)

// Feature is one ClamAV signature feature and the generator that exercises
// it on one file.
type Feature struct {
	Name string // "ndb/hex/star", "ldb/count-eq", ...
	Pool Pool
	// Gen cuts signatures from f; ok is false when f offers no place.
	Gen func(g *Gen, f *File) (db DB, ok bool)
	// MinHit is the fraction of the wanted signatures clamscan must detect
	// for the generated database to count as a valid test of the feature
	// (below 1 where ClamAV rejects or skips some generated lines).
	MinHit float64
	// Negative features generate near misses: no hits are required.
	Negative bool
	// Args are clamscan options the feature needs, given to both scanners
	// (see ClamscanArgs).
	Args []string
	// Skipped, when set, is the load warning with which glassav skips the
	// feature's signatures (targets that need ClamAV's HTML normaliser,
	// which the engine issue allows to be skipped with a counted warning): the
	// test then requires that warning with the right count and no
	// detection from those signatures, instead of clamscan's detections.
	Skipped string
	// SameDigest marks features that list one digest under several names.
	// clamscan then reports one of those names, picked by the internals of
	// its sort and binary search; which one is not a behaviour users can
	// rely on. Detections are compared by digest: both scanners must report
	// exactly one name per listed digest and file, and the same files.
	SameDigest bool
}

func one(s Sig) (DB, bool) { return DB{s}, true }

// bodyFeature wraps a BodyFunc as .ndb lines with offset "*" and target t
// (-1: the file's executable target).
func bodyFeature(family string, t int, fn BodyFunc) func(*Gen, *File) (DB, bool) {
	return func(g *Gen, f *File) (DB, bool) {
		b, ok := fn(g, f.Data)
		if !ok {
			return nil, false
		}
		target := t
		if t < 0 {
			target = f.Exe.Target()
		}
		name := g.Name(family)
		return one(Sig{Ext: "ndb", Name: name, Line: NDBLine(name, target, "*", b.Hex), Path: f.Path, Want: true})
	}
}

// offsetFeature wraps an OffsetFunc as .ndb lines; exe offsets use the
// file's executable target, the others target 0.
func offsetFeature(family string, exe bool, fn OffsetFunc) func(*Gen, *File) (DB, bool) {
	return func(g *Gen, f *File) (DB, bool) {
		b, off, ok := fn(g, f)
		if !ok {
			return nil, false
		}
		target := 0
		if exe {
			target = f.Exe.Target()
		}
		name := g.Name(family)
		return one(Sig{Ext: "ndb", Name: name, Line: NDBLine(name, target, off, b.Hex), Path: f.Path, Want: true})
	}
}

// Features returns every generated feature, in a fixed order.
func Features() []Feature {
	fs := []Feature{
		{Name: "hdb/md5", Pool: PoolPlain, Gen: fileHash(MD5, "hdb", false), MinHit: 1},
		{Name: "hdb/sha1", Pool: PoolPlain, Gen: fileHash(SHA1, "hdb", false), MinHit: 1},
		{Name: "hdb/sha256", Pool: PoolPlain, Gen: fileHash(SHA256, "hdb", false), MinHit: 1},
		{Name: "hdb/md5-anysize", Pool: PoolPlain, Gen: fileHash(MD5, "hdb", true), MinHit: 1},
		{Name: "hsb/sha1", Pool: PoolPlain, Gen: fileHash(SHA1, "hsb", false), MinHit: 1},
		{Name: "hsb/sha256", Pool: PoolPlain, Gen: fileHash(SHA256, "hsb", false), MinHit: 1},
		{Name: "hsb/sha256-anysize", Pool: PoolPlain, Gen: fileHash(SHA256, "hsb", true), MinHit: 1},
		// Two names for one digest: ClamAV reports one of them.
		{Name: "hdb/duplicate", Pool: PoolPlain, Gen: duplicateHash(false), MinHit: 0.5, SameDigest: true},
		{Name: "mdb/duplicate", Pool: PoolPE, Gen: duplicateHash(true), MinHit: 0.4, SameDigest: true},
		{Name: "mdb/md5", Pool: PoolPE, Gen: sectionHash(MD5, false), MinHit: 0.8},
		{Name: "mdb/md5-anysize", Pool: PoolPE, Gen: sectionHash(MD5, true), MinHit: 0.8},
		{Name: "msb/sha1", Pool: PoolPE, Gen: sectionHash(SHA1, false), MinHit: 0.8},
		{Name: "msb/sha256", Pool: PoolPE, Gen: sectionHash(SHA256, false), MinHit: 0.8},
		// ClamAV 1.4.6 matches import hashes of PE32 images only, though
		// sigtool prints them for PE32+ too: a third or so of our PEs.
		{Name: "imp/md5", Pool: PoolPE, Gen: impHash, MinHit: 0.2},

		{Name: "ndb/hex/plain", Pool: PoolPlain, Gen: bodyFeature("Hex.Plain", 0, PlainHex), MinHit: 1},
		{Name: "ndb/hex/anybyte", Pool: PoolPlain, Gen: bodyFeature("Hex.AnyByte", 0, AnyByteHex), MinHit: 1},
		{Name: "ndb/hex/nibble", Pool: PoolPlain, Gen: bodyFeature("Hex.Nibble", 0, NibbleHex), MinHit: 1},
		{Name: "ndb/hex/star", Pool: PoolPlain, Gen: bodyFeature("Hex.Star", 0, StarHex), MinHit: 1},
		{Name: "ndb/hex/gap-fixed", Pool: PoolPlain, Gen: bodyFeature("Hex.GapFixed", 0, FixedGapHex), MinHit: 1},
		{Name: "ndb/hex/gap-upto", Pool: PoolPlain, Gen: bodyFeature("Hex.GapUpTo", 0, UpToGapHex), MinHit: 1},
		{Name: "ndb/hex/gap-atleast", Pool: PoolPlain, Gen: bodyFeature("Hex.GapAtLeast", 0, AtLeastGapHex), MinHit: 1},
		{Name: "ndb/hex/gap-range", Pool: PoolPlain, Gen: bodyFeature("Hex.GapRange", 0, RangeGapHex), MinHit: 1},
		// clamscan 1.4.6 occasionally misses an aa[n-m]HEX signature that it
		// finds when loaded alone (an interaction with other signatures).
		{Name: "ndb/hex/short-range", Pool: PoolPlain, Gen: bodyFeature("Hex.ShortRange", 0, ShortRangeHex), MinHit: 0.9},
		{Name: "ndb/hex/alt", Pool: PoolPlain, Gen: bodyFeature("Hex.Alt", 0, AltHex), MinHit: 1},
		{Name: "ndb/hex/neg-alt", Pool: PoolPlain, Gen: bodyFeature("Hex.NegAlt", 0, NegAltHex), MinHit: 1},
		{Name: "ndb/hex/multi-alt", Pool: PoolPlain, Gen: bodyFeature("Hex.MultiAlt", 0, MultiAltHex), MinHit: 1},
		{Name: "ndb/hex/neg-multi-alt", Pool: PoolPlain, Gen: bodyFeature("Hex.NegMultiAlt", 0, NegMultiAltHex), MinHit: 1},
		{Name: "ndb/hex/var-alt", Pool: PoolPlain, Gen: bodyFeature("Hex.VarAlt", 0, VarAltHex), MinHit: 1},
		{Name: "ndb/hex/boundary", Pool: PoolText, Gen: bodyFeature("Hex.Boundary", 0, BoundaryHex), MinHit: 0.5},

		{Name: "ndb/target/exe", Pool: PoolExe, Gen: bodyFeature("Target.Exe", -1, AnyByteHex), MinHit: 1},
		// ClamAV normalises text for target 7 only when HTML scanning is on.
		{Name: "ndb/target/ascii", Pool: PoolText, Gen: bodyFeature("Target.ASCII", 7, ASCIIBody), MinHit: 0.8, Args: []string{"--scan-html=yes"}},
		{Name: "neg/ascii-html-off", Pool: PoolText, Gen: bodyFeature("Neg.ASCIIHtmlOff", 7, ASCIIBody), Negative: true, Args: []string{"--scan-html=no"}},

		{Name: "ndb/offset/abs", Pool: PoolPlain, Gen: offsetFeature("Off.Abs", false, AbsOffset), MinHit: 1},
		{Name: "ndb/offset/shift", Pool: PoolPlain, Gen: offsetFeature("Off.Shift", false, ShiftOffset), MinHit: 1},
		{Name: "ndb/offset/eof", Pool: PoolPlain, Gen: offsetFeature("Off.EOF", false, EOFOffset), MinHit: 1},
		{Name: "ndb/offset/ep", Pool: PoolExe, Gen: offsetFeature("Off.EP", true, EPOffset), MinHit: 0.8},
		{Name: "ndb/offset/section", Pool: PoolExe, Gen: offsetFeature("Off.Section", true, SectionOffset), MinHit: 0.8},
		{Name: "ndb/offset/in-section", Pool: PoolExe, Gen: offsetFeature("Off.InSection", true, InSectionOffset), MinHit: 0.8},
		{Name: "ndb/offset/last-section", Pool: PoolExe, Gen: offsetFeature("Off.LastSection", true, LastSectionOffset), MinHit: 0.8},
	}
	fs = append(fs, ldbFeatures()...)
	return append(fs, negativeFeatures()...)
}

// FeatureByName returns the named feature.
func FeatureByName(name string) (Feature, error) {
	for _, f := range Features() {
		if f.Name == name {
			return f, nil
		}
	}
	return Feature{}, fmt.Errorf("difftest: no feature %q", name)
}

func fileHash(a HashAlgo, ext string, anySize bool) func(*Gen, *File) (DB, bool) {
	return func(g *Gen, f *File) (DB, bool) {
		if !g.fresh(fmt.Sprintf("%s:%s:%d:%t", ext, a.Digest(f.Data), len(f.Data), anySize)) {
			return nil, false
		}
		name := g.Name("Hash." + strings.ToUpper(ext) + "." + string(a))
		return one(Sig{Ext: ext, Name: name, Line: FileHashSig(a, f.Data, name, anySize), Path: f.Path, Want: true})
	}
}

func sectionHash(a HashAlgo, anySize bool) func(*Gen, *File) (DB, bool) {
	return func(g *Gen, f *File) (DB, bool) {
		if f.Exe == nil || f.Exe.Format != "pe" {
			return nil, false
		}
		x := g.pickSection(f.Exe)
		if x < 0 {
			return nil, false
		}
		s := f.Exe.Sections[x]
		body := f.Data[s.Off : s.Off+s.Size]
		if !g.fresh(fmt.Sprintf("%s:%s:%d:%t", a.sectionExt(), a.Digest(body), len(body), anySize)) {
			return nil, false
		}
		name := g.Name("Sect." + string(a))
		return one(Sig{Ext: a.sectionExt(), Name: name, Line: SectionHashSig(a, body, name, anySize), Path: f.Path, Want: true})
	}
}

// duplicateHash writes the same digest (file MD5, or a PE section's MD5)
// twice under two names. ClamAV keeps one name per digest and size, so with
// --allmatch only one of the pair is reported (which one is the behaviour to
// match); the second counts as wanted too, so MinHit allows for it.
func duplicateHash(section bool) func(*Gen, *File) (DB, bool) {
	return func(g *Gen, f *File) (DB, bool) {
		ext, body := "hdb", f.Data
		if section {
			if f.Exe == nil || f.Exe.Format != "pe" {
				return nil, false
			}
			x := g.pickSection(f.Exe)
			if x < 0 {
				return nil, false
			}
			s := f.Exe.Sections[x]
			ext, body = "mdb", f.Data[s.Off:s.Off+s.Size]
		}
		var db DB
		for range 2 {
			name := g.Name("Dup." + ext)
			line := FileHashSig(MD5, body, name, false)
			if section {
				line = SectionHashSig(MD5, body, name, false)
			}
			db = append(db, Sig{Ext: ext, Name: name, Line: line, Path: f.Path, Want: true})
		}
		return db, true
	}
}

func impHash(g *Gen, f *File) (DB, bool) {
	h, size, err := SigtoolImp(f.Path)
	if err != nil {
		return nil, false
	}
	name := g.Name("Imp")
	return one(Sig{Ext: "imp", Name: name, Line: fmt.Sprintf("%s:%d:%s", h, size, name), Path: f.Path, Want: true})
}

func ldbFeatures() []Feature {
	lf := func(name string, pool Pool, min float64, fn func(g *Gen, f *File, target int) (tdbExtra []string, expr string, subs []string, ok bool)) Feature {
		return Feature{Name: "ldb/" + name, Pool: pool, MinHit: min, Gen: func(g *Gen, f *File) (DB, bool) {
			target := 0
			if pool == PoolExe || pool == PoolPE {
				target = f.Exe.Target()
			}
			extra, expr, subs, ok := fn(g, f, target)
			if !ok {
				return nil, false
			}
			n := g.Name("Ldb." + strings.ReplaceAll(name, "/", "."))
			return one(Sig{Ext: "ldb", Name: n, Line: LDBLine(n, TDB(target, extra...), expr, subs...), Path: f.Path, Want: true})
		}}
	}
	statics := func(g *Gen, data []byte, k int) ([]string, bool) {
		var subs []string
		for range k {
			b, ok := g.static(data, g.between(6, 16))
			if !ok {
				return nil, false
			}
			subs = append(subs, b.Hex)
		}
		return subs, true
	}
	return []Feature{
		lf("and", PoolPlain, 1, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			k := g.between(2, 4)
			subs, ok := statics(g, f.Data, k)
			var e []string
			for i := range k {
				e = append(e, fmt.Sprint(i))
			}
			return nil, strings.Join(e, "&"), subs, ok
		}),
		lf("or", PoolPlain, 1, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			subs, ok := statics(g, f.Data, 1)
			return nil, "0|1", append(subs, g.absent(f.Data)), ok
		}),
		lf("not", PoolPlain, 1, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			subs, ok := statics(g, f.Data, 1)
			return nil, "0&(1=0)", append(subs, g.absent(f.Data)), ok
		}),
		lf("count-eq", PoolPlain, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			p, c, ok := g.repeated(f.Data)
			return nil, fmt.Sprintf("0=%d", c), []string{hx(p)}, ok
		}),
		lf("count-gt", PoolPlain, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			p, c, ok := g.repeated(f.Data)
			return nil, fmt.Sprintf("0>%d", c-1), []string{hx(p)}, ok
		}),
		lf("count-lt", PoolPlain, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			p, c, ok := g.repeated(f.Data)
			subs, ok2 := statics(g, f.Data, 1)
			return nil, fmt.Sprintf("0&(1<%d)", c+1), append(subs, hx(p)), ok && ok2
		}),
		lf("count-distinct", PoolPlain, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			p, c, ok := g.repeated(f.Data)
			q, d, ok2 := g.repeated(f.Data)
			if !ok || !ok2 || bytes.Equal(p, q) {
				return nil, "", nil, false
			}
			op := []string{"=", ">"}[g.r.IntN(2)]
			x := c + d
			if op == ">" {
				x--
			}
			return nil, fmt.Sprintf("(0|1|2)%s%d,2", op, x), []string{hx(p), hx(q), g.absent(f.Data)}, true
		}),
		lf("mod-i", PoolText, 1, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			w, ok := textRun(g, f.Data)
			return nil, "0", []string{hx(g.flipCase(w)) + "::i"}, ok
		}),
		lf("mod-w", PoolPE, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			w, ok := wideString(g, f.Data)
			mod := []string{"::w", "::wa"}[g.r.IntN(2)]
			return nil, "0", []string{hx(w) + mod}, ok
		}),
		lf("mod-f", PoolText, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			w, ok := word(g, f.Data)
			mod := []string{"::f", "::fi", "::fa"}[g.r.IntN(3)]
			if mod == "::fi" {
				w = g.flipCase(w)
			}
			return nil, "0", []string{hx(w) + mod}, ok
		}),
		lf("tdb-filesize", PoolPlain, 1, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			subs, ok := statics(g, f.Data, 1)
			lo := max(0, f.Size()-int64(g.between(0, 1000)))
			return []string{fmt.Sprintf("FileSize:%d-%d", lo, f.Size()+int64(g.between(0, 1000)))}, "0", subs, ok
		}),
		lf("tdb-target", PoolExe, 1, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			subs, ok := statics(g, f.Data, 2)
			return nil, "0&1", subs, ok
		}),
		lf("tdb-entrypoint", PoolExe, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			subs, ok := statics(g, f.Data, 1)
			ep := f.Exe.EP
			return []string{fmt.Sprintf("EntryPoint:%d-%d", max(0, ep-int64(g.between(0, 64))), ep+int64(g.between(0, 64)))}, "0", subs, ok && ep >= 0
		}),
		lf("tdb-nsections", PoolExe, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			subs, ok := statics(g, f.Data, 1)
			n := len(f.Exe.Sections)
			return []string{fmt.Sprintf("NumberOfSections:%d-%d", n-g.between(0, 1), n+g.between(0, 1))}, "0", subs, ok
		}),
		lf("subsig-offset", PoolExe, 0.8, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			b0, off0, ok0 := EPOffset(g, f)
			b1, off1, ok1 := SectionOffset(g, f)
			return nil, "0&1", []string{off0 + ":" + b0.Hex, off1 + ":" + b1.Hex}, ok0 && ok1
		}),
		lf("subsig-wildcards", PoolPlain, 1, func(g *Gen, f *File, _ int) ([]string, string, []string, bool) {
			a, ok := AnyByteHex(g, f.Data)
			b, ok2 := RangeGapHex(g, f.Data)
			c, ok3 := AltHex(g, f.Data)
			return nil, "0&(1|2)", []string{a.Hex, b.Hex, c.Hex}, ok && ok2 && ok3
		}),
	}
}
