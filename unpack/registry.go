package unpack

import (
	"bytes"
	"sync"

	"github.com/glassav/glassav/filetype"
)

// Formats returns every format glassav unpacks, newly built on each call so
// callers may keep or change the values they get. Each format adds its
// constructor here, one line each.
func Formats() []*Format {
	return []*Format{
		zipFormat(),
		gzipFormat(),
		bzip2Format(),
		xzFormat(),
		zstdFormat(),
		tarFormat(),
		cpioFormat(),
		sevenZipFormat(),
		szddFormat(),
		cabFormat(),
		chmFormat(),
		ole2Format(),
		arjFormat(),
		rarFormat(),
		embeddedPEFormat(),
		mailFormat(),
		uuencodeFormat(),
		binhexFormat(),
		tnefFormat(),
		rtfFormat(),
		pdfFormat(),
		htmlFormat(),
		petiteFormat(),
		wwpackFormat(),
		aspackFormat(),
		upxFormat(),
		fsgFormat(),
		mewFormat(),
		upackFormat(),
		nsisFormat(),
		sisFormat(),
		autoitFormat(),
		ishieldFormat(),
		ycFormat(),
		pespinFormat(),
	}
}

// registry is the lookup built once from Formats: by detected type, and by
// magic for content filetype leaves untyped.
type registry struct {
	byType map[filetype.Type]*Format
	byName map[string]*Format
	magic  []*Format
	within map[filetype.Type][]*Format
}

var theRegistry = sync.OnceValue(func() *registry {
	r := &registry{byType: make(map[filetype.Type]*Format), byName: make(map[string]*Format), within: make(map[filetype.Type][]*Format)}
	for _, f := range Formats() {
		r.byName[f.Name] = f
		if f.Detect != nil {
			for _, t := range f.Within {
				r.within[t] = append(r.within[t], f)
			}
		}
		for _, t := range f.Types {
			if _, dup := r.byType[t]; !dup {
				r.byType[t] = f
			}
		}
		if len(f.Magic) > 0 {
			r.magic = append(r.magic, f)
		}
	}
	return r
})

// ForType returns the format that opens objects of type t, or nil. The
// value is shared: callers must not change it.
func ForType(t filetype.Type) *Format {
	return theRegistry().byType[t]
}

// For returns the format that opens data of detected type t: the one
// registered for t, else one whose Magic prefixes data (formats ClamAV has
// no type for, such as zstd, which filetype reports as binary data), or nil.
func For(t filetype.Type, data []byte) *Format {
	if f := ForType(t); f != nil {
		return f
	}
	for _, f := range theRegistry().magic {
		for _, m := range f.Magic {
			if bytes.HasPrefix(data, []byte(m)) {
				return f
			}
		}
	}
	return nil
}

// Inside returns the formats found in data of detected type t besides
// the one registered for t: those listing t in Within whose Detect
// reports true (a packer's or installer's formats inside a Windows
// executable). The values are shared: callers must not change them.
func Inside(t filetype.Type, data []byte) []*Format {
	var fs []*Format
	for _, f := range theRegistry().within[t] {
		if f.Detect(data) {
			fs = append(fs, f)
		}
	}
	return fs
}

// ByName returns the format called name, or nil. The value is shared:
// callers must not change it.
func ByName(name string) *Format {
	return theRegistry().byName[name]
}

// ForEmbedded returns the format that opens an archive appended to data
// of a type no format opens — a self-extracting zip after an executable's
// stub, which ClamAV finds by its embedded-type scan — or nil.
func ForEmbedded(data []byte) *Format {
	if zipEmbedded(data) {
		return zipFormat()
	}
	return nil
}
