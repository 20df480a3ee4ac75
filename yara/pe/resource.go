package pe

// NameKind says which of a resource's integer or string names yara sets.
type NameKind uint8

const (
	// NameID: the name is the integer ID.
	NameID NameKind = iota
	// NameString: the name is the UTF-16 string Name.
	NameString
)

// ResourceName is the type, name or language of a resource: an integer
// or a string (the raw UTF-16LE bytes, as yara stores them).
type ResourceName struct {
	Kind NameKind
	ID   int32 // the directory entry's Name field (as a C int)
	Name []byte
}

// Resource is one leaf of the resource tree.
type Resource struct {
	RVA      uint32
	Offset   int64 // file offset of the data; -1 when the RVA maps nowhere
	Length   uint32
	Type     ResourceName
	ID       ResourceName
	Language ResourceName
}

// VersionEntry is one string of a VS_VERSIONINFO resource's
// StringFileInfo.
type VersionEntry struct {
	Key, Value []byte
}

const (
	resourceDirSize   = 16
	resourceEntrySize = 8
	resourceDataSize  = 16

	// ResourceTypeVersion is RT_VERSION.
	ResourceTypeVersion = 16
)

// resourceWalk carries the state of the walk of the resource tree: the
// current type, name and language integers, shared across levels as in
// yara.
type resourceWalk struct {
	f       *File
	base    int64 // offset of the root directory; entry offsets are relative to it
	typ, id int32
	lang    int32
	visited int
}

// parseResources walks the resource tree as yara's pe_iterate_resources:
// three levels (type, name, language), an entry whose offset has the high
// bit set below the third level is a subdirectory, anything else a data
// entry. A directory with non-zero characteristics or more than 32,768
// entries of either kind is skipped; an entry or directory outside the
// data ends the walk.
func (f *File) parseResources() {
	dir, ok := f.Directory(2)
	if !ok || dir.VirtualAddress == 0 {
		return
	}
	off := f.RVAToOffset(uint64(dir.VirtualAddress))
	if off < 0 || !f.fits(off, resourceDirSize) {
		return
	}
	d := f.data[off:]
	f.ResourceDirectory = true
	f.ResourceTimestamp = le.Uint32(d[4:])
	f.ResourceMajor = le.Uint16(d[8:])
	f.ResourceMinor = le.Uint16(d[10:])
	w := &resourceWalk{f: f, base: off, typ: -1, id: -1, lang: -1}
	w.dir(off, 0, nil, nil, nil)
}

// dir walks the directory at off; it reports false when the walk must
// stop (yara's RESOURCE_ITERATOR_ABORTED).
func (w *resourceWalk) dir(off int64, level int, typeStr, nameStr, langStr *ResourceName) bool {
	f := w.f
	d := f.data[off:] // the caller checked the directory header fits
	if le.Uint32(d) != 0 {
		return true
	}
	named, ids := int(le.Uint16(d[12:])), int(le.Uint16(d[14:]))
	if named > 32768 || ids > 32768 {
		return true
	}
	entry := off + resourceDirSize
	for i := 0; i < named+ids; i++ {
		if !f.fits(entry, resourceEntrySize) {
			return false
		}
		if w.visited++; w.visited > maxResourceEntries {
			return false
		}
		nameField := le.Uint32(f.data[entry:])
		target := le.Uint32(f.data[entry+4:])
		name := w.name(nameField)
		switch level {
		case 0:
			w.typ, typeStr = int32(nameField), name
		case 1:
			w.id, nameStr = int32(nameField), name
		case 2:
			w.lang, langStr = int32(nameField), name
		}
		at := w.base + int64(target&0x7fffffff)
		if target&0x80000000 != 0 && level < 2 {
			if !f.fits(at, resourceDirSize) {
				return false
			}
			if !w.dir(at, level+1, typeStr, nameStr, langStr) {
				return false
			}
		} else {
			if !f.fits(at, resourceDataSize) {
				return false
			}
			w.collect(at, typeStr, nameStr, langStr)
		}
		entry += resourceEntrySize
	}
	return true
}

// name returns the string name of a directory entry whose Name field has
// the high bit set, or nil for an integer name or a string that does not
// fit (yara's parse_resource_name).
func (w *resourceWalk) name(field uint32) *ResourceName {
	if field&0x80000000 == 0 {
		return nil
	}
	at := w.base + int64(field&0x7fffffff)
	if !w.f.fits(at, 2) {
		return nil
	}
	n := int64(le.Uint16(w.f.data[at:])) * 2
	if !w.f.fits(at, 2+n) {
		return nil
	}
	return &ResourceName{Kind: NameString, Name: w.f.data[at+2 : at+2+n : at+2+n]}
}

// collect records the data entry at off (yara's pe_collect_resources).
func (w *resourceWalk) collect(off int64, typeStr, nameStr, langStr *ResourceName) {
	f := w.f
	if len(f.Resources) > MaxResources {
		return
	}
	d := f.data[off:]
	r := Resource{
		RVA:      le.Uint32(d),
		Length:   le.Uint32(d[4:]),
		Type:     pick(typeStr, w.typ),
		ID:       pick(nameStr, w.id),
		Language: pick(langStr, w.lang),
	}
	r.Offset = f.RVAToOffset(uint64(r.RVA))
	f.Resources = append(f.Resources, r)
	if w.typ == ResourceTypeVersion {
		f.parseVersionInfo(r.RVA)
	}
}

func pick(s *ResourceName, id int32) ResourceName {
	if s != nil {
		return *s
	}
	return ResourceName{Kind: NameID, ID: id}
}
