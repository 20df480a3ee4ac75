package yara

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// No DEX file ships with this machine's packages and no DEX compiler is
// packaged for it, so besides the corpus' DEX file the tests build DEX
// files with dexBuilder: valid layouts (identifier tables, class data,
// code items, map list) with the edge cases yara's parser has quirks for.

// dexClass is one class of a built DEX file.
type dexClass struct {
	typ              int   // type index of the class
	sfields, ifields []int // field indexes, ascending
	dmethods         []int // method indexes, ascending
	vmethods         []int
	noData           bool // class_data_off 0
}

// dexBuilder describes a DEX file to build.
type dexBuilder struct {
	strs    []string
	types   []int    // string index of each type's descriptor
	protos  [][2]int // shorty string index, return type index
	fields  [][3]int // class type, field type, name string
	methods [][3]int // class type, proto, name string
	classes []dexClass
	insns   [][]uint16 // code of each method by method index (nil: no code)
	noMap   bool
	badStr  int // 1 + index of a string id to point past the end
}

func uleb(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// build lays the file out: header, identifier tables, class definitions,
// then the data section (strings, code items, class data, map list).
func (g *dexBuilder) build() []byte {
	le := binary.LittleEndian
	const hdr = 0x70
	strIDs := hdr
	typeIDs := strIDs + 4*len(g.strs)
	protoIDs := typeIDs + 4*len(g.types)
	fieldIDs := protoIDs + 12*len(g.protos)
	methodIDs := fieldIDs + 8*len(g.fields)
	classDefs := methodIDs + 8*len(g.methods)
	dataOff := classDefs + 32*len(g.classes)
	b := make([]byte, dataOff)
	copy(b, "dex\n035\x00")
	le.PutUint32(b[8:], 0x12345678)
	copy(b[12:32], "\x11\x22\x33\x00\x44glassav-sig")
	u32 := func(off int, v int) { le.PutUint32(b[off:], uint32(v)) }
	u32(0x24, hdr)
	u32(0x28, 0x12345678)
	u32(0x38, len(g.strs))
	u32(0x3c, strIDs)
	u32(0x40, len(g.types))
	u32(0x44, typeIDs)
	u32(0x48, len(g.protos))
	u32(0x4c, protoIDs)
	u32(0x50, len(g.fields))
	u32(0x54, fieldIDs)
	u32(0x58, len(g.methods))
	u32(0x5c, methodIDs)
	u32(0x60, len(g.classes))
	u32(0x64, classDefs)
	u32(0x6c, dataOff)
	for i, s := range g.strs {
		u32(strIDs+4*i, len(b))
		if g.badStr == i+1 {
			u32(strIDs+4*i, 1<<30)
		}
		b = uleb(b, uint32(len(s)))
		b = append(append(b, s...), 0)
	}
	for i, s := range g.types {
		u32(typeIDs+4*i, s)
	}
	for i, p := range g.protos {
		u32(protoIDs+12*i, p[0])
		u32(protoIDs+12*i+4, p[1])
	}
	for i, f := range g.fields {
		le.PutUint16(b[fieldIDs+8*i:], uint16(f[0]))
		le.PutUint16(b[fieldIDs+8*i+2:], uint16(f[1]))
		u32(fieldIDs+8*i+4, f[2])
	}
	for i, m := range g.methods {
		le.PutUint16(b[methodIDs+8*i:], uint16(m[0]))
		le.PutUint16(b[methodIDs+8*i+2:], uint16(m[1]))
		u32(methodIDs+8*i+4, m[2])
	}
	code := make([]int, len(g.methods))
	for i, ins := range g.insns {
		if ins == nil {
			continue
		}
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		code[i] = len(b)
		var c [16]byte
		le.PutUint16(c[0:], 3)
		le.PutUint16(c[2:], 1)
		le.PutUint16(c[4:], 2)
		le.PutUint32(c[8:], uint32(i))
		le.PutUint32(c[12:], uint32(len(ins)))
		b = append(b, c[:]...)
		for _, w := range ins {
			b = le.AppendUint16(b, w)
		}
	}
	for i, c := range g.classes {
		o := classDefs + 32*i
		u32(o, c.typ)
		u32(o+4, 1)
		u32(o+8, 0)
		u32(o+16, 0xffffffff)
		if c.noData {
			continue
		}
		u32(o+24, len(b))
		b = uleb(b, uint32(len(c.sfields)))
		b = uleb(b, uint32(len(c.ifields)))
		b = uleb(b, uint32(len(c.dmethods)))
		b = uleb(b, uint32(len(c.vmethods)))
		for _, list := range [][]int{c.sfields, c.ifields} {
			prev := 0
			for _, f := range list {
				b = uleb(uleb(b, uint32(f-prev)), 9)
				prev = f
			}
		}
		for _, list := range [][]int{c.dmethods, c.vmethods} {
			prev := 0
			for _, m := range list {
				co := 0
				if m < len(code) {
					co = code[m]
				}
				b = uleb(uleb(uleb(b, uint32(m-prev)), 0x10001), uint32(co))
				prev = m
			}
		}
	}
	if !g.noMap {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		u32(0x34, len(b))
		items := [][3]int{{0, 1, 0}, {1, len(g.strs), strIDs}, {2, len(g.types), typeIDs}, {0x1000, 1, len(b)}}
		b = le.AppendUint32(b, uint32(len(items)))
		for _, it := range items {
			b = le.AppendUint16(b, uint16(it[0]))
			b = le.AppendUint16(b, 0)
			b = le.AppendUint32(b, uint32(it[1]))
			b = le.AppendUint32(b, uint32(it[2]))
		}
	}
	u32(0x20, len(b))
	u32(0x68, len(b)-dataOff)
	return b
}

// builtDexFiles returns DEX files built with dexBuilder: several classes
// with static and instance fields, direct and virtual methods, code
// items, long strings (whose size takes two ULEB128 bytes), a class
// without data, a string whose data lies outside the file, no map list,
// and indexes that do not resolve.
func builtDexFiles() [][]byte {
	long := "L" + strings.Repeat("com/example/very/long/package/", 6) + "Name;"
	base := func() *dexBuilder {
		return &dexBuilder{
			strs: []string{"<init>", "I", "Lcom/glassav/Alpha;", "Lcom/glassav/Beta;", "Ljava/lang/Object;",
				"V", "VI", "count", "run", "stop", "total", long, "helper", "name"},
			types:  []int{1, 2, 3, 4, 5, 11},
			protos: [][2]int{{5, 4}, {6, 4}},
			fields: [][3]int{{1, 0, 7}, {1, 0, 10}, {2, 5, 13}, {5, 0, 7}},
			methods: [][3]int{{1, 0, 0}, {1, 1, 8}, {1, 0, 9}, {2, 0, 0}, {2, 1, 12},
				{5, 0, 8}, {5, 1, 0}},
			classes: []dexClass{
				{typ: 1, sfields: []int{0}, ifields: []int{1}, dmethods: []int{0}, vmethods: []int{1, 2}},
				{typ: 2, ifields: []int{2}, dmethods: []int{3, 4}},
				{typ: 3, noData: true},
				{typ: 5, sfields: []int{3}, vmethods: []int{5, 6}},
			},
			insns: [][]uint16{{0x1070, 0x0003, 0x0000, 0x000e}, {0x000e}, nil, {0x0e00, 0}, nil, {1, 2, 3, 4, 5, 6, 7}, nil},
		}
	}
	var out [][]byte
	out = append(out, base().build())
	g := base()
	g.noMap = true
	out = append(out, g.build())
	g = base()
	g.badStr = 9 // "run": method 1's name does not resolve
	out = append(out, g.build())
	g = base()
	g.classes[0].vmethods = []int{1, 40} // a method index past the table
	g.classes[1].ifields = []int{2, 30}  // a field index past the table
	out = append(out, g.build())
	g = base()
	g.types[1] = 0x90000 // a class descriptor index above yara's limit
	g.fields[0][2] = 1 << 31
	out = append(out, g.build())
	return out
}

// dexFiles returns the DEX files the tests compare: the corpus' and the
// built ones.
func dexFiles(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	files := writeFiles(t, dir, "corpus", corpusBlobs(t, "dex"))
	return append(files, writeFiles(t, dir, "built", builtDexFiles())...)
}

// TestDexModuleData compares every value of the dex module with yara's.
func TestDexModuleData(t *testing.T) {
	dataDiffAll(t, newDexModule(), dexFiles(t), 6, 1500)
}

// TestDexModuleMutants compares the dex module with yara over malformed
// DEX files made from the corpus' and the built ones.
func TestDexModuleMutants(t *testing.T) {
	mutantDiff(t, newDexModule(), readAll(t, dexFiles(t)), 60)
}

// TestDexFunctions compares has_method and has_class with yara: every
// method and class name of the files, with and without their classes,
// regular expressions that match inside, at the start or nowhere, and
// names that are absent.
func TestDexFunctions(t *testing.T) {
	m := newDexModule()
	total := 0
	for _, file := range dexFiles(t) {
		data := readAll(t, []string{file})[0]
		obj, err := m.Load(&ScanContext{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{"<init>": true, "nothing": true, "": true}
		classes := map[string]bool{"Lcom/glassav/Alpha;": true, "LNo;": true}
		for _, it := range obj.Fields["method"].Items {
			if n := it.Fields["name"]; n.Defined {
				names[string(n.Str)] = true
			}
			if c := it.Fields["class_name"]; c.Defined {
				classes[string(c.Str)] = true
			}
		}
		s := func(x string) Value { return Value{Str: []byte(x)} }
		var calls []modCall
		for n := range names {
			calls = append(calls, modCall{mod: "dex", fn: "has_method", sig: "s", args: []Value{s(n)}})
			for c := range classes {
				calls = append(calls, modCall{mod: "dex", fn: "has_method", sig: "ss", args: []Value{s(c), s(n)}})
			}
		}
		for c := range classes {
			calls = append(calls, modCall{mod: "dex", fn: "has_class", sig: "s", args: []Value{s(c)}})
		}
		for _, re := range []string{"init", "^<init>$", "^run", "glassav.B", "zzz", "Alpha;$", "[0-9]"} {
			r := modCall{mod: "dex", fn: "has_method", sig: "r", args: []Value{{}}, re: re}
			calls = append(calls, r)
			r.fn = "has_class"
			calls = append(calls, r)
			calls = append(calls, modCall{mod: "dex", fn: "has_method", sig: "rr", args: []Value{{}, {}}, re: re})
		}
		total += peerAgrees(t, file, "", evalAll(t, m, data, nil, calls))
	}
	t.Logf("dex functions: yara agreed on %d calls", total)
	if total < 100 {
		t.Fatalf("only %d calls compared", total)
	}
}

// TestDexBuilder checks the builder's files are what it describes: the
// module finds every built method with its class and name.
func TestDexBuilder(t *testing.T) {
	f := builtDexFiles()[0]
	o, err := newDexModule().Load(&ScanContext{Data: f})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range o.Fields["method"].Items {
		got = append(got, fmt.Sprintf("%s.%s", it.Fields["class_name"].Str, it.Fields["name"].Str))
	}
	// A string of 128 bytes or more has a two-byte size, but yara takes
	// its value from one byte past the offset: the second size byte and
	// not the last character.
	long := "\x01L" + strings.Repeat("com/example/very/long/package/", 6) + "Name"
	want := []string{"Lcom/glassav/Alpha;.<init>", "Lcom/glassav/Alpha;.run", "Lcom/glassav/Alpha;.stop",
		"Lcom/glassav/Beta;.<init>", "Lcom/glassav/Beta;.helper", long + ".run", long + ".<init>"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("methods %q, want %q", got, want)
	}
}
