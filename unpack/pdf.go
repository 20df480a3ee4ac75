package unpack

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/glassav/glassav/filetype"
)

// pdfFormat opens PDF documents: every stream is a member, decoded through
// its /Filter chain (Flate, ASCIIHex, ASCII85, LZW, RunLength; image
// codecs are left encoded), and every /JS string is a member, as ClamAV
// extracts JavaScript. Object streams (/Type /ObjStm) are decoded and the
// objects they hold parsed like top-level ones, so /JS hidden in them and
// stream lengths given by reference to them are found.
//
// Objects are found by scanning for "N G obj", not through the
// cross-reference table, which malicious and damaged files get wrong; a
// stream's /Length is trusted only when "endstream" follows it, else the
// stream runs to the next "endstream". An encrypted document (/Encrypt in
// a trailer) is decrypted with the empty user password, as viewers open
// it (pdfcrypt.go); when it needs a real password its streams are
// reported as encrypted members.
func pdfFormat() *Format {
	return &Format{
		Name:   "pdf",
		Types:  []filetype.Type{filetype.PDF},
		Unpack: unpackPDF,
	}
}

// pdfMaxObjects bounds the objects indexed per document.
const pdfMaxObjects = 1 << 20

type pdfObject struct {
	ref pdfRef
	val any
	off int64
	raw []byte // stream bytes as stored, nil when not a stream
}

type pdfParser struct {
	ctx       context.Context
	b         *Budget
	emit      func(Member) error
	objects   map[pdfRef]any
	corrupt   error // the first damage found; reported after all is emitted
	crypt     *pdfCrypt
	endstream *nextIndex
	encRef    pdfRef // the /Encrypt dictionary's object, never encrypted itself
}

// damaged records the first damage found.
func (p *pdfParser) damaged(off int64, format string, args ...any) {
	if p.corrupt == nil {
		p.corrupt = Corrupt("pdf", off, format, args...)
	}
}

func unpackPDF(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	start := bytes.Index(data, []byte("%PDF-"))
	if start < 0 {
		return Corrupt("pdf", 0, "no %%PDF- header")
	}
	p := &pdfParser{ctx: ctx, b: b, emit: emit, objects: map[pdfRef]any{}}
	objs, err := p.scan(data)
	if err != nil {
		return err
	}
	encrypted := false
	if enc, id0, ok := pdfEncryption(data, objs); ok {
		d, _ := p.resolve(enc).(pdfDict)
		c, err := newPDFCrypt(d, id0, p.resolve)
		if err != nil {
			encrypted = true
		} else {
			p.crypt = c
			p.encRef, _ = enc.(pdfRef)
		}
	}
	for i := range objs {
		if err := p.object(&objs[i], encrypted); err != nil {
			return err
		}
	}
	if len(objs) == 0 {
		return Corrupt("pdf", int64(start), "no objects")
	}
	if p.corrupt == nil && bytes.LastIndex(data, []byte("%%EOF")) < 0 {
		p.damaged(int64(len(data)), "no %%%%EOF marker: the file is truncated")
	}
	return p.corrupt
}

// scan finds the top-level objects of data in file order and indexes
// their values by reference, resolving /Length once all are known.
func (p *pdfParser) scan(data []byte) ([]pdfObject, error) {
	var objs []pdfObject
	endobj := &nextIndex{data: data, sep: []byte("endobj"), at: -2}
	p.endstream = &nextIndex{data: data, sep: []byte("endstream"), at: -2}
	for off := 0; off < len(data); {
		if len(objs)&1023 == 0 {
			if err := p.b.Check(p.ctx); err != nil {
				return nil, err
			}
		}
		i := bytes.Index(data[off:], []byte("obj"))
		if i < 0 {
			break
		}
		i += off
		off = i + 3
		ref, ok := objHeader(data, i)
		if !ok || (off < len(data) && !isPDFSpace(data[off]) && !isPDFDelim(data[off])) {
			continue
		}
		// The value ends before the next "endobj": a damaged one (an
		// unclosed string or array) must not swallow the objects after
		// it, nor be parsed again from each of them.
		bound := len(data)
		if e := endobj.from(off); e >= 0 {
			bound = e
		}
		l := &pdfLexer{b: data[:bound], pos: off}
		val, _ := l.value(0)
		obj := pdfObject{ref: ref, val: val, off: int64(i)}
		l.skip()
		l.b = data
		if d, isDict := val.(pdfDict); isDict && bytes.HasPrefix(data[l.pos:], []byte("stream")) {
			s := l.pos + len("stream")
			if s < len(data) && data[s] == '\r' {
				s++
			}
			if s < len(data) && data[s] == '\n' {
				s++
			}
			e := p.streamEnd(data, s, d)
			if e == len(data) {
				p.damaged(int64(s), "stream of object %d %d has no endstream", ref.num, ref.gen)
			}
			obj.raw = data[s:e]
			off = e
		} else {
			off = l.pos
		}
		if len(p.objects) < pdfMaxObjects {
			p.objects[ref] = val
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// objHeader checks that "obj" at i is preceded by "num gen ".
func objHeader(data []byte, i int) (pdfRef, bool) {
	j := i
	if j == 0 || !isPDFSpace(data[j-1]) {
		return pdfRef{}, false
	}
	var nums [2]int64
	for k := 1; k >= 0; k-- {
		for j > 0 && isPDFSpace(data[j-1]) {
			j--
		}
		e := j
		for j > 0 && data[j-1] >= '0' && data[j-1] <= '9' && e-j < 10 {
			j--
		}
		if j == e {
			return pdfRef{}, false
		}
		n, err := strconv.ParseInt(string(data[j:e]), 10, 64)
		if err != nil {
			return pdfRef{}, false
		}
		nums[k] = n
	}
	return pdfRef{nums[0], nums[1]}, true
}

// streamEnd returns where the stream data starting at s ends: after
// /Length bytes when "endstream" follows them, else before the next
// "endstream" (line break trimmed), else at the end of data.
func (p *pdfParser) streamEnd(data []byte, s int, d pdfDict) int {
	if n, ok := p.resolve(d["Length"]).(int64); ok && n >= 0 && n <= int64(len(data)-s) {
		e := s + int(n)
		rest := bytes.TrimLeft(data[e:min(len(data), e+32)], " \r\n\t\f\x00")
		if bytes.HasPrefix(rest, []byte("endstream")) {
			return e
		}
	}
	e := p.endstream.from(s)
	if e < 0 {
		return len(data)
	}
	if e > s && data[e-1] == '\n' {
		e--
	}
	if e > s && data[e-1] == '\r' {
		e--
	}
	return e
}

// resolve follows a reference to an object already indexed.
func (p *pdfParser) resolve(v any) any {
	for k := 0; k < 8; k++ {
		r, ok := v.(pdfRef)
		if !ok {
			return v
		}
		v = p.objects[r]
	}
	return nil
}

// pdfEncryption returns the /Encrypt entry and the first /ID string of
// the last trailer or cross-reference stream that has one.
func pdfEncryption(data []byte, objs []pdfObject) (enc any, id0 []byte, ok bool) {
	take := func(d pdfDict) {
		if d["Encrypt"] == nil {
			return
		}
		enc, ok, id0 = d["Encrypt"], true, nil
		if ids, isArr := d["ID"].([]any); isArr && len(ids) > 0 {
			id0, _ = ids[0].([]byte)
		}
	}
	for _, o := range objs {
		if d, isDict := o.val.(pdfDict); isDict && d["Type"] == pdfName("XRef") {
			take(d)
		}
	}
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("trailer"))
		if i < 0 {
			return enc, id0, ok
		}
		l := &pdfLexer{b: data, pos: off + i + len("trailer")}
		if v, isVal := l.value(0); isVal {
			if d, isDict := v.(pdfDict); isDict {
				take(d)
			}
		}
		off = max(l.pos, off+i+len("trailer"))
	}
}

func objName(r pdfRef) string { return fmt.Sprintf("%d %d obj", r.num, r.gen) }

// object emits one object's stream and JavaScript.
func (p *pdfParser) object(o *pdfObject, encrypted bool) error {
	d, _ := o.val.(pdfDict)
	if o.raw != nil {
		if encrypted && d["Type"] != pdfName("XRef") {
			if err := p.b.File(); err != nil {
				return err
			}
			if err := p.emit(Member{Name: objName(o.ref), Encrypted: true, Offset: o.off}); err != nil {
				return err
			}
		} else {
			raw := o.raw
			if p.crypt != nil && d["Type"] != pdfName("XRef") {
				plain, err := p.crypt.decrypt(o.ref, raw, true)
				if err != nil {
					p.damaged(o.off, "stream of object %d %d: %v", o.ref.num, o.ref.gen, err)
				} else {
					raw = plain
				}
			}
			limit, max := memberCap(p.b.Limits(), int64(len(o.raw)))
			data, err := p.decode(raw, d, max)
			if err != nil && err != errTooBig {
				p.damaged(o.off, "stream of object %d %d: %v", o.ref.num, o.ref.gen, err)
			}
			got, rerr := p.b.Read(p.ctx, bytes.NewReader(data), int64(len(o.raw)))
			if len(got) > 0 {
				if eerr := p.emit(Member{Name: objName(o.ref), Data: got, Offset: -1}); eerr != nil {
					return eerr
				}
			}
			if rerr != nil {
				return rerr
			}
			if err == errTooBig {
				v := p.b.Limits().MaxFileSize
				if limit == LimitRatio {
					v = p.b.Limits().MaxRatio
				}
				return p.b.Fail(limit, v)
			}
			if d["Type"] == pdfName("ObjStm") {
				if err := p.objStm(got, d); err != nil {
					return err
				}
			}
		}
	}
	if encrypted || (p.crypt != nil && o.ref == p.encRef) {
		return nil
	}
	return p.javaScript(o.ref, o.val, p.crypt, 0)
}

// decode applies a stream's filter chain; it stops at the first filter
// it does not decode, returning the bytes so far.
func (p *pdfParser) decode(raw []byte, d pdfDict, max int64) ([]byte, error) {
	var filters []any
	switch f := p.resolve(d["Filter"]).(type) {
	case pdfName:
		filters = []any{f}
	case []any:
		filters = f
	}
	var parms []any
	switch dp := p.resolve(d["DecodeParms"]).(type) {
	case pdfDict:
		parms = []any{dp}
	case []any:
		parms = dp
	}
	out := raw
	for i, f := range filters {
		name, ok := p.resolve(f).(pdfName)
		if !ok {
			break
		}
		var parm pdfDict
		if i < len(parms) {
			parm, _ = p.resolve(parms[i]).(pdfDict)
		}
		next, known, err := pdfFilter(name, parm, out, max)
		if !known {
			break
		}
		out = next
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// objStm parses the objects of a decoded object stream: /N pairs of
// "number offset" then the objects, at /First plus each offset.
func (p *pdfParser) objStm(data []byte, d pdfDict) error {
	n, _ := p.resolve(d["N"]).(int64)
	first, _ := p.resolve(d["First"]).(int64)
	if n <= 0 || first <= 0 || first > int64(len(data)) {
		return nil
	}
	l := &pdfLexer{b: data[:first]}
	type entry struct{ num, off int64 }
	var entries []entry
	for k := int64(0); k < n && k < pdfMaxObjects; k++ {
		num, ok1 := l.value(0)
		off, ok2 := l.value(0)
		nn, isN := num.(int64)
		oo, isO := off.(int64)
		if !ok1 || !ok2 || !isN || !isO {
			break
		}
		entries = append(entries, entry{nn, oo})
	}
	// Each object is parsed within its own span, up to the next offset,
	// so crafted offsets cannot make the objects overlap.
	sort.SliceStable(entries, func(a, b int) bool { return entries[a].off < entries[b].off })
	for k, e := range entries {
		if e.off < 0 || first+e.off >= int64(len(data)) || (k > 0 && entries[k-1].off == e.off) {
			continue
		}
		end := int64(len(data))
		for _, f := range entries[k+1:] {
			if f.off > e.off {
				end = min(end, first+f.off)
				break
			}
		}
		ol := &pdfLexer{b: data[:end], pos: int(first + e.off)}
		v, ok := ol.value(0)
		if !ok {
			continue
		}
		ref := pdfRef{e.num, 0}
		if _, dup := p.objects[ref]; !dup && len(p.objects) < pdfMaxObjects {
			p.objects[ref] = v
		}
		if err := p.javaScript(ref, v, nil, 0); err != nil { // inside a decrypted stream
			return err
		}
	}
	return nil
}

// javaScript emits the /JS strings of an object's dictionaries (a /JS
// stream is emitted as a stream already), decrypted with c when not nil.
func (p *pdfParser) javaScript(ref pdfRef, v any, c *pdfCrypt, depth int) error {
	if depth > pdfMaxDepth {
		return nil
	}
	switch v := v.(type) {
	case pdfDict:
		if js, ok := v["JS"].([]byte); ok && len(js) > 0 {
			if c != nil {
				if plain, err := c.decrypt(ref, js, false); err == nil {
					js = plain
				}
			}
			if err := emitDecoded(p.ctx, p.b, p.emit, objName(ref)+" JS", js, -1, 0); err != nil {
				return err
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			if k != "JS" {
				keys = append(keys, string(k))
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := p.javaScript(ref, v[pdfName(k)], c, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := p.javaScript(ref, x, c, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// memberCap returns the size a member decoded from packed bytes may reach
// before Budget.Read would stop it, and the limit that sets it, so a
// decoder that must work in memory stops there too.
func memberCap(l Limits, packed int64) (string, int64) {
	if packed >= 0 && packed*l.MaxRatio > l.RatioFloor && packed*l.MaxRatio < l.MaxFileSize {
		return LimitRatio, packed * l.MaxRatio
	}
	return LimitFileSize, l.MaxFileSize
}

// nextIndex finds the next occurrence of sep in data at or after an
// offset, for offsets that never decrease: it remembers the last answer,
// so a document with many objects and no (or few) separators is searched
// once, not once per object.
type nextIndex struct {
	data []byte
	sep  []byte
	at   int // the last occurrence found; -1 none left; -2 not searched
}

func (n *nextIndex) from(off int) int {
	if n.at == -1 || n.at >= off {
		return n.at
	}
	i := bytes.Index(n.data[off:], n.sep)
	if i < 0 {
		n.at = -1
	} else {
		n.at = off + i
	}
	return n.at
}
