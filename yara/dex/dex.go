// Package dex reads the parts of an Android DEX file that YARA's dex
// module shows: the header, the string, type, proto, field and method
// identifier tables, the map list, the class definitions, and the fields
// and methods their class data declares, with each method's code item.
//
// The reading follows yara 4.2.3's dex module, quirks included: a string's
// bytes are taken from one byte past its offset whatever the length of
// its ULEB128 size, a table that does not fit in the data ends the parse
// (leaving later tables and the field and method counts unset), a field
// or method whose name cannot be resolved leaves a partly filled entry
// that the next one overwrites, and table indexes above 0x80000 resolve to
// nothing.
//
// Every read is bounds-checked. Work and memory are bounded by the input:
// the tables are read only where they fit in the data, and the fields and
// methods read from class data (which many class definitions may share,
// making yara's work quadratic) are limited to MaxEncodedItems plus one
// per 8 bytes of data each; a valid DEX file, whose every encoded field or
// method has its own 8-byte identifier, stays below that. Parse never
// panics.
//
// The byte strings of the result (names, code) share the input's memory.
package dex

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// ErrFormat is returned for data that is not a DEX file yara parses.
var ErrFormat = errors.New("dex: not a DEX file")

// MaxEncodedItems is the number of fields, and of methods, read from class
// data beyond one per 8 bytes of input.
const MaxEncodedItems = 1 << 12

// maxIndex is the largest table index yara resolves.
const maxIndex = 0x80000

const headerSize = 0x70

// Magics yara accepts.
var magics = [...]string{"dex\n035\x00", "dex\n036\x00", "dex\n037\x00", "dex\n038\x00", "dex\n039\x00"}

// IsDex reports whether data starts with a DEX magic yara accepts and has
// room for the header.
func IsDex(data []byte) bool {
	if len(data) < headerSize {
		return false
	}
	for _, m := range magics {
		if string(data[:8]) == m {
			return true
		}
	}
	return false
}

// Header is the DEX file header. Magic and Signature are cut at their
// first NUL byte, as yara stores them.
type Header struct {
	Magic, Signature                                                           []byte
	Checksum, FileSize, HeaderSize, EndianTag, LinkSize, LinkOffset, MapOffset uint32
	StringIDsSize, StringIDsOffset, TypeIDsSize, TypeIDsOffset                 uint32
	ProtoIDsSize, ProtoIDsOffset, FieldIDsSize, FieldIDsOffset                 uint32
	MethodIDsSize, MethodIDsOffset, ClassDefsSize, ClassDefsOffset             uint32
	DataSize, DataOffset                                                       uint32
}

// StringID is one string identifier; OK is false for one whose data does
// not fit (yara leaves that entry out).
type StringID struct {
	Offset, Size uint32
	Value        []byte
	OK           bool
}

// ProtoID is one prototype identifier.
type ProtoID struct{ ShortyIdx, ReturnTypeIdx, ParametersOffset uint32 }

// MemberID is one field or method identifier: for a field, Proto is its
// type index.
type MemberID struct {
	ClassIdx, ProtoIdx uint16
	NameIdx            uint32
}

// MapItem is one entry of the map list.
type MapItem struct {
	Type, Unused uint16
	Size, Offset uint32
}

// ClassDef is one class definition.
type ClassDef struct {
	ClassIdx, AccessFlags, SuperclassIdx, InterfacesOffset, SourceFileIdx uint32
	AnnotationsOffset, ClassDataOffset, StaticValuesOffset                uint32
}

// ClassData is the header of one class data item.
type ClassData struct {
	StaticFields, InstanceFields, DirectMethods, VirtualMethods uint32
}

// Field is one field declared in class data. Names are nil when they do
// not resolve.
type Field struct {
	ClassName, Name, Proto    []byte
	FieldIdxDiff, AccessFlags uint32
}

// Method is one method declared in class data. Names are nil when they do
// not resolve; Code is nil when the method has no code item or it does not
// fit.
type Method struct {
	ClassName, Name, Proto              []byte
	Direct, Virtual                     bool
	MethodIdxDiff, AccessFlags, CodeOff uint32
	Code                                *CodeItem
}

// CodeItem is a method's code item; Insns is nil when the instructions do
// not fit in the data.
type CodeItem struct {
	RegistersSize, InsSize, OutsSize, TriesSize uint16
	DebugInfoOff, InsnsSize                     uint32
	Insns                                       []byte
}

// File is what yara's dex module reads of a DEX file. The slices stop
// where yara's parse stopped; HasMapList and HasCounts flag values yara
// sets only when it gets that far.
type File struct {
	Header    Header
	StringIDs []StringID
	TypeIDs   []uint32
	ProtoIDs  []ProtoID
	FieldIDs  []MemberID // ProtoIdx holds the field's type index
	MethodIDs []MemberID
	MapList   []MapItem
	ClassDefs []ClassDef
	ClassData []ClassData

	MapListSize uint32
	HasMapList  bool

	// Fields and Methods may end with a partly filled entry (see the
	// package comment). NumFields and NumMethods count the complete
	// ones; yara reports them only when HasCounts.
	Fields                []Field
	Methods               []Method
	NumFields, NumMethods int
	HasCounts             bool
}

// parser holds the state of one parse.
type parser struct {
	d    []byte
	f    *File
	le   binary.ByteOrder
	left struct{ fields, methods int }
}

// fits reports whether n bytes at off lie inside the data, as yara's
// fits_in_dex checks it.
func (p *parser) fits(off, n uint64) bool {
	size := uint64(len(p.d))
	return n <= size && off <= size-n
}

func (p *parser) u16(off uint64) uint16 { return p.le.Uint16(p.d[off:]) }
func (p *parser) u32(off uint64) uint32 { return p.le.Uint32(p.d[off:]) }

// uleb128 reads yara's bounded ULEB128 at off: at most five bytes, the
// fifth taken whole (its high bits land past bit 31 and are lost). It
// returns the value and the number of bytes read, ok false when the data
// ends first.
func (p *parser) uleb128(off uint64) (v uint32, n uint64, ok bool) {
	for n < 5 {
		if off+n >= uint64(len(p.d)) {
			return v, n, false
		}
		c := uint32(p.d[off+n])
		if n == 4 {
			v |= c << 28
			return v, n + 1, true
		}
		v |= (c & 0x7f) << (7 * n)
		n++
		if c <= 0x7f {
			return v, n, true
		}
	}
	return v, n, true
}

// Parse reads data as yara's dex module does.
func Parse(data []byte) (*File, error) {
	if !IsDex(data) {
		return nil, ErrFormat
	}
	p := &parser{d: data, f: &File{}, le: binary.LittleEndian}
	p.left.fields = MaxEncodedItems + len(data)/8
	p.left.methods = p.left.fields
	p.parse()
	return p.f, nil
}

func (p *parser) parse() {
	f, d := p.f, p.d
	h := &f.Header
	h.Magic = cString(d[0:8])
	h.Checksum = p.u32(8)
	h.Signature = cString(d[12:32])
	fs := []*uint32{&h.FileSize, &h.HeaderSize, &h.EndianTag, &h.LinkSize, &h.LinkOffset, &h.MapOffset,
		&h.StringIDsSize, &h.StringIDsOffset, &h.TypeIDsSize, &h.TypeIDsOffset,
		&h.ProtoIDsSize, &h.ProtoIDsOffset, &h.FieldIDsSize, &h.FieldIDsOffset,
		&h.MethodIDsSize, &h.MethodIDsOffset, &h.ClassDefsSize, &h.ClassDefsOffset,
		&h.DataSize, &h.DataOffset}
	for i, v := range fs {
		*v = p.u32(uint64(32 + 4*i))
	}

	if !p.fits(uint64(h.StringIDsOffset), uint64(h.StringIDsSize)*4) {
		return
	}
	f.StringIDs = make([]StringID, h.StringIDsSize)
	for i := range f.StringIDs {
		off := uint64(p.u32(uint64(h.StringIDsOffset) + uint64(i)*4))
		if !p.fits(off, 4) {
			continue
		}
		n, _, ok := p.uleb128(off)
		if !ok || !p.fits(off+1, uint64(n)) {
			continue
		}
		f.StringIDs[i] = StringID{Offset: uint32(off), Size: n, Value: d[off+1 : off+1+uint64(n) : off+1+uint64(n)], OK: true}
	}

	if !p.fits(uint64(h.TypeIDsOffset), uint64(h.TypeIDsSize)*4) {
		return
	}
	f.TypeIDs = make([]uint32, h.TypeIDsSize)
	for i := range f.TypeIDs {
		f.TypeIDs[i] = p.u32(uint64(h.TypeIDsOffset) + uint64(i)*4)
	}

	if !p.fits(uint64(h.ProtoIDsOffset), uint64(h.ProtoIDsSize)*12) {
		return
	}
	f.ProtoIDs = make([]ProtoID, h.ProtoIDsSize)
	for i := range f.ProtoIDs {
		o := uint64(h.ProtoIDsOffset) + uint64(i)*12
		f.ProtoIDs[i] = ProtoID{p.u32(o), p.u32(o + 4), p.u32(o + 8)}
	}

	var ok bool
	if f.FieldIDs, ok = p.memberIDs(h.FieldIDsOffset, h.FieldIDsSize); !ok {
		return
	}
	if f.MethodIDs, ok = p.memberIDs(h.MethodIDsOffset, h.MethodIDsSize); !ok {
		return
	}

	if h.MapOffset != 0 && p.fits(uint64(h.MapOffset), 4) {
		n := p.u32(uint64(h.MapOffset))
		f.MapListSize, f.HasMapList = n, true
		// yara checks the whole list with a macro that, given the sum
		// 4 + 12n for a size, compares the offset with size - 4 + 12n
		// instead of size - (4 + 12n): the check passes for lists that
		// run past the end. The items are then read while they fit;
		// the first that does not ends the parse.
		table := 4 + uint64(n)*12
		if size := uint64(len(d)); table > size || uint64(h.MapOffset) > size-4+uint64(n)*12 {
			return
		}
		for i := uint64(0); i < uint64(n); i++ {
			o := uint64(h.MapOffset) + 4 + i*12
			if !p.fits(o, 12) {
				return
			}
			f.MapList = append(f.MapList, MapItem{p.u16(o), p.u16(o + 2), p.u32(o + 4), p.u32(o + 8)})
		}
	}

	if !p.fits(uint64(h.ClassDefsOffset), uint64(h.ClassDefsSize)*32) {
		return
	}
	f.ClassDefs = make([]ClassDef, 0, h.ClassDefsSize)
	for i := uint64(0); i < uint64(h.ClassDefsSize); i++ {
		o := uint64(h.ClassDefsOffset) + i*32
		c := ClassDef{p.u32(o), p.u32(o + 4), p.u32(o + 8), p.u32(o + 12), p.u32(o + 16), p.u32(o + 20), p.u32(o + 24), p.u32(o + 28)}
		// A class whose data cannot be read ends the parse after it.
		f.ClassDefs = append(f.ClassDefs, c)
		if c.ClassDataOffset != 0 && !p.classData(uint64(c.ClassDataOffset)) {
			return
		}
	}
	f.HasCounts = true
}

// memberIDs reads a field or method identifier table.
func (p *parser) memberIDs(off, n uint32) ([]MemberID, bool) {
	if !p.fits(uint64(off), uint64(n)*8) {
		return nil, false
	}
	ids := make([]MemberID, n)
	for i := range ids {
		o := uint64(off) + uint64(i)*8
		ids[i] = MemberID{p.u16(o), p.u16(o + 2), p.u32(o + 4)}
	}
	return ids, true
}

// classData reads one class data item and its fields and methods; false
// ends the whole parse, as in yara.
func (p *parser) classData(off uint64) bool {
	if !p.fits(off, 16) {
		return false
	}
	var sizes [4]uint32
	var used uint64
	for i := range sizes {
		v, n, ok := p.uleb128(off + used)
		if !ok {
			return false
		}
		sizes[i], used = v, used+n
	}
	p.f.ClassData = append(p.f.ClassData, ClassData{sizes[0], sizes[1], sizes[2], sizes[3]})
	for kind := 0; kind < 2; kind++ { // static, then instance fields
		prev := uint32(0)
		for j := uint32(0); j < sizes[kind] && p.left.fields > 0; j++ {
			p.left.fields--
			n := p.field(off+used, &prev)
			if n == 0 {
				break
			}
			used += n
		}
	}
	for kind := 0; kind < 2; kind++ { // direct, then virtual methods
		prev := uint32(0)
		for j := uint32(0); j < sizes[2+kind] && p.left.methods > 0; j++ {
			p.left.methods--
			n := p.method(off+used, &prev, kind == 0)
			if n == 0 {
				break
			}
			used += n
		}
	}
	return true
}

// The lookups below resolve table indexes as yara's dex_get_integer and
// dex_get_string do: negative or above maxIndex, or past the table, is
// nothing.

func (p *parser) str(idx int64) []byte {
	if idx < 0 || idx > maxIndex || idx >= int64(len(p.f.StringIDs)) || !p.f.StringIDs[idx].OK {
		return nil
	}
	return p.f.StringIDs[idx].Value
}

func (p *parser) typeDesc(idx int64) (int64, bool) {
	if idx < 0 || idx > maxIndex || idx >= int64(len(p.f.TypeIDs)) {
		return 0, false
	}
	return int64(p.f.TypeIDs[idx]), true
}

// typeName is the descriptor string of type idx.
func (p *parser) typeName(idx int64) []byte {
	d, ok := p.typeDesc(idx)
	if !ok {
		return nil
	}
	return p.str(d)
}

// slot returns entry i of s, growing s as yara's arrays grow.
func slot[T any](s *[]T, i int) *T {
	for len(*s) <= i {
		var zero T
		*s = append(*s, zero)
	}
	return &(*s)[i]
}

// field reads one encoded field at off into the next field entry and
// returns its size, 0 when it cannot be read or its name index does not
// resolve (the entry then stays partly filled and is not counted).
func (p *parser) field(off uint64, prev *uint32) uint64 {
	if !p.fits(off, 8) {
		return 0
	}
	diff, n1, ok := p.uleb128(off)
	if !ok {
		return 0
	}
	flags, n2, ok := p.uleb128(off + n1)
	if !ok {
		return 0
	}
	idx := p.f.NumFields
	e := slot(&p.f.Fields, idx)
	*e = Field{FieldIdxDiff: diff, AccessFlags: flags}
	*prev += diff
	i := int64(*prev)
	if i > maxIndex || i >= int64(len(p.f.FieldIDs)) {
		return 0
	}
	id := p.f.FieldIDs[i]
	e.Name = p.str(int64(id.NameIdx))
	e.ClassName = p.typeName(int64(id.ClassIdx))
	e.Proto = p.typeName(int64(id.ProtoIdx))
	p.f.NumFields++
	return n1 + n2
}

// method reads one encoded method at off, like field.
func (p *parser) method(off uint64, prev *uint32, direct bool) uint64 {
	if !p.fits(off, 12) {
		return 0
	}
	var v [3]uint32
	var used uint64
	for i := range v {
		x, n, ok := p.uleb128(off + used)
		if !ok {
			return 0
		}
		v[i], used = x, used+n
	}
	e := slot(&p.f.Methods, p.f.NumMethods)
	*e = Method{MethodIdxDiff: v[0], AccessFlags: v[1], CodeOff: v[2], Direct: direct, Virtual: !direct}
	*prev += v[0]
	i := int64(*prev)
	if i > maxIndex || i >= int64(len(p.f.MethodIDs)) {
		return 0
	}
	id := p.f.MethodIDs[i]
	e.Name = p.str(int64(id.NameIdx))
	e.ClassName = p.typeName(int64(id.ClassIdx))
	if pi := int64(id.ProtoIdx); pi <= maxIndex && pi < int64(len(p.f.ProtoIDs)) {
		e.Proto = p.str(int64(p.f.ProtoIDs[pi].ShortyIdx))
	}
	if co := uint64(v[2]); co != 0 && p.fits(co, 16) {
		c := &CodeItem{
			RegistersSize: p.u16(co), InsSize: p.u16(co + 2), OutsSize: p.u16(co + 4), TriesSize: p.u16(co + 6),
			DebugInfoOff: p.u32(co + 8), InsnsSize: p.u32(co + 12),
		}
		if n := uint64(c.InsnsSize) * 2; p.fits(co+16, n) {
			c.Insns = p.d[co+16 : co+16+n : co+16+n]
		}
		e.Code = c
	}
	p.f.NumMethods++
	return used
}

// cString returns b up to its first NUL byte.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i:i]
	}
	return b[:len(b):len(b)]
}
