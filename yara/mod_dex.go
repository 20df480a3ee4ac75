package yara

import (
	"bytes"

	"github.com/glassav/glassav/yara/dex"
)

// dexModule is yara's "dex" module: the header, identifier tables, map
// list, class definitions and the fields and methods of an Android DEX
// file, as yara 4.2.3 computes them (package dex reads them), and the
// has_method and has_class functions. Data that is not DEX gets the
// constants only.
type dexModule struct {
	decl   *Object
	consts map[string]*Object // the loaded constants, shared by every tree
	empty  *Object            // the tree for data that is not DEX
}

func newDexModule() dexModule {
	m := dexModule{consts: map[string]*Object{}}
	for _, c := range dexMagics {
		m.consts[c] = stringObject(c)
	}
	for _, c := range dexConsts {
		m.consts[c.name] = intObject(c.v)
	}
	m.decl = dexTree(nil, nil)
	m.empty = dexTree(m.consts, nil)
	return m
}

func (dexModule) Name() string { return "dex" }

func (m dexModule) Declare() *Object { return m.decl }

func (m dexModule) Load(sc *ScanContext) (*Object, error) {
	if !dex.IsDex(sc.Data) {
		return m.empty, nil
	}
	f := dexFile(sc)
	if f == nil {
		return m.empty, nil
	}
	return dexTree(m.consts, f), nil
}

// dexKey memoises the parsed file of a scan for the module's functions.
type dexKey struct{}

// dexFile returns the scanned data parsed as DEX, nil when it is not.
func dexFile(sc *ScanContext) *dex.File {
	return sc.Cached(dexKey{}, func() any {
		f, err := dex.Parse(sc.Data)
		if err != nil {
			return (*dex.File)(nil)
		}
		return f
	}).(*dex.File)
}

// The magic constants are named for their values (DEX_FILE_MAGIC_035 is
// "dex\n035"), as the string constants of yara's module.
var dexMagics = [...]string{"dex\n035", "dex\n036", "dex\n037", "dex\n038", "dex\n039"}

var dexConsts = [...]namedInt{
	{"ENDIAN_CONSTANT", 0x12345678}, {"REVERSE_ENDIAN_CONSTANT", 0x78563412}, {"NO_INDEX", 0xffffffff},
	{"ACC_PUBLIC", 0x1}, {"ACC_PRIVATE", 0x2}, {"ACC_PROTECTED", 0x4}, {"ACC_STATIC", 0x8},
	{"ACC_FINAL", 0x10}, {"ACC_SYNCHRONIZED", 0x20}, {"ACC_VOLATILE", 0x40}, {"ACC_BRIDGE", 0x40},
	{"ACC_TRANSIENT", 0x80}, {"ACC_VARARGS", 0x80}, {"ACC_NATIVE", 0x100}, {"ACC_INTERFACE", 0x200},
	{"ACC_ABSTRACT", 0x400}, {"ACC_STRICT", 0x800}, {"ACC_SYNTHETIC", 0x1000},
	{"ACC_ANNOTATION", 0x2000}, {"ACC_ENUM", 0x4000}, {"ACC_CONSTRUCTOR", 0x10000},
	{"ACC_DECLARED_SYNCHRONIZED", 0x20000},
	{"TYPE_HEADER_ITEM", 0x0}, {"TYPE_STRING_ID_ITEM", 0x1}, {"TYPE_TYPE_ID_ITEM", 0x2},
	{"TYPE_PROTO_ID_ITEM", 0x3}, {"TYPE_FIELD_ID_ITEM", 0x4}, {"TYPE_METHOD_ID_ITEM", 0x5},
	{"TYPE_CLASS_DEF_ITEM", 0x6}, {"TYPE_CALL_SITE_ID_ITEM", 0x7}, {"TYPE_METHOD_HANDLE_ITEM", 0x8},
	{"TYPE_MAP_LIST", 0x1000}, {"TYPE_TYPE_LIST", 0x1001}, {"TYPE_ANNOTATION_SET_REF_LIST", 0x1002},
	{"TYPE_ANNOTATION_SET_ITEM", 0x1003}, {"TYPE_CLASS_DATA_ITEM", 0x2000}, {"TYPE_CODE_ITEM", 0x2001},
	{"TYPE_STRING_DATA_ITEM", 0x2002}, {"TYPE_DEBUG_INFO_ITEM", 0x2003},
	{"TYPE_ANNOTATION_ITEM", 0x2004}, {"TYPE_ENCODED_ARRAY_ITEM", 0x2005},
	{"TYPE_ANNOTATIONS_DIRECTORY_ITEM", 0x2006},
}

// ints returns structure members for integer fields: defined from vals
// when ok, undefined otherwise.
func ints(names []string, vals []int64, ok bool) []member {
	ms := make([]member, len(names))
	for i, n := range names {
		var v int64
		if ok {
			v = vals[i]
		}
		ms[i] = member{n, optInt(v, ok)}
	}
	return ms
}

var (
	dexHeaderInts = []string{"file_size", "header_size", "endian_tag", "link_size", "link_offset",
		"map_offset", "string_ids_size", "string_ids_offset", "type_ids_size", "type_ids_offset",
		"proto_ids_size", "proto_ids_offset", "field_ids_size", "field_ids_offset",
		"method_ids_size", "method_ids_offset", "class_defs_size", "class_defs_offset",
		"data_size", "data_offset"}
	dexProtoInts    = []string{"shorty_idx", "return_type_idx", "parameters_offset"}
	dexFieldIDInts  = []string{"class_idx", "type_idx", "name_idx"}
	dexMethodIDInts = []string{"class_idx", "proto_idx", "name_idx"}
	dexClassDefInts = []string{"class_idx", "access_flags", "super_class_idx", "interfaces_offset",
		"source_file_idx", "annotations_offset", "class_data_offset", "static_values_offset"}
	dexClassDataInts = []string{"static_fields_size", "instance_fields_size", "direct_methods_size", "virtual_methods_size"}
	dexMapItemInts   = []string{"type", "unused", "size", "offset"}
	dexCodeInts      = []string{"registers_size", "ins_size", "outs_size", "tries_size", "debug_info_off", "insns_size"}
)

// dexTree builds the module's structure: the declaration when consts is
// nil, otherwise the values for f (nil: data that is not DEX).
func dexTree(consts map[string]*Object, f *dex.File) *Object {
	var ms []member
	for _, c := range dexMagics {
		o := consts[c]
		if o == nil {
			o = scalar(KindString)
		}
		ms = append(ms, member{"DEX_FILE_MAGIC_" + c[4:], o})
	}
	ms = append(ms, constMembers(consts, dexConsts[:])...)
	ok := f != nil
	if f == nil {
		f = &dex.File{}
	}
	h := &f.Header
	header := []member{
		{"magic", optStrIf(h.Magic, ok)},
		{"checksum", optInt(int64(h.Checksum), ok)},
		{"signature", optStrIf(h.Signature, ok)},
	}
	header = append(header, ints(dexHeaderInts, []int64{int64(h.FileSize), int64(h.HeaderSize),
		int64(h.EndianTag), int64(h.LinkSize), int64(h.LinkOffset), int64(h.MapOffset),
		int64(h.StringIDsSize), int64(h.StringIDsOffset), int64(h.TypeIDsSize), int64(h.TypeIDsOffset),
		int64(h.ProtoIDsSize), int64(h.ProtoIDsOffset), int64(h.FieldIDsSize), int64(h.FieldIDsOffset),
		int64(h.MethodIDsSize), int64(h.MethodIDsOffset), int64(h.ClassDefsSize), int64(h.ClassDefsOffset),
		int64(h.DataSize), int64(h.DataOffset)}, ok)...)

	stringIDs := arrayOf(dexStringID(nil))
	for i := range f.StringIDs {
		s := &f.StringIDs[i]
		var o *Object
		if s.OK {
			o = dexStringID(s)
		}
		stringIDs.Items = append(stringIDs.Items, o)
	}
	typeIDs := arrayOf(structOf(member{"descriptor_idx", scalar(KindInt)}))
	for _, t := range f.TypeIDs {
		typeIDs.Items = append(typeIDs.Items, structOf(member{"descriptor_idx", intObject(int64(t))}))
	}
	protoIDs := arrayOf(structOf(ints(dexProtoInts, nil, false)...))
	for _, p := range f.ProtoIDs {
		protoIDs.Items = append(protoIDs.Items, structOf(ints(dexProtoInts,
			[]int64{int64(p.ShortyIdx), int64(p.ReturnTypeIdx), int64(p.ParametersOffset)}, true)...))
	}
	fieldIDs := dexMemberIDs(dexFieldIDInts, f.FieldIDs)
	methodIDs := dexMemberIDs(dexMethodIDInts, f.MethodIDs)
	classDefs := arrayOf(structOf(ints(dexClassDefInts, nil, false)...))
	for _, c := range f.ClassDefs {
		classDefs.Items = append(classDefs.Items, structOf(ints(dexClassDefInts, []int64{int64(c.ClassIdx),
			int64(c.AccessFlags), int64(c.SuperclassIdx), int64(c.InterfacesOffset), int64(c.SourceFileIdx),
			int64(c.AnnotationsOffset), int64(c.ClassDataOffset), int64(c.StaticValuesOffset)}, true)...))
	}
	classData := arrayOf(structOf(ints(dexClassDataInts, nil, false)...))
	for _, c := range f.ClassData {
		classData.Items = append(classData.Items, structOf(ints(dexClassDataInts, []int64{int64(c.StaticFields),
			int64(c.InstanceFields), int64(c.DirectMethods), int64(c.VirtualMethods)}, true)...))
	}
	mapItems := arrayOf(structOf(ints(dexMapItemInts, nil, false)...))
	for _, m := range f.MapList {
		mapItems.Items = append(mapItems.Items, structOf(ints(dexMapItemInts,
			[]int64{int64(m.Type), int64(m.Unused), int64(m.Size), int64(m.Offset)}, true)...))
	}
	fields := arrayOf(dexField(nil))
	for i := range f.Fields {
		fields.Items = append(fields.Items, dexField(&f.Fields[i]))
	}
	methods := arrayOf(dexMethod(nil))
	for i := range f.Methods {
		methods.Items = append(methods.Items, dexMethod(&f.Methods[i]))
	}
	ms = append(ms,
		member{"header", structOf(header...)},
		member{"string_ids", stringIDs},
		member{"type_ids", typeIDs},
		member{"proto_ids", protoIDs},
		member{"field_ids", fieldIDs},
		member{"method_ids", methodIDs},
		member{"class_defs", classDefs},
		member{"class_data_item", classData},
		member{"map_list", structOf(
			member{"size", optInt(int64(f.MapListSize), ok && f.HasMapList)},
			member{"map_item", mapItems},
		)},
		member{"number_of_fields", optInt(int64(f.NumFields), ok && f.HasCounts)},
		member{"field", fields},
		member{"has_method", dexHasMethod},
		member{"has_class", dexHasClass},
		member{"number_of_methods", optInt(int64(f.NumMethods), ok && f.HasCounts)},
		member{"method", methods},
	)
	return structOf(ms...)
}

// optStrIf returns b as a defined string when ok.
func optStrIf(b []byte, ok bool) *Object {
	if !ok {
		return scalar(KindString)
	}
	return &Object{Kind: KindString, Defined: true, Str: b}
}

func dexStringID(s *dex.StringID) *Object {
	if s == nil {
		return structOf(member{"offset", scalar(KindInt)}, member{"size", scalar(KindInt)}, member{"value", scalar(KindString)})
	}
	return structOf(member{"offset", intObject(int64(s.Offset))}, member{"size", intObject(int64(s.Size))},
		member{"value", optStrIf(s.Value, true)})
}

func dexMemberIDs(names []string, ids []dex.MemberID) *Object {
	a := arrayOf(structOf(ints(names, nil, false)...))
	for _, id := range ids {
		a.Items = append(a.Items, structOf(ints(names,
			[]int64{int64(id.ClassIdx), int64(id.ProtoIdx), int64(id.NameIdx)}, true)...))
	}
	return a
}

// dexField returns field[i] for e, or the declared element for nil.
func dexField(e *dex.Field) *Object {
	ok := e != nil
	if e == nil {
		e = &dex.Field{}
	}
	return structOf(
		member{"class_name", optStr(e.ClassName)},
		member{"name", optStr(e.Name)},
		member{"proto", optStr(e.Proto)},
		member{"field_idx_diff", optInt(int64(e.FieldIdxDiff), ok)},
		member{"access_flags", optInt(int64(e.AccessFlags), ok)},
	)
}

// dexMethod returns method[i] for e, or the declared element for nil.
func dexMethod(e *dex.Method) *Object {
	ok := e != nil
	if e == nil {
		e = &dex.Method{}
	}
	b := func(x bool) int64 {
		if x {
			return 1
		}
		return 0
	}
	code := e.Code
	hasCode := code != nil
	if code == nil {
		code = &dex.CodeItem{}
	}
	codeMembers := ints(dexCodeInts, []int64{int64(code.RegistersSize), int64(code.InsSize),
		int64(code.OutsSize), int64(code.TriesSize), int64(code.DebugInfoOff), int64(code.InsnsSize)}, hasCode)
	codeMembers = append(codeMembers,
		member{"insns", optStr(code.Insns)},
		member{"padding", scalar(KindInt)},
		member{"tries", structOf()},
		member{"handlers", arrayOf(structOf())},
	)
	return structOf(
		member{"class_name", optStr(e.ClassName)},
		member{"name", optStr(e.Name)},
		member{"proto", optStr(e.Proto)},
		member{"direct", optInt(b(e.Direct), ok)},
		member{"virtual", optInt(b(e.Virtual), ok)},
		member{"method_idx_diff", optInt(int64(e.MethodIdxDiff), ok)},
		member{"access_flags", optInt(int64(e.AccessFlags), ok)},
		member{"code_off", optInt(int64(e.CodeOff), ok)},
		member{"code_item", structOf(codeMembers...)},
	)
}

// dexMethods returns the methods yara's functions look at, the counted
// ones; ok is false when yara leaves number_of_methods undefined (the
// functions are then undefined).
func dexMethods(sc *ScanContext) ([]dex.Method, bool) {
	f := dexFile(sc)
	if f == nil || !f.HasCounts {
		return nil, false
	}
	return f.Methods[:f.NumMethods], true
}

// reScan returns a matcher that tells whether re matches somewhere in a
// C string, as yara's yr_re_match does for the dex functions.
func reScan(re *Regex) func(s []byte) bool {
	n, err := lowerRegexp(re.src.Source, reFlags{nocase: re.src.NoCase, dotAll: re.src.DotAll})
	if err != nil {
		return func([]byte) bool { return false }
	}
	p, err := compileScan(n)
	if err != nil {
		return func([]byte) bool { return false }
	}
	return func(s []byte) bool { return yaraScanMatch(p, cString(s)) != -1 }
}

// sameCString compares two strings as C's strcmp does: up to the first
// NUL byte of each.
func sameCString(a, b []byte) bool { return bytes.Equal(cString(a), cString(b)) }

// dexHasMethod is has_method(name), has_method(class, name) and their
// regular-expression forms. In the two-argument forms a method whose
// class name is undefined is judged on its name alone, as in yara.
var dexHasMethod = overloads(
	fn("s", KindInt, func(sc *ScanContext, a []Value) Value {
		ms, ok := dexMethods(sc)
		if !ok {
			return undefined(KindInt)
		}
		for i := range ms {
			if ms[i].Name != nil && sameCString(ms[i].Name, a[0].Str) {
				return intValue(1)
			}
		}
		return intValue(0)
	}),
	fn("ss", KindInt, func(sc *ScanContext, a []Value) Value {
		ms, ok := dexMethods(sc)
		if !ok {
			return undefined(KindInt)
		}
		for i := range ms {
			if ms[i].ClassName != nil && !sameCString(ms[i].ClassName, a[0].Str) {
				continue
			}
			if ms[i].Name != nil && sameCString(ms[i].Name, a[1].Str) {
				return intValue(1)
			}
		}
		return intValue(0)
	}),
	fn("r", KindInt, func(sc *ScanContext, a []Value) Value {
		ms, ok := dexMethods(sc)
		if !ok {
			return undefined(KindInt)
		}
		match := reScan(a[0].Re)
		for i := range ms {
			if ms[i].Name != nil && match(ms[i].Name) {
				return intValue(1)
			}
		}
		return intValue(0)
	}),
	fn("rr", KindInt, func(sc *ScanContext, a []Value) Value {
		ms, ok := dexMethods(sc)
		if !ok {
			return undefined(KindInt)
		}
		class, name := reScan(a[0].Re), reScan(a[1].Re)
		for i := range ms {
			if ms[i].ClassName != nil && !class(ms[i].ClassName) {
				continue
			}
			if ms[i].Name != nil && name(ms[i].Name) {
				return intValue(1)
			}
		}
		return intValue(0)
	}),
)

// dexHasClass is has_class(name) and has_class(regexp): whether a method
// of the class is declared in the file.
var dexHasClass = overloads(
	fn("s", KindInt, func(sc *ScanContext, a []Value) Value {
		ms, ok := dexMethods(sc)
		if !ok {
			return undefined(KindInt)
		}
		for i := range ms {
			if ms[i].ClassName != nil && sameCString(ms[i].ClassName, a[0].Str) {
				return intValue(1)
			}
		}
		return intValue(0)
	}),
	fn("r", KindInt, func(sc *ScanContext, a []Value) Value {
		ms, ok := dexMethods(sc)
		if !ok {
			return undefined(KindInt)
		}
		match := reScan(a[0].Re)
		for i := range ms {
			if ms[i].ClassName != nil && match(ms[i].ClassName) {
				return intValue(1)
			}
		}
		return intValue(0)
	}),
)
