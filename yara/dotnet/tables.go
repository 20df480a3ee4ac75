package dotnet

import (
	"bytes"
	"math/bits"
)

// This file walks the metadata tables of the #~ stream (ECMA-335 II.22,
// II.24.2.6) the way yara 4.2.3 does. A table's rows have no fixed size:
// an index into a heap is 2 or 4 bytes by the heap-size flags, and an
// index into a table (or a coded index into one of several tables) is 4
// bytes only when the table (or the largest of them) is too big for 16
// bits less the tag bits. yara computes each table's row size from those
// rules, with a few deviations reproduced here (AssemblyRefProcessor's
// AssemblyRef column sized by its own row count, CustomAttribute's
// MemberRef class tag read with the MemberRef table's index size), and
// skips row size × row count bytes, a product yara computes in 32 bits.

// Table numbers (bit positions in the Valid mask).
const (
	tModule                 = 0x00
	tTypeRef                = 0x01
	tTypeDef                = 0x02
	tFieldPtr               = 0x03
	tField                  = 0x04
	tMethodDefPtr           = 0x05
	tMethodDef              = 0x06
	tParam                  = 0x08
	tInterfaceImpl          = 0x09
	tMemberRef              = 0x0a
	tConstant               = 0x0b
	tCustomAttribute        = 0x0c
	tFieldMarshal           = 0x0d
	tDeclSecurity           = 0x0e
	tClassLayout            = 0x0f
	tFieldLayout            = 0x10
	tStandAloneSig          = 0x11
	tEventMap               = 0x12
	tEventPtr               = 0x13
	tEvent                  = 0x14
	tPropertyMap            = 0x15
	tPropertyPtr            = 0x16
	tProperty               = 0x17
	tMethodSemantics        = 0x18
	tMethodImpl             = 0x19
	tModuleRef              = 0x1a
	tTypeSpec               = 0x1b
	tImplMap                = 0x1c
	tFieldRVA               = 0x1d
	tENCLog                 = 0x1e
	tENCMap                 = 0x1f
	tAssembly               = 0x20
	tAssemblyProcessor      = 0x21
	tAssemblyOS             = 0x22
	tAssemblyRef            = 0x23
	tAssemblyRefProcessor   = 0x24
	tAssemblyRefOS          = 0x25
	tFile                   = 0x26
	tExportedType           = 0x27
	tManifestResource       = 0x28
	tNestedClass            = 0x29
	tGenericParam           = 0x2a
	tMethodSpec             = 0x2b
	tGenericParamConstraint = 0x2c
)

const (
	maxRows           = 10000
	tildeHeaderSize   = 24
	elementTypeString = 0x0e
)

// rowCounts are the row counts yara records in its first pass over the
// tables (only those some index size depends on).
type rowCounts struct {
	module, moduleRef, assemblyRef, typeRef, methodDef, memberRef    uint32
	typeDef, typeSpec, field, param, property, interfaceImpl, event  uint32
	standAloneSig, assembly, file, exportedType, manifestResource    uint32
	genericParam, genericParamConstraint, methodSpec, assemblyRefPro uint32
}

// indexSizes are the sizes (2 or 4) of heap indexes and simple table
// indexes.
type indexSizes struct {
	str, guid, blob                              int64
	field, methodDef, memberRef, param, event    int64
	typeDef, property, moduleRef, assemblyRefPro int64
	assemblyRef, genericParam                    int64
}

// coded returns the size of a coded index with tagBits tag bits into
// tables with the given row counts.
func coded(tagBits uint, counts ...uint32) int64 {
	m := uint32(0)
	for _, c := range counts {
		m = max(m, c)
	}
	if m > 0xffff>>tagBits {
		return 4
	}
	return 2
}

// index reads a 2- or 4-byte index at off (the caller checked the bounds).
func index(data []byte, off, size int64) uint32 {
	if size == 4 {
		return u32(data, off)
	}
	return uint32(u16(data, off))
}

// parseTilde is yara's dotnet_parse_tilde and dotnet_parse_tilde_2.
func (p *parser) parseTilde(resourcesRVA uint32) {
	data := p.data
	th := p.streamStart(p.tilde)
	if !fits(data, th, tildeHeaderSize) {
		return
	}
	heapSizes := data[th+6]
	valid := u64(data, th+8)

	is := indexSizes{str: 2, guid: 2, blob: 2, field: 2, methodDef: 2, memberRef: 2, param: 2, event: 2,
		typeDef: 2, property: 2, moduleRef: 2, assemblyRefPro: 2, assemblyRef: 2, genericParam: 2}
	if heapSizes&0x01 != 0 {
		is.str = 4
	}
	if heapSizes&0x02 != 0 {
		is.guid = 4
	}
	if heapSizes&0x04 != 0 {
		is.blob = 4
	}

	// First pass: the row counts.
	rowOff := th + tildeHeaderSize
	var rc rowCounts
	matched := int64(0)
	for bit := 0; bit < 64; bit++ {
		if valid>>bit&1 == 0 {
			continue
		}
		count := func() uint32 {
			if fits(data, rowOff, (matched+1)*4) {
				return u32(data, rowOff+4*matched)
			}
			return 0
		}
		withIndex := func(dst *uint32, size *int64) {
			*dst = count()
			if *dst > 0xffff {
				*size = 4
			}
		}
		switch bit {
		case tModule:
			rc.module = count()
		case tModuleRef:
			withIndex(&rc.moduleRef, &is.moduleRef)
		case tAssemblyRef:
			withIndex(&rc.assemblyRef, &is.assemblyRef)
		case tAssemblyRefProcessor:
			withIndex(&rc.assemblyRefPro, &is.assemblyRefPro)
		case tTypeRef:
			rc.typeRef = count()
		case tMethodDef:
			withIndex(&rc.methodDef, &is.methodDef)
		case tMemberRef:
			withIndex(&rc.memberRef, &is.memberRef)
		case tTypeDef:
			withIndex(&rc.typeDef, &is.typeDef)
		case tTypeSpec:
			rc.typeSpec = count()
		case tField:
			withIndex(&rc.field, &is.field)
		case tParam:
			withIndex(&rc.param, &is.param)
		case tProperty:
			withIndex(&rc.property, &is.property)
		case tInterfaceImpl:
			rc.interfaceImpl = count()
		case tEvent:
			withIndex(&rc.event, &is.event)
		case tStandAloneSig:
			rc.standAloneSig = count()
		case tAssembly:
			rc.assembly = count()
		case tFile:
			rc.file = count()
		case tExportedType:
			rc.exportedType = count()
		case tManifestResource:
			rc.manifestResource = count()
		case tGenericParam:
			withIndex(&rc.genericParam, &is.genericParam)
		case tGenericParamConstraint:
			rc.genericParamConstraint = count()
		case tMethodSpec:
			rc.methodSpec = count()
		}
		matched++
	}

	resourceBase := p.im.rvaToOffset(uint64(resourcesRVA))
	w := tableWalk{p: p, rc: &rc, is: &is, resourceBase: resourceBase,
		strHeap: p.streamStart(p.strings), blobHeap: p.streamStart(p.blob)}
	w.walk(rowOff, valid)
}

// tableWalk is the second pass over the tables.
type tableWalk struct {
	p            *parser
	rc           *rowCounts
	is           *indexSizes
	resourceBase int64
	strHeap      int64
	blobHeap     int64

	// TypeRef and MemberRef tables, which the CustomAttribute table (after
	// them) refers to.
	typeRef, memberRef         int64
	typeRefSize, memberRefSize int64
	hasTypeRef, hasMemberRef   bool
}

func (w *tableWalk) walk(rowOff int64, valid uint64) {
	data, rc, is := w.p.data, w.rc, w.is
	tableOff := rowOff + 4*int64(bits.OnesCount64(valid))
	matched := int64(0)
	for bit := 0; bit < 64; bit++ {
		if valid>>bit&1 == 0 {
			continue
		}
		// A table past the end of the data is not an error: its rows
		// fail their bounds checks one by one.
		if !fits(data, rowOff+4*matched, 4) {
			return
		}
		numRows := u32(data, rowOff+4*matched)
		// yara gives up on a table of more than 10000 rows (a sanity
		// limit against absurd counts) and on every table after it.
		if numRows > maxRows {
			return
		}
		var rowSize int64
		switch bit {
		case tModule:
			if !fits(data, tableOff, 18) { // sizeof(MODULE_TABLE)
				matched++
				continue
			}
			if s, ok := w.p.heapString(w.strHeap, index(data, tableOff+2, is.str)); ok {
				w.p.f.ModuleName, w.p.f.HasModuleName = s, true
			}
			rowSize = 2 + is.str + 3*is.guid
		case tTypeRef:
			rowSize = coded(2, rc.module, rc.moduleRef, rc.assemblyRef, rc.typeRef) + 2*is.str
			w.typeRef, w.typeRefSize, w.hasTypeRef = tableOff, rowSize, true
		case tTypeDef:
			rowSize = 4 + 2*is.str + coded(2, rc.typeDef, rc.typeRef, rc.typeSpec) + is.field + is.methodDef
		case tFieldPtr:
			rowSize = is.field
		case tField:
			rowSize = 2 + is.str + is.blob
		case tMethodDefPtr:
			rowSize = is.methodDef
		case tMethodDef:
			rowSize = 4 + 2 + 2 + is.str + is.blob + is.param
		case tParam:
			rowSize = 2 + 2 + is.str
		case tInterfaceImpl:
			rowSize = is.typeDef + coded(2, rc.typeDef, rc.typeRef, rc.typeSpec)
		case tMemberRef:
			rowSize = coded(3, rc.methodDef, rc.moduleRef, rc.typeRef, rc.typeSpec) + is.str + is.blob
			w.memberRef, w.memberRefSize, w.hasMemberRef = tableOff, rowSize, true
		case tConstant:
			parent := coded(2, rc.param, rc.field, rc.property)
			rowSize = 1 + 1 + parent + is.blob
			w.constants(tableOff, numRows, rowSize, parent)
		case tCustomAttribute:
			parent := coded(5, rc.methodDef, rc.field, rc.typeRef, rc.typeDef, rc.param, rc.interfaceImpl,
				rc.memberRef, rc.module, rc.property, rc.event, rc.standAloneSig, rc.moduleRef, rc.typeSpec,
				rc.assembly, rc.assemblyRef, rc.file, rc.exportedType, rc.manifestResource, rc.genericParam,
				rc.genericParamConstraint, rc.methodSpec)
			typ := coded(3, rc.methodDef, rc.memberRef)
			rowSize = parent + typ + is.blob
			if w.hasTypeRef && w.hasMemberRef {
				w.customAttributes(tableOff, numRows, rowSize, parent, typ)
			}
		case tFieldMarshal:
			rowSize = coded(1, rc.field, rc.param) + is.blob
		case tDeclSecurity:
			rowSize = 2 + coded(2, rc.typeDef, rc.methodDef, rc.assembly) + is.blob
		case tClassLayout:
			rowSize = 2 + 4 + is.typeDef
		case tFieldLayout:
			rowSize = 4 + is.field
		case tStandAloneSig:
			rowSize = is.blob
		case tEventMap:
			rowSize = is.typeDef + is.event
		case tEventPtr:
			rowSize = is.event
		case tEvent:
			rowSize = 2 + is.str + coded(2, rc.typeDef, rc.typeRef, rc.typeSpec)
		case tPropertyMap:
			rowSize = is.typeDef + is.property
		case tPropertyPtr:
			rowSize = is.property
		case tProperty:
			rowSize = 2 + is.str + is.blob
		case tMethodSemantics:
			rowSize = 2 + is.methodDef + coded(1, rc.event, rc.property)
		case tMethodImpl:
			rowSize = is.typeDef + 2*coded(1, rc.methodDef, rc.memberRef)
		case tModuleRef:
			rowSize = is.str
			w.moduleRefs(tableOff, numRows)
		case tTypeSpec:
			rowSize = is.blob
		case tImplMap:
			rowSize = 2 + coded(1, rc.field, rc.methodDef) + is.str + is.moduleRef
		case tFieldRVA:
			rowSize = 4 + is.field
			w.fieldRVAs(tableOff, numRows, rowSize)
		case tENCLog:
			rowSize = 8
		case tENCMap:
			rowSize = 4
		case tAssembly:
			rowSize = 4 + 2 + 2 + 2 + 2 + 4 + is.blob + 2*is.str
			if !fits(data, tableOff, rowSize) {
				matched++
				continue
			}
			w.assembly(tableOff)
		case tAssemblyProcessor:
			rowSize = 4
		case tAssemblyOS:
			rowSize = 12
		case tAssemblyRef:
			rowSize = 2 + 2 + 2 + 2 + 4 + 2*is.blob + 2*is.str
			w.assemblyRefs(tableOff, numRows, rowSize)
		case tAssemblyRefProcessor:
			rowSize = 4 + is.assemblyRefPro
		case tAssemblyRefOS:
			rowSize = 12 + is.assemblyRef
		case tFile:
			rowSize = 4 + is.str + is.blob
		case tExportedType:
			rowSize = 4 + 4 + 2*is.str + coded(2, rc.file, rc.assemblyRef, rc.exportedType)
		case tManifestResource:
			impl := coded(2, rc.file, rc.assemblyRef)
			rowSize = 4 + 4 + is.str + impl
			w.resources(tableOff, numRows, rowSize, impl)
		case tNestedClass:
			rowSize = 2 * is.typeDef
		case tGenericParam:
			rowSize = 2 + 2 + coded(1, rc.typeDef, rc.methodDef) + is.str
		case tMethodSpec:
			rowSize = coded(1, rc.methodDef, rc.memberRef) + is.blob
		case tGenericParamConstraint:
			rowSize = is.genericParam + coded(2, rc.typeDef, rc.typeRef, rc.typeSpec)
		default:
			// ParamPtr, and the tables past GenericParamConstraint: yara
			// stops here.
			return
		}
		// yara multiplies in 32 bits.
		tableOff += int64(uint32(rowSize) * numRows)
		matched++
	}
}

// constants reads the string constants of the Constant table.
func (w *tableWalk) constants(off int64, numRows uint32, rowSize, parent int64) {
	p, data := w.p, w.p.data
	var out [][]byte
	for i := uint32(0); i < numRows; i++ {
		if !fits(data, off, rowSize) {
			break
		}
		row := off
		off += rowSize
		// yara reads the type and the padding byte after it as one
		// 16-bit value.
		if u16(data, row) != elementTypeString {
			continue
		}
		blob := w.blobHeap + int64(index(data, row+2+parent, w.is.blob))
		n, length := p.blobEntry(blob)
		if n == 0 {
			continue
		}
		blob += n
		if blob+length >= int64(len(data)) {
			continue
		}
		if len(out) < MaxItems {
			out = append(out, data[blob:blob+length])
		}
	}
	p.f.Constants, p.f.HasConstants = out, true
}

// customAttributes looks for the GuidAttribute of the assembly, whose
// string argument is the type library GUID.
func (w *tableWalk) customAttributes(off int64, numRows uint32, rowSize, parent, typ int64) {
	p, data, is, rc := w.p, w.p.data, w.is, w.rc
	n := int64(len(data))
	for i := uint32(0); i < numRows; i++ {
		if !fits(data, off, rowSize) {
			break
		}
		row := off
		off += rowSize
		// The parent must be the Assembly table (tag 0x0e).
		if index(data, row, parent)&0x1f != 0x0e {
			continue
		}
		// The type must be a MemberRef (tag 3).
		t := index(data, row+parent, typ)
		if t&0x07 != 0x03 {
			continue
		}
		ti := t >> 3
		if ti > 0 {
			ti--
		}
		mr := w.memberRef + w.memberRefSize*int64(ti)
		if !fits(data, mr, w.memberRefSize) {
			return
		}
		// The MemberRef's class must be a TypeRef (tag 1); yara reads the
		// class with the MemberRef table's own index size.
		c := index(data, mr, is.memberRef)
		if c&0x07 != 0x01 {
			continue
		}
		ci := c >> 3
		if ci > 0 {
			ci--
		}
		tr := w.typeRef + w.typeRefSize*int64(ci)
		if !fits(data, tr, w.typeRefSize) {
			return
		}
		tr += coded(2, rc.module, rc.moduleRef, rc.assemblyRef, rc.typeRef)
		// A name that cannot be read does not stop yara; one that does
		// not start with GuidAttribute does.
		if name, ok := p.heapString(w.strHeap, index(data, tr, is.str)); ok && !cPrefix(name, "GuidAttribute") {
			continue
		}
		bi := index(data, row+parent+typ, is.blob)
		blob := w.blobHeap + int64(bi)
		if bi == 0 || blob >= n {
			continue
		}
		sz, length := p.blobEntry(blob)
		if sz == 0 {
			continue
		}
		blob += sz
		if length < 3 || blob+length >= n {
			continue
		}
		// The prolog 0x0001, then the string's length byte.
		if u16(data, blob) != 0x0001 {
			continue
		}
		strLen := int64(data[blob+2])
		s := blob + 3
		if s+strLen > n {
			continue
		}
		var lib []byte
		if data[s] != 0xff && data[s] != 0x00 {
			lib = data[s : s+strLen]
			if j := bytes.IndexByte(lib, 0); j >= 0 {
				lib = lib[:j]
			}
		}
		p.f.Typelib, p.f.HasTypelib = lib, true
	}
}

// cPrefix reports whether the C string s starts with prefix, as
// strncmp(s, prefix, len(prefix)) == 0.
func cPrefix(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}

// moduleRefs reads the names of the ModuleRef table.
func (w *tableWalk) moduleRefs(off int64, numRows uint32) {
	p, data := w.p, w.p.data
	var out [][]byte
	for i := uint32(0); i < numRows; i++ {
		// yara checks the size of its row structure, 4 bytes, whatever
		// the index size.
		if !fits(data, off, 4) {
			break
		}
		if s, ok := p.heapString(w.strHeap, index(data, off, w.is.str)); ok && len(out) < MaxItems {
			out = append(out, s)
		}
		off += w.is.str
	}
	p.f.ModuleRefs, p.f.HasModuleRefs = out, true
}

// fieldRVAs maps the RVAs of the FieldRVA table to file offsets.
func (w *tableWalk) fieldRVAs(off int64, numRows uint32, rowSize int64) {
	p, data := w.p, w.p.data
	var out []int64
	for i := uint32(0); i < numRows; i++ {
		if !fits(data, off, 8) { // sizeof(FIELDRVA_TABLE)
			break
		}
		if fo := p.im.rvaToOffset(uint64(u32(data, off))); fo >= 0 && len(out) < MaxItems {
			out = append(out, fo)
		}
		off += rowSize
	}
	p.f.FieldOffsets, p.f.HasFieldOffsets = out, true
}

// assembly reads the row of the Assembly table.
func (w *tableWalk) assembly(row int64) {
	p, data, is := w.p, w.p.data, w.is
	a := &p.f.Assembly
	a.HasVersion = true
	a.Version = Version{u16(data, row+4), u16(data, row+6), u16(data, row+8), u16(data, row+10)}
	nameAt := row + 4 + 2 + 2 + 2 + 2 + 4 + is.blob
	if s, ok := p.heapString(w.strHeap, index(data, nameAt, is.str)); ok {
		a.Name, a.HasName = s, true
	}
	if s, ok := p.heapString(w.strHeap, index(data, nameAt+is.str, is.str)); ok && len(s) > 0 {
		a.Culture, a.HasCulture = s, true
	}
}

// assemblyRefs reads the AssemblyRef table.
func (w *tableWalk) assemblyRefs(off int64, numRows uint32, rowSize int64) {
	p, data, is := w.p, w.p.data, w.is
	var out []AssemblyRef
	i := uint32(0)
	for ; i < numRows; i++ {
		if !fits(data, off, rowSize) {
			break
		}
		row := off
		off += rowSize
		if len(out) >= MaxItems {
			continue
		}
		ref := AssemblyRef{Version: Version{u16(data, row), u16(data, row+2), u16(data, row+4), u16(data, row+6)}}
		blob := w.blobHeap + int64(index(data, row+12, is.blob))
		n, length := p.blobEntry(blob)
		blob += n
		if n != 0 && fits(data, blob, length) {
			if length > 0 {
				ref.PublicKeyOrToken = data[blob : blob+length]
			}
			if s, ok := p.heapString(w.strHeap, index(data, row+12+is.blob, is.str)); ok {
				ref.Name, ref.HasName = s, true
			}
		}
		out = append(out, ref)
	}
	p.f.AssemblyRefs, p.f.HasAssemblyRefs = out, true
}

// resources reads the ManifestResource table: the resources stored in this
// file (implementation 0), whose data is a 4-byte length and the bytes.
func (w *tableWalk) resources(off int64, numRows uint32, rowSize, impl int64) {
	p, data, is := w.p, w.p.data, w.is
	var out []Resource
	for i := uint32(0); i < numRows; i++ {
		if !fits(data, off, rowSize) {
			break
		}
		row := off
		off += rowSize
		if index(data, row+8+is.str, impl) != 0 {
			continue
		}
		at := w.resourceBase + int64(u32(data, row))
		if !fits(data, at, 4) {
			continue
		}
		size := u32(data, at)
		if !fits(data, at, int64(size)) {
			continue
		}
		if len(out) >= MaxItems {
			continue
		}
		r := Resource{Offset: at + 4, Length: size}
		if s, ok := p.heapString(w.strHeap, index(data, row+8, is.str)); ok {
			r.Name, r.HasName = s, true
		}
		out = append(out, r)
	}
	p.f.Resources, p.f.HasResources = out, true
}
