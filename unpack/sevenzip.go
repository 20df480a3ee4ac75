package unpack

import (
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/bodgit/sevenzip"

	"github.com/glassav/glassav/filetype"
)

// sevenZipFormat opens 7-Zip archives (and 7-Zip SFX executables, whose
// archive follows a stub: the reader finds the signature header after it).
// Members come in header order; directories are skipped. A member of an
// encrypted folder is emitted as Encrypted, as clamscan reports
// Heuristics.Encrypted.7Zip; an archive whose header itself is encrypted
// yields one nameless encrypted member.
//
// Solid folders give no packed size per member, so the ratio limit is
// measured against the whole archive.
func sevenZipFormat() *Format {
	return &Format{
		Name:   "7z",
		Types:  []filetype.Type{filetype.SevenZip, filetype.SevenZipSFX},
		Unpack: unpackSevenZip,
	}
}

func unpackSevenZip(ctx context.Context, data []byte, b *Budget, emit func(Member) error) (err error) {
	defer recoverLibrary("7z", &err)
	emit = guardEmit(emit)
	if err := b.Check(ctx); err != nil {
		return err
	}
	if err := sevenZipCheck(data); err != nil {
		return Corrupt("7z", -1, "header: %v", err)
	}
	zr, err := sevenzip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if isSevenZipEncrypted(err) {
			return emit(Member{Encrypted: true, Offset: -1})
		}
		return Corrupt("7z", -1, "header: %v", err)
	}
	var first error
	for _, f := range zr.File {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if f.FileInfo().IsDir() {
			continue
		}
		m := Member{Name: f.Name, Offset: -1}
		rc, err := f.Open()
		if err != nil {
			if isSevenZipEncrypted(err) {
				if err := emit(Member{Name: f.Name, Encrypted: true, Offset: -1}); err != nil {
					return err
				}
				continue
			}
			return Corrupt("7z", -1, "member %q: %v", f.Name, err)
		}
		err = emitSevenZipMember(ctx, b, rc, int64(len(data)), m, emit)
		rc.Close()
		if err != nil {
			if !memberLimited(err) {
				return err
			}
			keepFirst(&first, err)
		}
	}
	return first
}

// emitSevenZipMember reads one member; a read that fails because the
// folder is encrypted becomes an encrypted member rather than corrupt
// input.
func emitSevenZipMember(ctx context.Context, b *Budget, rc io.Reader, packed int64, m Member, emit func(Member) error) error {
	data, err := b.Read(ctx, rc, packed)
	if err != nil && isSevenZipEncrypted(err) {
		m.Encrypted = true
		return emit(m)
	}
	if err == nil || len(data) > 0 {
		m.Data = data
		if eerr := emit(m); eerr != nil {
			return eerr
		}
	}
	return classify(err, "7z", -1)
}

func isSevenZipEncrypted(err error) bool {
	var re *sevenzip.ReadError
	if errors.As(err, &re) && re.Encrypted {
		return true
	}
	var rv sevenzip.ReadError
	return errors.As(err, &rv) && rv.Encrypted
}
