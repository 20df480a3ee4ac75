package engine

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sort"
	"strings"
	"sync"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/filetype"
	"github.com/glassav/glassav/ir"
	"github.com/glassav/glassav/match"
)

// scanObject matches one object, without opening it, against every rule:
// hash signatures of the whole object and (for PE files) of its sections,
// then one pass of the pattern matcher whose hits wake the rules that use
// them. Without AllMatch the result holds the one detection clamscan would
// print.
func (r *Rules) scanObject(ctx context.Context, o *Object, opt ScanOptions) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Result{Type: o.Type}
	if res.Type == 0 {
		res.Type = r.detector.Detect(o.Data)
	}
	size := int64(len(o.Data))

	s := &objectScan{r: r, o: o, opt: opt, res: res, size: size}
	if isExe(res.Type) && !opt.skipExe(res.Type) {
		if info, err := exe.Parse(o.Data); err == nil {
			s.exe = info
		}
	}

	// Whole-object hashes run beside the pattern search when the object is
	// big enough for that to pay off: hashing one stream is serial.
	var wg sync.WaitGroup
	var fileHashes map[ir.HashAlgo][]byte
	algos := r.set.Hashes.Algos(ir.HashFile, size)
	if len(algos) > 0 {
		if opt.Workers > 1 && size >= 1<<20 {
			wg.Add(1)
			go func() { defer wg.Done(); fileHashes = digest(o.Data, algos) }()
		} else {
			fileHashes = digest(o.Data, algos)
		}
	}

	var body, yaraFound []Match
	var bodyErr error
	if r.matcher.Len() > 0 {
		hits := r.getHits()
		hits.Reset()
		bodyErr = r.matcher.Scan(ctx, o.Data, opt.Workers, hits)
		if bodyErr == nil {
			body = s.evalRules(hits)
			if len(r.yara) > 0 {
				yaraFound = s.evalYARA(ctx, hits)
			}
		}
		hits.Reset()
		r.hits.Put(hits)
	}
	wg.Wait()
	if bodyErr != nil {
		return nil, bodyErr
	}
	if r.textRules && !opt.NoNormalise && isText(res.Type) && !(res.Type == filetype.TextASCII && r.detector.HTMLInText(o.Data)) {
		// ClamAV matches text files a second time, lower-cased and with
		// whitespace squeezed; what only that view finds comes after the
		// raw detections. ASCII text with an HTML tag past its first KiB
		// goes to ClamAV's HTML scanner instead.
		norm := normaliseText(o.Data, nil)
		ns := &objectScan{r: r, o: &Object{Name: o.Name, Data: norm, Type: res.Type, Ancestors: o.Ancestors}, opt: opt, res: res, size: int64(len(norm)), text: true}
		hits := r.getHits()
		hits.Reset()
		err := r.matcher.Scan(ctx, norm, opt.Workers, hits)
		if err == nil {
			seen := map[string]bool{}
			for _, m := range body {
				seen[m.Name] = true
			}
			for _, m := range ns.evalRules(hits) {
				if !seen[m.Name] {
					seen[m.Name] = true
					body = append(body, m)
				}
			}
		}
		hits.Reset()
		r.hits.Put(hits)
		if err != nil {
			return nil, err
		}
	}

	// clamscan's order, which decides the one name printed without
	// --allmatch: body signatures by the offset of their first hit, then
	// whole-object hashes, then logical signatures in load order, then PE
	// section hashes.
	var found []Match
	allowed := false
	res.Hashes = map[string]string{}
	var hashed []Match
	for _, algo := range []ir.HashAlgo{ir.MD5, ir.SHA1, ir.SHA256} {
		d, ok := fileHashes[algo]
		if !ok {
			continue
		}
		res.Hashes[algo.String()] = hex.EncodeToString(d)
		var last *Match
		r.set.Hashes.Lookup(ir.HashFile, d, size, func(e ir.HashEntry) {
			if e.Flags&ir.HashAllow != 0 {
				allowed = true
				return
			}
			// ClamAV keeps one name per digest: the one loaded last.
			last = &Match{Name: e.Name, Kind: KindHash, Source: e.Source, PUA: e.Flags&ir.HashPUA != 0, Offset: -1}
		})
		if last != nil {
			hashed = append(hashed, *last)
		}
	}
	if allowed {
		// An allow-listed object is clean whatever matched inside it.
		res.Allowed = true
		return res, nil
	}
	for _, m := range body {
		if m.Kind == KindBody {
			found = append(found, m)
		}
	}
	found = append(found, hashed...)
	for _, m := range body {
		if m.Kind == KindLogical {
			found = append(found, m)
		}
	}
	// YARA rules are logical signatures to clamscan: they come with them.
	found = append(found, yaraFound...)
	if s.exe != nil && s.exe.Format == exe.PE {
		found = append(found, s.sectionHashes()...)
		found = append(found, s.importHash()...)
	}
	found = r.dropIgnored(found)
	res.Matches = r.choose(found, opt)
	return res, nil
}

// objectScan is the state of scanning one object.
type objectScan struct {
	r    *Rules
	o    *Object
	opt  ScanOptions
	res  *Result
	size int64
	exe  *exe.Info
	// text is set for the normalised text view of a text file: only
	// signatures of targets 0 and 7 apply there, and target 7 nowhere else.
	text bool
}

func isExe(t filetype.Type) bool {
	switch t.String() {
	case "CL_TYPE_MSEXE", "CL_TYPE_ELF", "CL_TYPE_MACHO", "CL_TYPE_MACHO_UNIBIN":
		return true
	}
	return false
}

// digest computes the requested digests of b in one read of the data.
func digest(b []byte, algos []ir.HashAlgo) map[ir.HashAlgo][]byte {
	out := make(map[ir.HashAlgo][]byte, len(algos))
	if len(algos) == 1 {
		out[algos[0]] = sum(algos[0], b)
		return out
	}
	hs := make([]hash.Hash, len(algos))
	for i, a := range algos {
		hs[i] = newHash(a)
	}
	const chunk = 1 << 20
	for off := 0; off < len(b); off += chunk {
		end := min(off+chunk, len(b))
		for _, h := range hs {
			h.Write(b[off:end])
		}
	}
	for i, a := range algos {
		out[a] = hs[i].Sum(nil)
	}
	return out
}

func sum(a ir.HashAlgo, b []byte) []byte {
	switch a {
	case ir.MD5:
		s := md5.Sum(b)
		return s[:]
	case ir.SHA1:
		s := sha1.Sum(b)
		return s[:]
	default:
		s := sha256.Sum256(b)
		return s[:]
	}
}

func newHash(a ir.HashAlgo) hash.Hash {
	switch a {
	case ir.MD5:
		return md5.New()
	case ir.SHA1:
		return sha1.New()
	default:
		return sha256.New()
	}
}

// sectionHashes looks up the PE section hash signatures (.mdb .msb).
func (s *objectScan) sectionHashes() []Match {
	var out []Match
	t := s.r.set.Hashes
	for _, sec := range s.exe.Sections {
		if sec.Size <= 0 || sec.Offset < 0 || sec.Offset+sec.Size > s.size {
			continue
		}
		algos := t.Algos(ir.HashPESection, sec.Size)
		if len(algos) == 0 {
			continue
		}
		data := s.o.Data[sec.Offset : sec.Offset+sec.Size]
		ds := digest(data, algos)
		for _, a := range algos {
			// Unlike file hashes, clamscan reports the first-loaded name of
			// a section digest listed twice.
			var first *Match
			t.Lookup(ir.HashPESection, ds[a], sec.Size, func(e ir.HashEntry) {
				if e.Flags&ir.HashAllow != 0 || first != nil {
					return
				}
				first = &Match{Name: e.Name, Kind: KindHash, Source: e.Source, PUA: e.Flags&ir.HashPUA != 0, Offset: sec.Offset}
			})
			if first != nil {
				out = append(out, *first)
			}
		}
	}
	return out
}

// importHash looks up the import-table hash signatures (.imp). As in
// ClamAV 1.4, only 32-bit PE files have their imports hashed.
func (s *objectScan) importHash() []Match {
	pe := s.exe.PE
	if pe == nil || pe.Is64 || !pe.HasImports {
		return nil
	}
	t := s.r.set.Hashes
	n := int64(len(pe.Imports))
	if len(t.Algos(ir.HashImport, n)) == 0 {
		return nil
	}
	var out []Match
	for _, d := range digest(pe.Imports, t.Algos(ir.HashImport, n)) {
		var last *Match
		t.Lookup(ir.HashImport, d, n, func(e ir.HashEntry) {
			if e.Flags&ir.HashAllow != 0 {
				return
			}
			last = &Match{Name: e.Name, Kind: KindHash, Source: e.Source, PUA: e.Flags&ir.HashPUA != 0, Offset: -1}
		})
		if last != nil {
			out = append(out, *last)
		}
	}
	return out
}

// evalRules evaluates the rules woken by the hits (and those that can hold
// without hits) and returns their detections in rule order.
func (s *objectScan) evalRules(hits *match.Hits) []Match {
	r := s.r
	var cand []int32
	for _, p := range hits.Matched() {
		cand = append(cand, r.byPattern[p]...)
	}
	cand = append(cand, r.always...)
	if len(cand) == 0 {
		return nil
	}
	slices32(cand)
	var out []Match
	var order []int32
	var prev int32 = -1
	counts := make([]int, 0, 8)
	firsts := make([]int64, 0, 8)
	for _, ri := range cand {
		if ri == prev {
			continue
		}
		prev = ri
		rule := &r.set.Rules[ri]
		if rule.PUA && !s.opt.DetectPUA {
			continue
		}
		if !s.applies(rule, ri) {
			continue
		}
		counts = counts[:0]
		firsts = firsts[:0]
		for _, p := range rule.Subs {
			n, first := s.countHits(hits, p)
			counts = append(counts, n)
			firsts = append(firsts, first)
		}
		ok := false
		if rule.Cond == nil {
			ok = len(counts) > 0 && counts[0] > 0
		} else {
			ok = rule.Cond.Eval(func(i int) int {
				if i < 0 || i >= len(counts) {
					return 0
				}
				return counts[i]
			})
		}
		if !ok {
			continue
		}
		off := int64(-1)
		for _, f := range firsts {
			if f >= 0 && (off < 0 || f < off) {
				off = f
			}
		}
		kind := KindBody
		if rule.Cond != nil {
			kind = KindLogical
		}
		out = append(out, Match{Name: rule.Name, Kind: kind, Source: rule.Source, PUA: rule.PUA, Offset: off})
		order = append(order, ri)
	}
	// Body signatures in the order clamscan finds them: by offset, and for
	// one offset the later-loaded first. Logical ones keep load order.
	var bodies, logical []Match
	var bodyOrder []int32
	for i, m := range out {
		if m.Kind == KindBody {
			bodies = append(bodies, m)
			bodyOrder = append(bodyOrder, order[i])
		} else {
			logical = append(logical, m)
		}
	}
	idx := make([]int, len(bodies))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool {
		ma, mb := bodies[idx[a]], bodies[idx[b]]
		if ma.Offset != mb.Offset {
			return ma.Offset < mb.Offset
		}
		return bodyOrder[idx[a]] > bodyOrder[idx[b]]
	})
	sorted := make([]Match, 0, len(out))
	for _, j := range idx {
		sorted = append(sorted, bodies[j])
	}
	return append(sorted, logical...)
}

func slices32(a []int32) { sort.Slice(a, func(i, j int) bool { return a[i] < a[j] }) }

// applies checks a rule's object constraints: target type, size, container,
// executable fields.
func (s *objectScan) applies(rule *ir.Rule, ri int32) bool {
	if s.text && rule.Target != 0 && rule.Target != filetype.TargetASCII {
		return false
	}
	if !s.text && rule.Target == filetype.TargetASCII {
		return false
	}
	if rule.Target != 0 && !filetype.MatchesTarget(s.res.Type, uint8(rule.Target)) {
		return false
	}
	if !rule.FileSize.Contains(s.size) {
		return false
	}
	if rule.Container != "" {
		want := rule.Container
		anc := s.o.Ancestors
		if want == "CL_TYPE_ANY" {
			if len(anc) != 0 {
				return false
			}
		} else if len(anc) == 0 || anc[len(anc)-1].String() != want {
			return false
		}
	}
	if len(rule.Intermediates) > 0 {
		anc := s.o.Ancestors
		if len(anc) < len(rule.Intermediates) {
			return false
		}
		for i, want := range rule.Intermediates {
			got := anc[len(anc)-len(rule.Intermediates)+i]
			if want != "CL_TYPE_ANY" && got.String() != want {
				return false
			}
		}
	}
	if s.r.needsExe[ri] && s.exe == nil {
		return false
	}
	if rule.EntryPoint.Set && !rule.EntryPoint.Contains(s.exe.EntryPoint) {
		return false
	}
	if rule.NumSections.Set && !rule.NumSections.Contains(int64(len(s.exe.Sections))) {
		return false
	}
	return true
}

// countHits returns how many hits of pattern p satisfy its offset
// constraint, and where the first of them starts (-1 if none).
func (s *objectScan) countHits(hits *match.Hits, p int) (int, int64) {
	hs := hits.Of(p)
	if len(hs) == 0 {
		return 0, -1
	}
	off := s.r.set.Patterns[p].Offset
	lo, hi, ok := s.window(off)
	if !ok {
		return 0, -1
	}
	n := 0
	first := int64(-1)
	for _, h := range hs {
		if h.Start < lo {
			continue
		}
		if h.Start > hi {
			break
		}
		if first < 0 {
			first = h.Start
		}
		n++
	}
	return n, first
}

// window resolves an offset constraint to the inclusive range of allowed
// match starts for this object.
func (s *objectScan) window(off ir.Offset) (lo, hi int64, ok bool) {
	var base int64
	switch off.Anchor {
	case ir.AnchorAny:
		return 0, s.size, true
	case ir.AnchorStart:
		base = off.N
	case ir.AnchorEOF:
		base = s.size - off.N
	case ir.AnchorEntryPoint:
		if s.exe == nil {
			return 0, 0, false
		}
		base = s.exe.EntryPoint + off.N
	case ir.AnchorSection, ir.AnchorInSection:
		if s.exe == nil || off.Section < 0 || off.Section >= len(s.exe.Sections) {
			return 0, 0, false
		}
		sec := s.exe.Sections[off.Section]
		if off.Anchor == ir.AnchorInSection {
			// ClamAV's SEx,n lets a match start up to n bytes past the
			// section's end, and its range includes the end itself: a
			// match may start right after the section's last byte
			// (measured: clamscan finds a pattern starting at the end of
			// ELF section 3 with SE3).
			return sec.Offset, sec.Offset + sec.Size + off.Shift, true
		}
		base = sec.Offset + off.N
	case ir.AnchorLastSection:
		if s.exe == nil || len(s.exe.Sections) == 0 {
			return 0, 0, false
		}
		base = s.exe.Sections[len(s.exe.Sections)-1].Offset + off.N
	default:
		return 0, 0, false
	}
	if base < 0 {
		return 0, 0, false
	}
	return base, base + off.Shift, true
}

func (r *Rules) dropIgnored(ms []Match) []Match {
	if len(r.ignored) == 0 {
		return ms
	}
	out := ms[:0]
	for _, m := range ms {
		if !r.ignored[strings.TrimSuffix(m.Name, ".UNOFFICIAL")] && !r.ignored[m.Name] {
			out = append(out, m)
		}
	}
	return out
}

// choose applies clamscan's reporting rules: PUA detections are dropped
// unless asked for, and without AllMatch only one detection is reported,
// with PUA and heuristic results yielding to any other detection.
func (r *Rules) choose(ms []Match, opt ScanOptions) []Match {
	out := ms[:0]
	for _, m := range ms {
		if m.PUA && !opt.DetectPUA {
			continue
		}
		out = append(out, m)
	}
	if opt.AllMatch || len(out) <= 1 {
		return out
	}
	for _, m := range out {
		if !m.PUA && !strings.HasPrefix(m.Name, "Heuristics.") {
			return []Match{m}
		}
	}
	return out[:1]
}

// getHits takes a matcher hit buffer from the rules' pool.
func (r *Rules) getHits() *match.Hits {
	if h, ok := r.hits.Get().(*match.Hits); ok {
		return h
	}
	return match.NewHits()
}
