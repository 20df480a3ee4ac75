package yara

import "github.com/glassav/glassav/yara/pe"

// The pe module's functions, with yara 4.2.3's results: undefined when
// the data is not a PE; names compared as C strings (up to a NUL), with
// ASCII case folding where yara uses strcasecmp or ss_icompare; regular
// expressions searched as yr_re_match searches (mod_tests_re.go), where
// pe.imports counts a match only when yr_re_match returns more than 0
// and pe.exports when it returns anything but -1.

// peUndefinedLang is what yara reads for the language of a resource
// whose language is a string: YR_UNDEFINED, whose low bits pe.locale and
// pe.language then compare.
const peUndefinedLang = pe.Any

type peImphashKey struct{}

type peReKey struct{ re *Regex }

// peReMatch returns what yr_re_match returns for re on s.
func peReMatch(sc *ScanContext, re *Regex, s []byte) int64 {
	if re == nil {
		return -1
	}
	compile := func() any {
		n, err := lowerRegexp(re.src.Source, reFlags{nocase: re.src.NoCase, dotAll: re.src.DotAll})
		if err != nil {
			return scanProg(nil)
		}
		p, err := compileScan(n)
		if err != nil {
			return scanProg(nil)
		}
		return p
	}
	var p scanProg
	if sc != nil {
		p = sc.Cached(peReKey{re}, compile).(scanProg)
	} else {
		p = compile().(scanProg)
	}
	if p == nil {
		return -1
	}
	return yaraScanMatch(p, cString(s))
}

// asciiFold reports whether a and b are equal ignoring ASCII case.
func asciiFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// peFunc declares an overload whose result is undefined for data that is
// not a PE.
func peFunc(args string, call func(sc *ScanContext, f *pe.File, a []Value) Value) *Func {
	return fn(args, KindInt, func(sc *ScanContext, a []Value) Value {
		f := peFile(sc)
		if f == nil {
			return undefined(KindInt)
		}
		return call(sc, f, a)
	})
}

func newPEFuncs() peFuncs {
	return peFuncs{
		calculateChecksum: overloads(peFunc("", func(_ *ScanContext, f *pe.File, _ []Value) Value {
			return intValue(f.CalculateChecksum())
		})),
		imphash: overloads(fn("", KindString, func(sc *ScanContext, _ []Value) Value {
			f := peFile(sc)
			if f == nil {
				return undefined(KindString)
			}
			h := sc.Cached(peImphashKey{}, func() any { return []byte(f.Imphash()) }).([]byte)
			return stringValue(h)
		})),
		sectionIndex: overloads(
			peFunc("s", func(_ *ScanContext, f *pe.File, a []Value) Value {
				name := cString(a[0].Str)
				for i := range f.Sections {
					if string(cString(f.Sections[i].Name)) == string(name) {
						return intValue(int64(i))
					}
				}
				return undefined(KindInt)
			}),
			peFunc("i", func(_ *ScanContext, f *pe.File, a []Value) Value {
				addr := a[0].Int
				for i, s := range f.Sections {
					off, size := int64(s.PointerToRawData), int64(s.SizeOfRawData)
					if addr >= off && addr < off+size {
						return intValue(int64(i))
					}
				}
				return undefined(KindInt)
			}),
		),
		exports: overloads(
			peFunc("s", func(_ *ScanContext, f *pe.File, a []Value) Value {
				_, ok := peExportByName(f, a[0].Str)
				return boolValue(ok)
			}),
			peFunc("r", func(sc *ScanContext, f *pe.File, a []Value) Value {
				_, ok := peExportByRegex(sc, f, a[0].Re)
				return boolValue(ok)
			}),
			peFunc("i", func(_ *ScanContext, f *pe.File, a []Value) Value {
				_, ok := peExportByOrdinal(f, a[0].Int)
				return boolValue(ok)
			}),
		),
		exportsIndex: overloads(
			peFunc("s", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peIndex(peExportByName(f, a[0].Str))
			}),
			peFunc("i", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peIndex(peExportByOrdinal(f, a[0].Int))
			}),
			peFunc("r", func(sc *ScanContext, f *pe.File, a []Value) Value {
				return peIndex(peExportByRegex(sc, f, a[0].Re))
			}),
		),
		imports: overloads(
			peFunc("ss", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return boolValue(peImportsName(f.Imports, a[0].Str, a[1].Str))
			}),
			peFunc("si", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return boolValue(peImportsOrdinal(f.Imports, a[0].Str, a[1].Int))
			}),
			peFunc("s", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return intValue(peImportsDLL(f.Imports, a[0].Str))
			}),
			peFunc("rr", func(sc *ScanContext, f *pe.File, a []Value) Value {
				return intValue(peImportsRegex(sc, f.Imports, a[0].Re, a[1].Re))
			}),
			peFunc("iss", func(_ *ScanContext, f *pe.File, a []Value) Value {
				std := a[0].Int&1 != 0 && peImportsName(f.Imports, a[1].Str, a[2].Str)
				del := a[0].Int&2 != 0 && peImportsName(f.DelayedImports, a[1].Str, a[2].Str)
				return boolValue(std || del)
			}),
			peFunc("isi", func(_ *ScanContext, f *pe.File, a []Value) Value {
				std := a[0].Int&1 != 0 && peImportsOrdinal(f.Imports, a[1].Str, a[2].Int)
				del := a[0].Int&2 != 0 && peImportsOrdinal(f.DelayedImports, a[1].Str, a[2].Int)
				return boolValue(std || del)
			}),
			peFunc("is", func(_ *ScanContext, f *pe.File, a []Value) Value {
				var n int64
				if a[0].Int&1 != 0 {
					n += peImportsDLL(f.Imports, a[1].Str)
				}
				if a[0].Int&2 != 0 {
					n += peImportsDLL(f.DelayedImports, a[1].Str)
				}
				return intValue(n)
			}),
			peFunc("irr", func(sc *ScanContext, f *pe.File, a []Value) Value {
				var n int64
				if a[0].Int&1 != 0 {
					n += peImportsRegex(sc, f.Imports, a[1].Re, a[2].Re)
				}
				if a[0].Int&2 != 0 {
					n += peImportsRegex(sc, f.DelayedImports, a[1].Re, a[2].Re)
				}
				return intValue(n)
			}),
		),
		importRVA: overloads(
			peFunc("ss", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peImportRVA(f.Imports, a[0].Str, func(fn *pe.ImportedFunc) bool { return asciiFold(fn.Name, a[1].Str) })
			}),
			peFunc("si", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peImportRVA(f.Imports, a[0].Str, func(fn *pe.ImportedFunc) bool { return fn.HasOrdinal && int64(fn.Ordinal) == a[1].Int })
			}),
		),
		delayedImportRVA: overloads(
			peFunc("ss", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peImportRVA(f.DelayedImports, a[0].Str, func(fn *pe.ImportedFunc) bool { return asciiFold(fn.Name, a[1].Str) })
			}),
			peFunc("si", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peImportRVA(f.DelayedImports, a[0].Str, func(fn *pe.ImportedFunc) bool { return fn.HasOrdinal && int64(fn.Ordinal) == a[1].Int })
			}),
		),
		locale: overloads(peFunc("i", func(_ *ScanContext, f *pe.File, a []Value) Value {
			return boolValue(peHasLanguage(f, uint64(a[0].Int), 0xffff))
		})),
		language: overloads(peFunc("i", func(_ *ScanContext, f *pe.File, a []Value) Value {
			return boolValue(peHasLanguage(f, uint64(a[0].Int), 0xff))
		})),
		// yara returns the DLL flag itself (0x2000), not 1.
		isDLL: overloads(peFunc("", func(_ *ScanContext, f *pe.File, _ []Value) Value {
			return intValue(int64(f.FileHeader.Characteristics & pe.FileDLL))
		})),
		is32: overloads(peFunc("", func(_ *ScanContext, f *pe.File, _ []Value) Value {
			return boolValue(!f.Is64)
		})),
		is64: overloads(peFunc("", func(_ *ScanContext, f *pe.File, _ []Value) Value {
			return boolValue(f.Is64)
		})),
		rvaToOffset: overloads(peFunc("i", func(_ *ScanContext, f *pe.File, a []Value) Value {
			off := f.RVAToOffset(uint64(a[0].Int))
			if off < 0 {
				return undefined(KindInt)
			}
			return intValue(off)
		})),
		richVersion: overloads(
			peFunc("i", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peRich(f.RichCount(a[0].Int, pe.Any))
			}),
			peFunc("ii", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peRich(f.RichCount(a[0].Int, a[1].Int))
			}),
		),
		richToolid: overloads(
			peFunc("i", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peRich(f.RichCount(pe.Any, a[0].Int))
			}),
			peFunc("ii", func(_ *ScanContext, f *pe.File, a []Value) Value {
				return peRich(f.RichCount(a[1].Int, a[0].Int))
			}),
		),
	}
}

func peRich(n int64, ok bool) Value {
	if !ok {
		return undefined(KindInt)
	}
	return intValue(n)
}

func peIndex(i int, ok bool) Value {
	if !ok {
		return undefined(KindInt)
	}
	return intValue(int64(i))
}

// peExportByName finds an export whose name equals name ignoring ASCII
// case (all of name's bytes, as ss_icompare compares).
func peExportByName(f *pe.File, name []byte) (int, bool) {
	for i := range f.Exports {
		if n := f.Exports[i].Name; n != nil && asciiFold(n, name) {
			return i, true
		}
	}
	return 0, false
}

func peExportByRegex(sc *ScanContext, f *pe.File, re *Regex) (int, bool) {
	for i := range f.Exports {
		if n := f.Exports[i].Name; n != nil && peReMatch(sc, re, n) != -1 {
			return i, true
		}
	}
	return 0, false
}

// peExportByOrdinal finds the export with an ordinal; yara rejects
// ordinals 0 and above the number of exports first, whatever the base.
func peExportByOrdinal(f *pe.File, ord int64) (int, bool) {
	if ord == 0 || ord > int64(len(f.Exports)) {
		return 0, false
	}
	for i := range f.Exports {
		if int64(f.Exports[i].Ordinal) == ord {
			return i, true
		}
	}
	return 0, false
}

// peImportRVA is yara 4.3's import_rva and delayed_import_rva: the RVA
// of the import address table slot of the first function of the first
// library named dll (compared in full, ignoring ASCII case) that match
// accepts; undefined when there is none or its RVA is 0.
func peImportRVA(dlls []pe.ImportedDLL, dll []byte, match func(*pe.ImportedFunc) bool) Value {
	for _, d := range dlls {
		if !asciiFold(d.Name, dll) {
			continue
		}
		for i := range d.Functions {
			if fn := &d.Functions[i]; match(fn) {
				if fn.RVA == 0 {
					return undefined(KindInt)
				}
				return intValue(int64(fn.RVA))
			}
		}
	}
	return undefined(KindInt)
}

func peImportsName(dlls []pe.ImportedDLL, dll, fn []byte) bool {
	dll, fn = cString(dll), cString(fn)
	for _, d := range dlls {
		if !asciiFold(d.Name, dll) {
			continue
		}
		for _, f := range d.Functions {
			if asciiFold(f.Name, fn) {
				return true
			}
		}
	}
	return false
}

func peImportsOrdinal(dlls []pe.ImportedDLL, dll []byte, ord int64) bool {
	dll = cString(dll)
	for _, d := range dlls {
		if !asciiFold(d.Name, dll) {
			continue
		}
		for _, f := range d.Functions {
			if f.HasOrdinal && uint64(f.Ordinal) == uint64(ord) {
				return true
			}
		}
	}
	return false
}

func peImportsDLL(dlls []pe.ImportedDLL, dll []byte) int64 {
	dll = cString(dll)
	var n int64
	for _, d := range dlls {
		if asciiFold(d.Name, dll) {
			n += int64(len(d.Functions))
		}
	}
	return n
}

func peImportsRegex(sc *ScanContext, dlls []pe.ImportedDLL, dllRe, fnRe *Regex) int64 {
	var n int64
	for _, d := range dlls {
		if peReMatch(sc, dllRe, d.Name) <= 0 {
			continue
		}
		for _, f := range d.Functions {
			if peReMatch(sc, fnRe, f.Name) > 0 {
				n++
			}
		}
	}
	return n
}

// peHasLanguage reports whether a resource's language, masked, equals
// want (pe.locale masks 0xffff, pe.language 0xff).
func peHasLanguage(f *pe.File, want, mask uint64) bool {
	for _, r := range f.Resources {
		lang := peUndefinedLang
		if r.Language.Kind == pe.NameID {
			lang = int64(r.Language.ID)
		}
		if uint64(lang)&mask == want {
			return true
		}
	}
	return false
}
