package yara

import "github.com/glassav/glassav/yara/macho"

// machoModule is yara's "macho" module: the header, segments and sections,
// entry point and stack size of a Mach-O file, and for a fat (universal)
// binary its architecture table and each architecture's file, as yara
// 4.2.3 computes them (package macho reads them). Data that is neither
// gets the constants only.
type machoModule struct {
	decl   *Object
	consts map[string]*Object // the loaded constants, shared by every tree
	empty  *Object            // the tree for data that is not Mach-O
}

func newMachoModule() machoModule {
	m := machoModule{decl: machoTree(nil, nil, nil), consts: map[string]*Object{}}
	for _, c := range machoConsts {
		m.consts[c.name] = intObject(c.v)
	}
	m.empty = machoTree(m.consts, nil, nil)
	return m
}

func (machoModule) Name() string { return "macho" }

func (m machoModule) Declare() *Object { return m.decl }

func (m machoModule) Load(sc *ScanContext) (*Object, error) {
	switch macho.Detect(sc.Data) {
	case macho.KindThin:
		return machoTree(m.consts, macho.Parse(sc.Data), nil), nil
	case macho.KindFat:
		return machoTree(m.consts, nil, machoFat(sc)), nil
	}
	return m.empty, nil
}

// machoFatKey memoises the parsed fat binary of a scan: Load builds the
// tree from it and the module's functions, which see only the scan
// context, read it again.
type machoFatKey struct{}

// machoFat returns the scanned data parsed as a fat binary, nil when it is
// not one.
func machoFat(sc *ScanContext) *macho.Fat {
	return sc.Cached(machoFatKey{}, func() any {
		if macho.Detect(sc.Data) != macho.KindFat {
			return (*macho.Fat)(nil)
		}
		return macho.ParseFat(sc.Data)
	}).(*macho.Fat)
}

// yrUndefined is the integer yara uses for an undefined value; the macho
// module's entry_point_for_arch(type) adds it to a file offset when the
// file has no entry point, as yara 4.2.3 does.
const yrUndefined = -0x5452505452501

var machoConsts = [...]namedInt{
	{"MH_MAGIC", 0xfeedface}, {"MH_CIGAM", 0xcefaedfe}, {"MH_MAGIC_64", 0xfeedfacf},
	{"MH_CIGAM_64", 0xcffaedfe}, {"FAT_MAGIC", 0xcafebabe}, {"FAT_CIGAM", 0xbebafeca},
	{"FAT_MAGIC_64", 0xcafebabf}, {"FAT_CIGAM_64", 0xbfbafeca}, {"CPU_ARCH_ABI64", 0x1000000},
	{"CPU_SUBTYPE_LIB64", 0x80000000}, {"CPU_TYPE_MC680X0", 6}, {"CPU_TYPE_X86", 7},
	{"CPU_TYPE_I386", 7}, {"CPU_TYPE_X86_64", 0x1000007}, {"CPU_TYPE_MIPS", 8},
	{"CPU_TYPE_MC98000", 10}, {"CPU_TYPE_ARM", 12}, {"CPU_TYPE_ARM64", 0x100000c},
	{"CPU_TYPE_MC88000", 13}, {"CPU_TYPE_SPARC", 14}, {"CPU_TYPE_POWERPC", 18},
	{"CPU_TYPE_POWERPC64", 0x1000012}, {"CPU_SUBTYPE_INTEL_MODEL_ALL", 0}, {"CPU_SUBTYPE_386", 3},
	{"CPU_SUBTYPE_I386_ALL", 3}, {"CPU_SUBTYPE_X86_64_ALL", 3}, {"CPU_SUBTYPE_486", 4},
	{"CPU_SUBTYPE_486SX", 132}, {"CPU_SUBTYPE_586", 5}, {"CPU_SUBTYPE_PENT", 5},
	{"CPU_SUBTYPE_PENTPRO", 22}, {"CPU_SUBTYPE_PENTII_M3", 54}, {"CPU_SUBTYPE_PENTII_M5", 86},
	{"CPU_SUBTYPE_CELERON", 103}, {"CPU_SUBTYPE_CELERON_MOBILE", 119},
	{"CPU_SUBTYPE_PENTIUM_3", 8}, {"CPU_SUBTYPE_PENTIUM_3_M", 24},
	{"CPU_SUBTYPE_PENTIUM_3_XEON", 40}, {"CPU_SUBTYPE_PENTIUM_M", 9},
	{"CPU_SUBTYPE_PENTIUM_4", 10}, {"CPU_SUBTYPE_PENTIUM_4_M", 26}, {"CPU_SUBTYPE_ITANIUM", 11},
	{"CPU_SUBTYPE_ITANIUM_2", 27}, {"CPU_SUBTYPE_XEON", 12}, {"CPU_SUBTYPE_XEON_MP", 28},
	{"CPU_SUBTYPE_ARM_ALL", 0}, {"CPU_SUBTYPE_ARM_V4T", 5}, {"CPU_SUBTYPE_ARM_V6", 6},
	{"CPU_SUBTYPE_ARM_V5", 7}, {"CPU_SUBTYPE_ARM_V5TEJ", 7}, {"CPU_SUBTYPE_ARM_XSCALE", 8},
	{"CPU_SUBTYPE_ARM_V7", 9}, {"CPU_SUBTYPE_ARM_V7F", 10}, {"CPU_SUBTYPE_ARM_V7S", 11},
	{"CPU_SUBTYPE_ARM_V7K", 12}, {"CPU_SUBTYPE_ARM_V6M", 14}, {"CPU_SUBTYPE_ARM_V7M", 15},
	{"CPU_SUBTYPE_ARM_V7EM", 16}, {"CPU_SUBTYPE_ARM64_ALL", 0}, {"CPU_SUBTYPE_SPARC_ALL", 0},
	{"CPU_SUBTYPE_POWERPC_ALL", 0}, {"CPU_SUBTYPE_MC980000_ALL", 0},
	{"CPU_SUBTYPE_POWERPC_601", 1}, {"CPU_SUBTYPE_MC98601", 1}, {"CPU_SUBTYPE_POWERPC_602", 2},
	{"CPU_SUBTYPE_POWERPC_603", 3}, {"CPU_SUBTYPE_POWERPC_603e", 4},
	{"CPU_SUBTYPE_POWERPC_603ev", 5}, {"CPU_SUBTYPE_POWERPC_604", 6},
	{"CPU_SUBTYPE_POWERPC_604e", 7}, {"CPU_SUBTYPE_POWERPC_620", 8},
	{"CPU_SUBTYPE_POWERPC_750", 9}, {"CPU_SUBTYPE_POWERPC_7400", 10},
	{"CPU_SUBTYPE_POWERPC_7450", 11}, {"CPU_SUBTYPE_POWERPC_970", 100}, {"MH_OBJECT", 1},
	{"MH_EXECUTE", 2}, {"MH_FVMLIB", 3}, {"MH_CORE", 4}, {"MH_PRELOAD", 5}, {"MH_DYLIB", 6},
	{"MH_DYLINKER", 7}, {"MH_BUNDLE", 8}, {"MH_DYLIB_STUB", 9}, {"MH_DSYM", 10},
	{"MH_KEXT_BUNDLE", 11}, {"MH_NOUNDEFS", 1}, {"MH_INCRLINK", 2}, {"MH_DYLDLINK", 4},
	{"MH_BINDATLOAD", 8}, {"MH_PREBOUND", 16}, {"MH_SPLIT_SEGS", 32}, {"MH_LAZY_INIT", 64},
	{"MH_TWOLEVEL", 128}, {"MH_FORCE_FLAT", 0x100}, {"MH_NOMULTIDEFS", 0x200},
	{"MH_NOFIXPREBINDING", 0x400}, {"MH_PREBINDABLE", 0x800}, {"MH_ALLMODSBOUND", 0x1000},
	{"MH_SUBSECTIONS_VIA_SYMBOLS", 0x2000}, {"MH_CANONICAL", 0x4000}, {"MH_WEAK_DEFINES", 0x8000},
	{"MH_BINDS_TO_WEAK", 0x10000}, {"MH_ALLOW_STACK_EXECUTION", 0x20000},
	{"MH_ROOT_SAFE", 0x40000}, {"MH_SETUID_SAFE", 0x80000}, {"MH_NO_REEXPORTED_DYLIBS", 0x100000},
	{"MH_PIE", 0x200000}, {"MH_DEAD_STRIPPABLE_DYLIB", 0x400000},
	{"MH_HAS_TLV_DESCRIPTORS", 0x800000}, {"MH_NO_HEAP_EXECUTION", 0x1000000},
	{"MH_APP_EXTENSION_SAFE", 0x2000000}, {"SG_HIGHVM", 1}, {"SG_FVMLIB", 2}, {"SG_NORELOC", 4},
	{"SG_PROTECTED_VERSION_1", 8}, {"SECTION_TYPE", 255}, {"SECTION_ATTRIBUTES", 0xffffff00},
	{"S_REGULAR", 0}, {"S_ZEROFILL", 1}, {"S_CSTRING_LITERALS", 2}, {"S_4BYTE_LITERALS", 3},
	{"S_8BYTE_LITERALS", 4}, {"S_LITERAL_POINTERS", 5}, {"S_NON_LAZY_SYMBOL_POINTERS", 6},
	{"S_LAZY_SYMBOL_POINTERS", 7}, {"S_SYMBOL_STUBS", 8}, {"S_MOD_INIT_FUNC_POINTERS", 9},
	{"S_MOD_TERM_FUNC_POINTERS", 10}, {"S_COALESCED", 11}, {"S_GB_ZEROFILL", 12},
	{"S_INTERPOSING", 13}, {"S_16BYTE_LITERALS", 14}, {"S_DTRACE_DOF", 15},
	{"S_LAZY_DYLIB_SYMBOL_POINTERS", 16}, {"S_THREAD_LOCAL_REGULAR", 17},
	{"S_THREAD_LOCAL_ZEROFILL", 18}, {"S_THREAD_LOCAL_VARIABLES", 19},
	{"S_THREAD_LOCAL_VARIABLE_POINTERS", 20}, {"S_THREAD_LOCAL_INIT_FUNCTION_POINTERS", 21},
	{"S_ATTR_PURE_INSTRUCTIONS", 0x80000000}, {"S_ATTR_NO_TOC", 0x40000000},
	{"S_ATTR_STRIP_STATIC_SYMS", 0x20000000}, {"S_ATTR_NO_DEAD_STRIP", 0x10000000},
	{"S_ATTR_LIVE_SUPPORT", 0x8000000}, {"S_ATTR_SELF_MODIFYING_CODE", 0x4000000},
	{"S_ATTR_DEBUG", 0x2000000}, {"S_ATTR_SOME_INSTRUCTIONS", 0x400}, {"S_ATTR_EXT_RELOC", 0x200},
	{"S_ATTR_LOC_RELOC", 0x100},
}

// machoTree builds the module's structure: the declaration when consts is
// nil, otherwise the values of a thin file f or a fat binary fat (both
// nil: data that is not Mach-O).
func machoTree(consts map[string]*Object, f *macho.File, fat *macho.Fat) *Object {
	ms := constMembers(consts, machoConsts[:])
	ms = append(ms, machoFileMembers(f)...)
	fatArch := arrayOf(machoFatArch(nil))
	files := arrayOf(structOf(machoFileMembers(nil)...))
	magic, nfat := scalar(KindInt), scalar(KindInt)
	if fat != nil {
		magic, nfat = intObject(int64(fat.Magic)), intObject(int64(fat.NArch))
		fatArch.Items = make([]*Object, len(fat.Arches))
		for i := range fat.Arches {
			fatArch.Items[i] = machoFatArch(&fat.Arches[i])
		}
		files.Items = make([]*Object, len(fat.Files))
		for i, ff := range fat.Files {
			if ff != nil {
				files.Items[i] = structOf(machoFileMembers(ff)...)
			}
		}
	}
	ms = append(ms,
		member{"fat_magic", magic},
		member{"nfat_arch", nfat},
		member{"fat_arch", fatArch},
		member{"file", files},
		member{"file_index_for_arch", overloads(
			fn("i", KindInt, func(sc *ScanContext, a []Value) Value {
				return machoFileIndex(machoFat(sc), func(f *macho.File) bool {
					return f != nil && f.Parsed && int64(f.CPUType) == a[0].Int
				})
			}),
			fn("ii", KindInt, func(sc *ScanContext, a []Value) Value {
				return machoFileIndex(machoFat(sc), func(f *macho.File) bool {
					return f != nil && f.Parsed && int64(f.CPUType) == a[0].Int && int64(f.CPUSubtype) == a[1].Int
				})
			}),
		)},
		member{"entry_point_for_arch", overloads(
			fn("i", KindInt, func(sc *ScanContext, a []Value) Value {
				return machoArchEntry(machoFat(sc), a[0].Int, 0, false)
			}),
			fn("ii", KindInt, func(sc *ScanContext, a []Value) Value {
				return machoArchEntry(machoFat(sc), a[0].Int, a[1].Int, true)
			}),
		)},
	)
	return structOf(ms...)
}

// machoFileIndex returns the index of the first file of fat for which
// match holds, undefined when there is none or the data is not fat.
func machoFileIndex(fat *macho.Fat, match func(*macho.File) bool) Value {
	if fat == nil {
		return undefined(KindInt)
	}
	for i, f := range fat.Files {
		if match(f) {
			return intValue(int64(i))
		}
	}
	return undefined(KindInt)
}

// machoArchEntry is entry_point_for_arch: the file offset of the entry
// point of the first architecture of the given type (and subtype when
// withSub), chosen by the architecture table. As in yara 4.2.3, the
// one-argument form does not check that the file has an entry point.
func machoArchEntry(fat *macho.Fat, typ, sub int64, withSub bool) Value {
	if fat == nil {
		return undefined(KindInt)
	}
	for i, a := range fat.Arches {
		if int64(a.CPUType) != typ || (withSub && int64(a.CPUSubtype) != sub) {
			continue
		}
		f := fat.Files[i]
		if f == nil || !f.HasEntry {
			if withSub {
				return undefined(KindInt)
			}
			return intValue(int64(a.Offset) + yrUndefined)
		}
		return intValue(int64(a.Offset + f.EntryPoint))
	}
	return undefined(KindInt)
}

// machoFileMembers returns the fields of one Mach-O file, shared by the
// module's top level and each file[i]: undefined for nil or for data too
// short for a header.
func machoFileMembers(f *macho.File) []member {
	ok := f != nil && f.Parsed
	if f == nil {
		f = &macho.File{}
	}
	segments := arrayOf(machoSegment(nil))
	if ok {
		segments.Items = make([]*Object, len(f.Segments))
		for i, s := range f.Segments {
			if s != nil {
				segments.Items[i] = machoSegment(s)
			}
		}
	}
	return []member{
		{"magic", optInt(int64(f.Magic), ok)},
		{"cputype", optInt(int64(f.CPUType), ok)},
		{"cpusubtype", optInt(int64(f.CPUSubtype), ok)},
		{"filetype", optInt(int64(f.FileType), ok)},
		{"ncmds", optInt(int64(f.NCmds), ok)},
		{"sizeofcmds", optInt(int64(f.SizeOfCmds), ok)},
		{"flags", optInt(int64(f.Flags), ok)},
		{"reserved", optInt(int64(f.Reserved), ok && f.Is64)},
		{"number_of_segments", optInt(int64(len(f.Segments)), ok)},
		{"segments", segments},
		{"entry_point", optInt(int64(f.EntryPoint), ok && f.HasEntry)},
		{"stack_size", optInt(int64(f.StackSize), ok && f.HasStackSize)},
	}
}

// machoSegment returns segments[i] for s, or the declared element for nil.
func machoSegment(s *macho.Segment) *Object {
	ok := s != nil
	if s == nil {
		s = &macho.Segment{}
	}
	sections := arrayOf(machoSection(nil))
	if ok {
		sections.Items = make([]*Object, len(s.Sections))
		for i := range s.Sections {
			sections.Items[i] = machoSection(&s.Sections[i])
		}
	}
	name := scalar(KindString)
	if ok {
		name = optStr(s.Name)
	}
	return structOf(
		member{"segname", name},
		member{"vmaddr", optInt(int64(s.VMAddr), ok)},
		member{"vmsize", optInt(int64(s.VMSize), ok)},
		member{"fileoff", optInt(int64(s.FileOff), ok)},
		member{"fsize", optInt(int64(s.FileSize), ok)},
		member{"maxprot", optInt(int64(s.MaxProt), ok)},
		member{"initprot", optInt(int64(s.InitProt), ok)},
		member{"nsects", optInt(int64(s.NSects), ok)},
		member{"flags", optInt(int64(s.Flags), ok)},
		member{"sections", sections},
	)
}

// machoSection returns sections[i] for s, or the declared element for nil.
func machoSection(s *macho.Section) *Object {
	ok := s != nil
	if s == nil {
		s = &macho.Section{}
	}
	sect, seg := scalar(KindString), scalar(KindString)
	if ok {
		sect, seg = optStr(s.SectName), optStr(s.SegName)
	}
	return structOf(
		member{"sectname", sect},
		member{"segname", seg},
		member{"addr", optInt(int64(s.Addr), ok)},
		member{"size", optInt(int64(s.Size), ok)},
		member{"offset", optInt(int64(s.Offset), ok)},
		member{"align", optInt(int64(s.Align), ok)},
		member{"reloff", optInt(int64(s.RelOff), ok)},
		member{"nreloc", optInt(int64(s.NReloc), ok)},
		member{"flags", optInt(int64(s.Flags), ok)},
		member{"reserved1", optInt(int64(s.Reserved1), ok)},
		member{"reserved2", optInt(int64(s.Reserved2), ok)},
		member{"reserved3", optInt(int64(s.Reserved3), ok && s.Is64)},
	)
}

// machoFatArch returns fat_arch[i] for a, or the declared element for nil.
func machoFatArch(a *macho.FatArch) *Object {
	ok := a != nil
	if a == nil {
		a = &macho.FatArch{}
	}
	return structOf(
		member{"cputype", optInt(int64(a.CPUType), ok)},
		member{"cpusubtype", optInt(int64(a.CPUSubtype), ok)},
		member{"offset", optInt(int64(a.Offset), ok)},
		member{"size", optInt(int64(a.Size), ok)},
		member{"align", optInt(int64(a.Align), ok)},
	)
}
