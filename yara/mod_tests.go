package yara

// testsModule is yara's "tests" module, the fixture its own test suite
// (and glassav's conformance tests) use: constants, undefined fields,
// sparse arrays, dictionaries, nested structures and overloaded functions
// with every argument type. Its values are those of yara 4.2.3's
// libyara/modules/tests.
type testsModule struct{ decl, loaded *Object }

func newTestsModule() testsModule {
	return testsModule{testsObject(), testsValues(nil)}
}

func (testsModule) Name() string { return "tests" }

func (m testsModule) Declare() *Object { return m.decl }

func (m testsModule) Load(sc *ScanContext) (*Object, error) {
	if sc != nil && len(sc.ModuleData) > 0 {
		return testsValues(sc.ModuleData), nil
	}
	return m.loaded, nil
}

// testsValues returns the tree tests loads, with module data md if any.
func testsValues(md []byte) *Object {
	o := testsObject()
	f := o.Fields

	c := f["constants"].Fields
	c["one"] = intObject(1)
	c["two"] = intObject(2)
	c["foo"] = stringObject("foo")
	c["empty"] = stringObject("")

	// struct_array[1].i = 1; item 0 stays undefined.
	item := testsStructItem()
	item.Fields["i"] = intObject(1)
	f["struct_array"].Items = []*Object{nil, item}

	// integer_array is [0, 1, 2, undefined…, 256]: items 3 to 255 unset.
	ints := make([]*Object, 257)
	for _, i := range []int{0, 1, 2, 256} {
		ints[i] = intObject(int64(i))
	}
	f["integer_array"].Items = ints

	f["string_array"].Items = []*Object{
		stringObject("foo"), stringObject("bar"), stringObject("baz"), stringObject("foo\x00bar"),
	}

	dictSet(f["string_dict"], "foo", stringObject("foo"))
	dictSet(f["string_dict"], "bar", stringObject("bar"))

	foo := testsStructItem()
	foo.Fields["s"] = stringObject("foo")
	foo.Fields["i"] = intObject(1)
	dictSet(f["struct_dict"], "foo", foo)

	if len(md) > 0 {
		f["module_data"] = &Object{Kind: KindString, Defined: true, Str: append([]byte(nil), md...)}
	}
	return o
}

// testsStructItem is the element of struct_array and struct_dict.
func testsStructItem() *Object {
	return structOf(member{"i", scalar(KindInt)}, member{"s", scalar(KindString)})
}

func testsObject() *Object {
	return structOf(
		member{"constants", structOf(
			member{"one", scalar(KindInt)},
			member{"two", scalar(KindInt)},
			member{"foo", scalar(KindString)},
			member{"empty", scalar(KindString)},
		)},
		member{"undefined", structOf(
			member{"i", scalar(KindInt)},
			member{"f", scalar(KindFloat)},
		)},
		member{"module_data", scalar(KindString)},
		member{"integer_array", arrayOf(scalar(KindInt))},
		member{"string_array", arrayOf(scalar(KindString))},
		member{"integer_dict", dictOf(scalar(KindInt))},
		member{"string_dict", dictOf(scalar(KindString))},
		member{"struct_array", arrayOf(testsStructItem())},
		member{"struct_dict", dictOf(testsStructItem())},
		member{"empty_struct_dict", dictOf(structOf(member{"unused", scalar(KindInt)}))},
		member{"empty_struct_array", arrayOf(structOf(
			member{"struct_array", arrayOf(structOf(member{"unused", scalar(KindString)}))},
			member{"struct_dict", dictOf(structOf(member{"unused", scalar(KindString)}))},
		))},
		member{"match", overloads(
			// What yr_re_match returns (see mod_tests_re.go): -1 for no
			// match, else the offset where yara's scan saw its last match.
			fn("rs", KindInt, func(_ *ScanContext, a []Value) Value {
				if a[0].Re == nil {
					return undefined(KindInt)
				}
				return testsMatch(a[0].Re, a[1].Str)
			}),
		)},
		member{"isum", overloads(
			fn("ii", KindInt, func(_ *ScanContext, a []Value) Value { return intValue(a[0].Int + a[1].Int) }),
			fn("iii", KindInt, func(_ *ScanContext, a []Value) Value { return intValue(a[0].Int + a[1].Int + a[2].Int) }),
		)},
		member{"fsum", overloads(
			fn("ff", KindFloat, func(_ *ScanContext, a []Value) Value { return floatValue(a[0].Float + a[1].Float) }),
			fn("fff", KindFloat, func(_ *ScanContext, a []Value) Value {
				return floatValue(float64(a[0].Float+a[1].Float) + a[2].Float)
			}),
		)},
		member{"length", overloads(
			// strlen: the length up to the first NUL.
			fn("s", KindInt, func(_ *ScanContext, a []Value) Value { return intValue(int64(len(cString(a[0].Str)))) }),
		)},
		member{"empty", overloads(
			fn("", KindString, func(*ScanContext, []Value) Value { return stringValue([]byte{}) }),
		)},
		member{"foobar", overloads(
			fn("i", KindString, func(_ *ScanContext, a []Value) Value {
				switch a[0].Int {
				case 1:
					return stringValue([]byte("foo"))
				case 2:
					return stringValue([]byte("bar"))
				}
				return stringValue([]byte("oops"))
			}),
		)},
	)
}
