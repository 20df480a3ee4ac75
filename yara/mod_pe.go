package yara

import (
	"maps"

	"github.com/glassav/glassav/yara/pe"
)

// peModule is yara's "pe" module: the headers, sections, resources,
// imports, exports, Rich header, overlay and signatures of a Portable
// Executable, with yara 4.2.3's values and quirks (package pe parses; this
// file turns the parsed file into the module's tree and implements its
// functions). The signatures come from mod_pe_sig.go.
//
// Beyond 4.2.3, the module has yara 4.3's import_rva and
// delayed_import_rva functions (functions print nothing in yara -D, so the
// tree stays 4.2.3's); yara 4.2.3 itself rejects rules that call them.
//
// Data that is not a PE gets one shared tree (constants set, is_pe 0,
// everything else undefined), so Load costs a header check for most
// scanned files. The functions find the parsed file through the scan
// context, where Load leaves it, so a file is parsed once per scan.
type peModule struct {
	decl   *Object // the declaration, also the tree of data that is not a PE
	consts []member
	funcs  peFuncs
}

// peFuncs holds the function objects, shared by every loaded tree: they
// hold no per-file state.
type peFuncs struct {
	calculateChecksum, imphash, sectionIndex, exports, exportsIndex,
	imports, importRVA, delayedImportRVA, locale, language, isDLL, is32, is64, rvaToOffset,
	richVersion, richToolid *Object
}

func newPEModule() peModule {
	m := peModule{consts: peConstants(), funcs: newPEFuncs()}
	m.decl = m.tree(nil, nil)
	return m
}

func (peModule) Name() string { return "pe" }

func (m peModule) Declare() *Object { return m.decl }

func (m peModule) Load(sc *ScanContext) (*Object, error) {
	if sc == nil || !pe.IsPE(sc.Data) {
		return m.decl, nil
	}
	f := peFile(sc)
	if f == nil {
		return m.decl, nil
	}
	return m.tree(f, sc.Data), nil
}

// peCacheKey memoises the parsed file in the scan context.
type peCacheKey struct{}

// peFile returns the scanned data parsed as a PE file, or nil.
func peFile(sc *ScanContext) *pe.File {
	if sc == nil {
		return nil
	}
	f, _ := sc.Cached(peCacheKey{}, func() any {
		f, err := pe.Parse(sc.Data)
		if err != nil {
			return (*pe.File)(nil)
		}
		return f
	}).(*pe.File)
	return f
}

// Helpers for optional values.
func peInt(ok bool, v int64) *Object {
	if !ok {
		return scalar(KindInt)
	}
	return intObject(v)
}

func peStr(b []byte) *Object {
	if b == nil {
		return scalar(KindString)
	}
	return &Object{Kind: KindString, Defined: true, Str: b}
}

func peVersion(ok bool, major, minor int64) *Object {
	return structOf(member{"major", peInt(ok, major)}, member{"minor", peInt(ok, minor)})
}

// Element shapes of the arrays.

func peVersionInfoItem(e *pe.VersionEntry) *Object {
	if e == nil {
		return structOf(member{"key", scalar(KindString)}, member{"value", scalar(KindString)})
	}
	return structOf(member{"key", peStr(e.Key)}, member{"value", peStr(e.Value)})
}

func peDataDirItem(d *pe.DataDirectory) *Object {
	if d == nil {
		return structOf(member{"virtual_address", scalar(KindInt)}, member{"size", scalar(KindInt)})
	}
	return structOf(member{"virtual_address", intObject(int64(d.VirtualAddress))}, member{"size", intObject(int64(d.Size))})
}

func peSectionItem(s *pe.Section) *Object {
	if s == nil {
		return structOf(
			member{"name", scalar(KindString)},
			member{"full_name", scalar(KindString)},
			member{"characteristics", scalar(KindInt)},
			member{"virtual_address", scalar(KindInt)},
			member{"virtual_size", scalar(KindInt)},
			member{"raw_data_offset", scalar(KindInt)},
			member{"raw_data_size", scalar(KindInt)},
			member{"pointer_to_relocations", scalar(KindInt)},
			member{"pointer_to_line_numbers", scalar(KindInt)},
			member{"number_of_relocations", scalar(KindInt)},
			member{"number_of_line_numbers", scalar(KindInt)},
		)
	}
	return structOf(
		member{"name", peStr(s.Name)},
		member{"full_name", peStr(s.FullName)},
		member{"characteristics", intObject(int64(s.Characteristics))},
		member{"virtual_address", intObject(int64(s.VirtualAddress))},
		member{"virtual_size", intObject(int64(s.VirtualSize))},
		member{"raw_data_offset", intObject(int64(s.PointerToRawData))},
		member{"raw_data_size", intObject(int64(s.SizeOfRawData))},
		member{"pointer_to_relocations", intObject(int64(s.PointerToRelocations))},
		member{"pointer_to_line_numbers", intObject(int64(s.PointerToLinenumbers))},
		member{"number_of_relocations", intObject(int64(s.NumberOfRelocations))},
		member{"number_of_line_numbers", intObject(int64(s.NumberOfLinenumbers))},
	)
}

func peExportItem(e *pe.Export) *Object {
	if e == nil {
		return structOf(
			member{"offset", scalar(KindInt)},
			member{"name", scalar(KindString)},
			member{"forward_name", scalar(KindString)},
			member{"ordinal", scalar(KindInt)},
			since43("rva", scalar(KindInt)),
		)
	}
	return structOf(
		member{"offset", peInt(e.HasOffset, e.Offset)},
		member{"name", peStr(e.Name)},
		member{"forward_name", peStr(e.ForwardName)},
		member{"ordinal", intObject(int64(e.Ordinal))},
		since43("rva", intObject(int64(e.RVA))),
	)
}

// peFunctionItem returns one functions[j] item of import_details or
// delayed_import_details. Its rva (yara 4.3) is the address of the
// function's import address table slot, undefined when zero as in 4.3.
func peFunctionItem(fn *pe.ImportedFunc) *Object {
	if fn == nil {
		return structOf(member{"name", scalar(KindString)}, member{"ordinal", scalar(KindInt)}, since43("rva", scalar(KindInt)))
	}
	return structOf(
		member{"name", peStr(fn.Name)},
		member{"ordinal", peInt(fn.HasOrdinal, int64(fn.Ordinal))},
		since43("rva", peInt(fn.RVA != 0, int64(fn.RVA))),
	)
}

func peImportItem() *Object {
	return structOf(
		member{"library_name", scalar(KindString)},
		member{"number_of_functions", scalar(KindInt)},
		member{"functions", arrayOf(peFunctionItem(nil))},
	)
}

// peDelayedImportItem is the element of yara 4.3's delayed_import_details.
func peDelayedImportItem() *Object {
	return structOf(
		member{"library_name", scalar(KindString)},
		member{"number_of_functions", scalar(KindInt)},
		member{"functions", arrayOf(peFunctionItem(nil))},
	)
}

// peDelayImportItem is the element of yara 4.2.3's delay_import_details,
// declared and never filled (4.3 replaced it by delayed_import_details).
func peDelayImportItem() *Object {
	return structOf(
		member{"library_name", scalar(KindString)},
		member{"functions", arrayOf(peFunctionItem(nil))},
	)
}

func peResourceName(n pe.ResourceName, wantString bool) *Object {
	if wantString {
		if n.Kind == pe.NameString {
			return peStr(n.Name)
		}
		return scalar(KindString)
	}
	return peInt(n.Kind == pe.NameID, int64(n.ID))
}

func peResourceItem(r *pe.Resource) *Object {
	if r == nil {
		return structOf(
			member{"rva", scalar(KindInt)},
			member{"offset", scalar(KindInt)},
			member{"length", scalar(KindInt)},
			member{"type", scalar(KindInt)},
			member{"id", scalar(KindInt)},
			member{"language", scalar(KindInt)},
			member{"type_string", scalar(KindString)},
			member{"name_string", scalar(KindString)},
			member{"language_string", scalar(KindString)},
		)
	}
	return structOf(
		member{"rva", intObject(int64(r.RVA))},
		member{"offset", peInt(r.Offset >= 0, r.Offset)},
		member{"length", intObject(int64(r.Length))},
		member{"type", peResourceName(r.Type, false)},
		member{"id", peResourceName(r.ID, false)},
		member{"language", peResourceName(r.Language, false)},
		member{"type_string", peResourceName(r.Type, true)},
		member{"name_string", peResourceName(r.ID, true)},
		member{"language_string", peResourceName(r.Language, true)},
	)
}

// tree returns the module's tree: the declaration (and the tree of a
// file that is not a PE) for f == nil, else f's values. Members are in
// yara 4.2.3's declaration order, which yara -D prints reversed.
func (m peModule) tree(f *pe.File, data []byte) *Object {
	ok := f != nil
	if !ok {
		f = &pe.File{} // zero values, all left undefined below
	}
	h, o := f.FileHeader, f.OptionalHeader
	ms := make([]member, 0, len(m.consts)+80)
	ms = append(ms, m.consts...)
	ms = append(ms,
		member{"is_pe", intObject(boolInt(ok))},
		member{"machine", peInt(ok, int64(h.Machine))},
		member{"number_of_sections", peInt(ok, int64(h.NumberOfSections))},
		member{"timestamp", peInt(ok, int64(h.TimeDateStamp))},
		member{"pointer_to_symbol_table", peInt(ok, int64(h.PointerToSymbolTable))},
		member{"number_of_symbols", peInt(ok, int64(h.NumberOfSymbols))},
		member{"size_of_optional_header", peInt(ok, int64(h.SizeOfOptionalHeader))},
		member{"characteristics", peInt(ok, int64(h.Characteristics))},
		member{"entry_point", peInt(ok, f.EntryPoint)},
		member{"entry_point_raw", peInt(ok, int64(o.AddressOfEntryPoint))},
		member{"image_base", peInt(ok, int64(o.ImageBase))},
		member{"number_of_rva_and_sizes", peInt(ok, int64(o.NumberOfRvaAndSizes))},
		member{"number_of_version_infos", peInt(ok, int64(len(f.VersionInfo)))},
		member{"version_info", m.versionInfo(f)},
		member{"version_info_list", m.versionInfoList(f)},
		member{"opthdr_magic", peInt(ok, int64(o.Magic))},
		member{"size_of_code", peInt(ok, int64(o.SizeOfCode))},
		member{"size_of_initialized_data", peInt(ok, int64(o.SizeOfInitializedData))},
		member{"size_of_uninitialized_data", peInt(ok, int64(o.SizeOfUninitializedData))},
		member{"base_of_code", peInt(ok, int64(o.BaseOfCode))},
		member{"base_of_data", peInt(ok && !f.Is64, int64(o.BaseOfData))},
		member{"section_alignment", peInt(ok, int64(o.SectionAlignment))},
		member{"file_alignment", peInt(ok, int64(o.FileAlignment))},
		member{"linker_version", peVersion(ok, int64(o.MajorLinkerVersion), int64(o.MinorLinkerVersion))},
		member{"os_version", peVersion(ok, int64(o.MajorOperatingSystemVersion), int64(o.MinorOperatingSystemVersion))},
		member{"image_version", peVersion(ok, int64(o.MajorImageVersion), int64(o.MinorImageVersion))},
		member{"subsystem_version", peVersion(ok, int64(o.MajorSubsystemVersion), int64(o.MinorSubsystemVersion))},
		member{"win32_version_value", peInt(ok, int64(o.Win32VersionValue))},
		member{"size_of_image", peInt(ok, int64(o.SizeOfImage))},
		member{"size_of_headers", peInt(ok, int64(o.SizeOfHeaders))},
		member{"checksum", peInt(ok, int64(o.CheckSum))},
		member{"calculate_checksum", m.funcs.calculateChecksum},
		member{"subsystem", peInt(ok, int64(o.Subsystem))},
		member{"dll_characteristics", peInt(ok, int64(o.DllCharacteristics))},
		member{"size_of_stack_reserve", peInt(ok, int64(o.SizeOfStackReserve))},
		member{"size_of_stack_commit", peInt(ok, int64(o.SizeOfStackCommit))},
		member{"size_of_heap_reserve", peInt(ok, int64(o.SizeOfHeapReserve))},
		member{"size_of_heap_commit", peInt(ok, int64(o.SizeOfHeapCommit))},
		member{"loader_flags", peInt(ok, int64(o.LoaderFlags))},
		member{"data_directories", m.dataDirectories(f)},
		member{"sections", m.sections(f)},
		member{"overlay", m.overlay(ok, f)},
		member{"rich_signature", m.rich(f.Rich)},
		member{"imphash", m.funcs.imphash},
		member{"IMPORT_DELAYED", intObject(2)},
		member{"IMPORT_STANDARD", intObject(1)},
		member{"IMPORT_ANY", intObject(-1)},
		member{"section_index", m.funcs.sectionIndex},
		member{"exports", m.funcs.exports},
		member{"exports_index", m.funcs.exportsIndex},
		member{"imports", m.funcs.imports},
		member{"import_rva", m.funcs.importRVA},
		member{"delayed_import_rva", m.funcs.delayedImportRVA},
		member{"locale", m.funcs.locale},
		member{"language", m.funcs.language},
		member{"is_dll", m.funcs.isDLL},
		member{"is_32bit", m.funcs.is32},
		member{"is_64bit", m.funcs.is64},
		member{"number_of_imports", peInt(ok, int64(f.NumberOfImports))},
		member{"number_of_imported_functions", peInt(ok, int64(f.NumberOfImportedFunctions))},
		member{"number_of_delayed_imports", peInt(ok, int64(f.NumberOfDelayedImports))},
		member{"number_of_delayed_imported_functions", peInt(ok, int64(f.NumberOfDelayedImportedFunctions))},
		member{"number_of_exports", peInt(ok, int64(len(f.Exports)))},
		member{"dll_name", peStr(f.DLLName)},
		member{"export_timestamp", peInt(f.ExportDirectory, int64(f.ExportTimestamp))},
		member{"export_details", m.exportDetails(f)},
		member{"import_details", m.importDetails(f)},
		member{"delay_import_details", arrayOf(peDelayImportItem())},
		since43("delayed_import_details", m.delayedImportDetails(f)),
		member{"resource_timestamp", peInt(f.ResourceDirectory, int64(f.ResourceTimestamp))},
		member{"resource_version", peVersion(f.ResourceDirectory, int64(f.ResourceMajor), int64(f.ResourceMinor))},
		member{"resources", m.resources(f)},
		member{"number_of_resources", peInt(ok, int64(len(f.Resources)))},
		member{"pdb_path", peStr(f.PDBPath)},
	)
	sig := peSignatureMembers()
	if ok {
		if d, has := f.Directory(4); has {
			s, n := peSignatures(data, d.VirtualAddress, d.Size)
			sig = []member{{"signatures", s}, {"number_of_signatures", n}}
		}
	}
	ms = append(ms, sig...)
	if ok {
		ms = append(ms, since43("is_signed", peIsSigned(sig[0].obj)))
	} else {
		ms = append(ms, since43("is_signed", scalar(KindInt)))
	}
	ms = append(ms, member{"rva_to_offset", m.funcs.rvaToOffset})
	if !ok {
		return structOf(ms...)
	}
	// A loaded tree shares the declaration's order and starts from a copy
	// of its fields (the constants and functions), cheaper than inserting
	// all ~280 members again.
	t := &Object{Kind: KindStruct, Fields: maps.Clone(m.decl.Fields), Order: m.decl.Order}
	for _, mb := range ms[len(m.consts):] {
		if mb.obj.Kind != KindFunc {
			t.Fields[mb.name] = mb.obj
		}
	}
	return t
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (peModule) versionInfo(f *pe.File) *Object {
	d := dictOf(scalar(KindString))
	for _, e := range f.VersionInfo {
		dictSet(d, string(e.Key), peStr(e.Value))
	}
	return d
}

func (peModule) versionInfoList(f *pe.File) *Object {
	a := arrayOf(peVersionInfoItem(nil))
	a.Items = make([]*Object, len(f.VersionInfo))
	for i := range f.VersionInfo {
		a.Items[i] = peVersionInfoItem(&f.VersionInfo[i])
	}
	return a
}

func (peModule) dataDirectories(f *pe.File) *Object {
	a := arrayOf(peDataDirItem(nil))
	a.Items = make([]*Object, len(f.DataDirectories))
	for i := range f.DataDirectories {
		a.Items[i] = peDataDirItem(&f.DataDirectories[i])
	}
	return a
}

func (peModule) sections(f *pe.File) *Object {
	a := arrayOf(peSectionItem(nil))
	a.Items = make([]*Object, len(f.Sections))
	for i := range f.Sections {
		a.Items[i] = peSectionItem(&f.Sections[i])
	}
	return a
}

func (peModule) overlay(ok bool, f *pe.File) *Object {
	if !ok {
		return structOf(member{"offset", scalar(KindInt)}, member{"size", scalar(KindInt)})
	}
	return structOf(member{"offset", intObject(f.OverlayOffset)}, member{"size", intObject(f.OverlaySize)})
}

func (m peModule) rich(r *pe.RichSignature) *Object {
	if r == nil {
		return structOf(
			member{"offset", scalar(KindInt)},
			member{"length", scalar(KindInt)},
			member{"key", scalar(KindInt)},
			member{"raw_data", scalar(KindString)},
			member{"clear_data", scalar(KindString)},
			since43("version_data", scalar(KindString)),
			member{"version", m.funcs.richVersion},
			member{"toolid", m.funcs.richToolid},
		)
	}
	return structOf(
		member{"offset", intObject(int64(r.Offset))},
		member{"length", intObject(int64(r.Length))},
		member{"key", intObject(int64(r.Key))},
		member{"raw_data", peStr(r.Raw)},
		member{"clear_data", peStr(r.Clear)},
		since43("version_data", peStr(r.VersionData())),
		member{"version", m.funcs.richVersion},
		member{"toolid", m.funcs.richToolid},
	)
}

func (peModule) exportDetails(f *pe.File) *Object {
	a := arrayOf(peExportItem(nil))
	a.Items = make([]*Object, len(f.Exports))
	for i := range f.Exports {
		a.Items[i] = peExportItem(&f.Exports[i])
	}
	return a
}

// importDetails builds import_details with yara 4.2.3's numbering: the
// function index does not restart for each library, so library i's
// functions sit at positions after those of libraries 0..i-1 (the lower
// positions undefined), and its number_of_functions is the running total.
func (peModule) importDetails(f *pe.File) *Object {
	a := arrayOf(peImportItem())
	a.Items = make([]*Object, len(f.Imports))
	total := 0
	for i, dll := range f.Imports {
		fns := arrayOf(peFunctionItem(nil))
		fns.Items = make([]*Object, total+len(dll.Functions))
		for j := range dll.Functions {
			fns.Items[total+j] = peFunctionItem(&dll.Functions[j])
		}
		total += len(dll.Functions)
		a.Items[i] = structOf(
			member{"library_name", peStr(dll.Name)},
			member{"number_of_functions", intObject(int64(total))},
			member{"functions", fns},
		)
	}
	return a
}

// delayedImportDetails builds yara 4.3's delayed_import_details: unlike
// 4.2.3's import_details, each library numbers its functions from 0 and
// number_of_functions counts its own.
func (peModule) delayedImportDetails(f *pe.File) *Object {
	a := arrayOf(peDelayedImportItem())
	a.Items = make([]*Object, len(f.DelayedImports))
	for i, dll := range f.DelayedImports {
		fns := arrayOf(peFunctionItem(nil))
		fns.Items = make([]*Object, len(dll.Functions))
		for j := range dll.Functions {
			fns.Items[j] = peFunctionItem(&dll.Functions[j])
		}
		a.Items[i] = structOf(
			member{"library_name", peStr(dll.Name)},
			member{"number_of_functions", intObject(int64(len(dll.Functions)))},
			member{"functions", fns},
		)
	}
	return a
}

func (peModule) resources(f *pe.File) *Object {
	a := arrayOf(peResourceItem(nil))
	a.Items = make([]*Object, len(f.Resources))
	for i := range f.Resources {
		a.Items[i] = peResourceItem(&f.Resources[i])
	}
	return a
}
