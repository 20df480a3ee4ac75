package unpack

import (
	"bytes"
	"context"
	"encoding/binary"

	"github.com/glassav/glassav/filetype"
)

// embeddedPEFormat carves a PE executable hidden inside another object,
// as ClamAV's raw scan does: the first "MZ" after offset 0 that starts a
// well-formed PE header — DOS header, "PE\0\0", a sane section count,
// the section table inside the data — yields one member running from
// there to the end of the data. Further executables inside that one are
// found when it is scanned in turn. Objects over MaxEmbeddedPE (40 MiB,
// ClamAV's default) are not searched.
//
// clamscan 1.4 carves from Windows executables and OLE2 files, not from
// zip files (whose raw bytes it does not type-scan, though ClamAV's source
// names them), binary data or other types (ELF, images). The format is
// registered for MSEXE only, since OLE2 has a format of its own: the
// engine runs it by name ("embedpe") on OLE2 files as a second pass.
func embeddedPEFormat() *Format {
	return &Format{Name: "embedpe", Types: []filetype.Type{filetype.MSEXE}, Unpack: unpackEmbeddedPE}
}

// MaxEmbeddedPE is the largest object searched for embedded executables.
const MaxEmbeddedPE = 40 << 20

func unpackEmbeddedPE(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	if len(data) > MaxEmbeddedPE {
		return nil
	}
	for from := 1; from < len(data); {
		if err := b.Check(ctx); err != nil {
			return err
		}
		i := bytes.Index(data[from:], []byte("MZ"))
		if i < 0 {
			return nil
		}
		off := from + i
		if isPEHeader(data[off:]) {
			return emitStored(b, data[off:], Member{Offset: int64(off), Type: filetype.MSEXE}, emit)
		}
		from = off + 1
	}
	return nil
}

// isPEHeader reports whether d starts with a DOS header leading to a PE
// header whose optional header and section table lie within d.
func isPEHeader(d []byte) bool {
	if len(d) < 0x40 || d[0] != 'M' || d[1] != 'Z' {
		return false
	}
	le := binary.LittleEndian
	pe := int64(le.Uint32(d[0x3c:]))
	if pe < 0x40-24 || pe+24 > int64(len(d)) || string(d[pe:pe+4]) != "PE\x00\x00" {
		return false
	}
	nsec := int64(le.Uint16(d[pe+6:]))
	opt := int64(le.Uint16(d[pe+20:]))
	if nsec < 1 || nsec > 96 || opt < 0x60 {
		return false
	}
	if pe+24+2 > int64(len(d)) {
		return false
	}
	if magic := le.Uint16(d[pe+24:]); magic != 0x10b && magic != 0x20b {
		return false
	}
	return pe+24+opt+nsec*40 <= int64(len(d))
}
