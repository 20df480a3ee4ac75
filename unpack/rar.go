package unpack

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/nwaples/rardecode/v2"

	"github.com/glassav/glassav/filetype"
)

// rarFormat opens RAR archives, versions 1.5-4 and 5, and RAR SFX
// executables (the library finds the signature after a stub). Files come
// in archive order; directories and links are skipped. Encrypted files
// are emitted as encrypted members, and an archive whose headers are
// encrypted as one nameless encrypted member, as clamscan reports
// Heuristics.Encrypted.RAR. Debian's clamscan has no RAR support (the
// unrar plugin is non-free), so here glassav goes further than its peer.
//
// The decoder's dictionary is capped near MaxFileSize: a header asking
// for a larger window than any member may fill is refused before the
// window is allocated.
func rarFormat() *Format {
	return &Format{Name: "rar", Types: []filetype.Type{filetype.RAR, filetype.RARSFX}, Unpack: unpackRAR}
}

func unpackRAR(ctx context.Context, data []byte, b *Budget, emit func(Member) error) (err error) {
	defer recoverLibrary("rar", &err)
	emit = guardEmit(emit)
	if err := b.Check(ctx); err != nil {
		return err
	}
	dict := int64(256 << 10)
	for dict < b.Limits().MaxFileSize && dict < 1<<30 {
		dict <<= 1
	}
	rr, err := rardecode.NewReader(bytes.NewReader(data), rardecode.MaxDictionarySize(dict))
	if err != nil {
		if errors.Is(err, rardecode.ErrArchiveEncrypted) {
			return emit(Member{Encrypted: true, Offset: -1})
		}
		return Corrupt("rar", -1, "%v", err)
	}
	var first error
	for {
		if err := b.Check(ctx); err != nil {
			return err
		}
		h, err := rr.Next()
		if err == io.EOF {
			return first
		}
		if err != nil {
			if errors.Is(err, rardecode.ErrArchiveEncrypted) {
				return emit(Member{Encrypted: true, Offset: -1})
			}
			return Corrupt("rar", -1, "%v", err)
		}
		if h.IsDir || h.LinkType != 0 {
			continue
		}
		m := Member{Name: h.Name, Offset: -1}
		if h.Encrypted {
			m.Encrypted = true
			if err := emit(m); err != nil {
				return err
			}
			continue
		}
		packed := h.PackedSize
		if packed <= 0 || h.Solid {
			packed = int64(len(data))
		}
		d, rerr := b.Read(ctx, rr, packed)
		if errors.Is(rerr, rardecode.ErrArchivedFileEncrypted) || errors.Is(rerr, rardecode.ErrBadPassword) {
			m.Encrypted = true
			if err := emit(m); err != nil {
				return err
			}
			continue
		}
		if rerr == nil || len(d) > 0 {
			m.Data = d
			if err := emit(m); err != nil {
				return err
			}
		}
		if rerr != nil {
			if !memberLimited(rerr) {
				return classify(rerr, "rar", -1)
			}
			keepFirst(&first, rerr)
		}
	}
}
