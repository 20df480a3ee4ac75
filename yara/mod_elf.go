package yara

import (
	"crypto/md5"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/glassav/glassav/yara/elf"
)

// elfModule is yara's "elf" module: the header, sections, segments,
// symbol tables and dynamic table of an ELF file, as yara 4.2.3 computes
// them (package elf reads them). Data that is not ELF gets the constants
// and nothing else. import_md5() is yara 4.3's (yara 4.2.3 rejects rules
// that call it); 4.3's telfhash(), a TLSH digest, is not implemented and
// rules calling it are rejected as yara 4.2.3 rejects them.
// The strings of a loaded tree (names) share the scanned data, as do
// those of the macho and dex modules.
type elfModule struct {
	decl   *Object
	consts map[string]*Object // the loaded constants, shared by every tree
	empty  *Object            // the tree for data that is not ELF
}

func newElfModule() elfModule {
	m := elfModule{decl: elfTree(nil, nil), consts: map[string]*Object{}}
	for _, group := range elfConsts {
		for _, c := range group {
			m.consts[c.name] = intObject(c.v)
		}
	}
	m.empty = elfTree(m.consts, nil)
	return m
}

func (elfModule) Name() string { return "elf" }

func (m elfModule) Declare() *Object { return m.decl }

func (m elfModule) Load(sc *ScanContext) (*Object, error) {
	if !elf.IsELF(sc.Data) {
		return m.empty, nil
	}
	f, err := elf.Parse(sc.Data)
	if err != nil {
		return m.empty, nil
	}
	return elfTree(m.consts, f), nil
}

// namedInt is a module constant.
type namedInt struct {
	name string
	v    int64
}

// constMembers returns the constants as structure members: defined values
// taken from loaded, or undefined ones for the declaration (loaded nil).
func constMembers(loaded map[string]*Object, cs []namedInt) []member {
	ms := make([]member, len(cs))
	for i, c := range cs {
		o := loaded[c.name]
		if o == nil {
			o = scalar(KindInt)
		}
		ms[i] = member{c.name, o}
	}
	return ms
}

// objSlab hands out objects from one allocation, for the many small
// values of a large table (symbols, sections): far fewer allocations than
// one per value. The objects are never resized, so pointers stay valid.
type objSlab struct{ objs []Object }

func newSlab(n int) *objSlab { return &objSlab{objs: make([]Object, 0, n)} }

func (s *objSlab) next(o Object) *Object {
	if len(s.objs) == cap(s.objs) {
		s.objs = make([]Object, 0, max(16, cap(s.objs)))
	}
	s.objs = append(s.objs, o)
	return &s.objs[len(s.objs)-1]
}

func (s *objSlab) int(v int64) *Object { return s.next(Object{Kind: KindInt, Defined: true, Int: v}) }

// str returns b as a defined string, or an undefined one for nil.
func (s *objSlab) str(b []byte) *Object {
	if b == nil {
		return s.next(Object{Kind: KindString})
	}
	return s.next(Object{Kind: KindString, Defined: true, Str: b})
}

// record returns a structure with the fields named by order (shared, not
// copied: callers pass a slice they never change) and the given values.
func (s *objSlab) record(order []string, vals ...*Object) *Object {
	o := s.next(Object{Kind: KindStruct, Order: order, Fields: make(map[string]*Object, len(order))})
	for i, n := range order {
		o.Fields[n] = vals[i]
	}
	return o
}

// optInt returns v as a defined integer when ok, an undefined one
// otherwise.
func optInt(v int64, ok bool) *Object {
	if !ok {
		return scalar(KindInt)
	}
	return intObject(v)
}

// optStr returns b as a defined string, or an undefined one for nil.
func optStr(b []byte) *Object {
	if b == nil {
		return scalar(KindString)
	}
	return &Object{Kind: KindString, Defined: true, Str: b}
}

// The elf module's constants, in yara's groups (the structure interleaves
// them with the fields).
var elfConsts = [...][]namedInt{
	{{"ET_NONE", 0}, {"ET_REL", 1}, {"ET_EXEC", 2}, {"ET_DYN", 3}, {"ET_CORE", 4},
		{"EM_NONE", 0}, {"EM_M32", 1}, {"EM_SPARC", 2}, {"EM_386", 3}, {"EM_68K", 4},
		{"EM_88K", 5}, {"EM_860", 7}, {"EM_MIPS", 8}, {"EM_MIPS_RS3_LE", 10}, {"EM_PPC", 20},
		{"EM_PPC64", 21}, {"EM_ARM", 40}, {"EM_X86_64", 62}, {"EM_AARCH64", 183},
		{"SHT_NULL", 0}, {"SHT_PROGBITS", 1}, {"SHT_SYMTAB", 2}, {"SHT_STRTAB", 3},
		{"SHT_RELA", 4}, {"SHT_HASH", 5}, {"SHT_DYNAMIC", 6}, {"SHT_NOTE", 7},
		{"SHT_NOBITS", 8}, {"SHT_REL", 9}, {"SHT_SHLIB", 10}, {"SHT_DYNSYM", 11},
		{"SHF_WRITE", 1}, {"SHF_ALLOC", 2}, {"SHF_EXECINSTR", 4}},
	{{"PT_NULL", 0}, {"PT_LOAD", 1}, {"PT_DYNAMIC", 2}, {"PT_INTERP", 3}, {"PT_NOTE", 4},
		{"PT_SHLIB", 5}, {"PT_PHDR", 6}, {"PT_TLS", 7}, {"PT_GNU_EH_FRAME", 0x6474e550},
		{"PT_GNU_STACK", 0x6474e551},
		{"DT_NULL", 0}, {"DT_NEEDED", 1}, {"DT_PLTRELSZ", 2}, {"DT_PLTGOT", 3}, {"DT_HASH", 4},
		{"DT_STRTAB", 5}, {"DT_SYMTAB", 6}, {"DT_RELA", 7}, {"DT_RELASZ", 8}, {"DT_RELAENT", 9},
		{"DT_STRSZ", 10}, {"DT_SYMENT", 11}, {"DT_INIT", 12}, {"DT_FINI", 13}, {"DT_SONAME", 14},
		{"DT_RPATH", 15}, {"DT_SYMBOLIC", 16}, {"DT_REL", 17}, {"DT_RELSZ", 18}, {"DT_RELENT", 19},
		{"DT_PLTREL", 20}, {"DT_DEBUG", 21}, {"DT_TEXTREL", 22}, {"DT_JMPREL", 23},
		{"DT_BIND_NOW", 24}, {"DT_INIT_ARRAY", 25}, {"DT_FINI_ARRAY", 26},
		{"DT_INIT_ARRAYSZ", 27}, {"DT_FINI_ARRAYSZ", 28}, {"DT_RUNPATH", 29}, {"DT_FLAGS", 30},
		{"DT_ENCODING", 32},
		{"STT_NOTYPE", 0}, {"STT_OBJECT", 1}, {"STT_FUNC", 2}, {"STT_SECTION", 3},
		{"STT_FILE", 4}, {"STT_COMMON", 5}, {"STT_TLS", 6},
		{"STB_LOCAL", 0}, {"STB_GLOBAL", 1}, {"STB_WEAK", 2},
		{"PF_X", 1}, {"PF_W", 2}, {"PF_R", 4}},
}

// elfTree builds the module's structure: the declaration when consts is
// nil, otherwise the values for f (nil: data that is not ELF).
func elfTree(consts map[string]*Object, f *elf.File) *Object {
	if f == nil {
		f = &elf.File{}
	}
	valid := consts != nil && f.Class != 0
	sections := arrayOf(elfSection(nil, nil))
	segments := arrayOf(elfSegment(nil, nil))
	dynamic := arrayOf(structOf(member{"type", scalar(KindInt)}, member{"val", scalar(KindInt)}))
	symtab := arrayOf(elfSymbol(nil, nil))
	dynsym := arrayOf(elfSymbol(nil, nil))
	if valid {
		slab := newSlab(7*(len(f.Sections)+len(f.Symtab)+len(f.Dynsym)) + 9*len(f.Segments) + 3*len(f.Dynamic))
		sections.Items = make([]*Object, len(f.Sections))
		for i := range f.Sections {
			sections.Items[i] = elfSection(slab, &f.Sections[i])
		}
		segments.Items = make([]*Object, len(f.Segments))
		for i := range f.Segments {
			segments.Items[i] = elfSegment(slab, &f.Segments[i])
		}
		dynamic.Items = make([]*Object, len(f.Dynamic))
		for i, d := range f.Dynamic {
			dynamic.Items[i] = slab.record(elfDynOrder, slab.int(int64(d.Tag)), slab.int(int64(d.Val)))
		}
		symtab.Items = make([]*Object, len(f.Symtab))
		for i := range f.Symtab {
			symtab.Items[i] = elfSymbol(slab, &f.Symtab[i])
		}
		dynsym.Items = make([]*Object, len(f.Dynsym))
		for i := range f.Dynsym {
			dynsym.Items[i] = elfSymbol(slab, &f.Dynsym[i])
		}
	}
	ms := constMembers(consts, elfConsts[0])
	ms = append(ms,
		member{"type", optInt(int64(f.Type), valid)},
		member{"machine", optInt(int64(f.Machine), valid)},
		member{"entry_point", optInt(int64(f.EntryPoint), valid && f.HasEntryPoint)},
		member{"number_of_sections", optInt(int64(f.ShNum), valid)},
		member{"sh_offset", optInt(int64(f.ShOff), valid)},
		member{"sh_entry_size", optInt(int64(f.ShEntSize), valid)},
		member{"number_of_segments", optInt(int64(f.PhNum), valid)},
		member{"ph_offset", optInt(int64(f.PhOff), valid)},
		member{"ph_entry_size", optInt(int64(f.PhEntSize), valid)},
		member{"sections", sections},
	)
	ms = append(ms, constMembers(consts, elfConsts[1])...)
	ms = append(ms,
		member{"segments", segments},
		member{"dynamic_section_entries", optInt(int64(f.DynamicEntries), valid && f.HasDynamic)},
		member{"dynamic", dynamic},
		member{"symtab_entries", optInt(int64(len(f.Symtab)), valid && f.HasSymtab)},
		member{"symtab", symtab},
		member{"dynsym_entries", optInt(int64(len(f.Dynsym)), valid && f.HasDynsym)},
		member{"dynsym", dynsym},
		member{"import_md5", elfImportMD5},
	)
	return structOf(ms...)
}

// elfKey memoises the parsed file of a scan for import_md5.
type elfKey struct{}

// elfImportMD5 is yara 4.3's import_md5(): the MD5 of the names of the
// undefined symbols of .dynsym (of .symtab when there is no .dynsym),
// lower-cased, sorted and joined with commas; undefined when there are
// none.
var elfImportMD5 = overloads(fn("", KindString, func(sc *ScanContext, _ []Value) Value {
	f := sc.Cached(elfKey{}, func() any {
		f, err := elf.Parse(sc.Data)
		if err != nil {
			return (*elf.File)(nil)
		}
		return f
	}).(*elf.File)
	if f == nil {
		return undefined(KindString)
	}
	syms := f.Symtab
	if f.HasDynsym {
		syms = f.Dynsym
	} else if !f.HasSymtab {
		return undefined(KindString)
	}
	var names []string
	for _, s := range syms {
		if s.Shndx == 0 && len(s.Name) > 0 {
			names = append(names, strings.Map(asciiLower, string(s.Name)))
		}
	}
	if len(names) == 0 {
		return undefined(KindString)
	}
	slices.Sort(names)
	sum := md5.Sum([]byte(strings.Join(names, ",")))
	return stringValue([]byte(hex.EncodeToString(sum[:])))
}))

// asciiLower is C's tolower in the C locale.
func asciiLower(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// The fields of the elf module's array elements, in declaration order.
var (
	elfSectionOrder = []string{"type", "flags", "address", "name", "size", "offset"}
	elfSegmentOrder = []string{"type", "flags", "offset", "virtual_address", "physical_address", "file_size", "memory_size", "alignment"}
	elfSymbolOrder  = []string{"name", "value", "size", "type", "bind", "shndx"}
	elfDynOrder     = []string{"type", "val"}
)

// undefinedRecord returns the declared element: a structure of undefined
// fields of the given kinds.
func undefinedRecord(order []string, kinds ...Kind) *Object {
	ms := make([]member, len(order))
	for i, n := range order {
		ms[i] = member{n, scalar(kinds[i])}
	}
	return structOf(ms...)
}

// elfSection returns sections[i] for s, or the declared element for nil.
func elfSection(slab *objSlab, s *elf.Section) *Object {
	if s == nil {
		return undefinedRecord(elfSectionOrder, KindInt, KindInt, KindInt, KindString, KindInt, KindInt)
	}
	return slab.record(elfSectionOrder, slab.int(int64(s.Type)), slab.int(int64(s.Flags)),
		slab.int(int64(s.Addr)), slab.str(s.Name), slab.int(int64(s.Size)), slab.int(int64(s.Offset)))
}

// elfSegment returns segments[i] for s, or the declared element for nil.
func elfSegment(slab *objSlab, s *elf.Segment) *Object {
	if s == nil {
		return undefinedRecord(elfSegmentOrder, KindInt, KindInt, KindInt, KindInt, KindInt, KindInt, KindInt, KindInt)
	}
	return slab.record(elfSegmentOrder, slab.int(int64(s.Type)), slab.int(int64(s.Flags)),
		slab.int(int64(s.Offset)), slab.int(int64(s.Vaddr)), slab.int(int64(s.Paddr)),
		slab.int(int64(s.Filesz)), slab.int(int64(s.Memsz)), slab.int(int64(s.Align)))
}

// elfSymbol returns symtab[i] or dynsym[i] for s, or the declared element
// for nil.
func elfSymbol(slab *objSlab, s *elf.Symbol) *Object {
	if s == nil {
		return undefinedRecord(elfSymbolOrder, KindString, KindInt, KindInt, KindInt, KindInt, KindInt)
	}
	return slab.record(elfSymbolOrder, slab.str(s.Name), slab.int(int64(s.Value)), slab.int(int64(s.Size)),
		slab.int(int64(s.Type)), slab.int(int64(s.Bind)), slab.int(int64(s.Shndx)))
}
