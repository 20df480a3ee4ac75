package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/glassav/glassav/filetype"
)

// tarFormat opens tar archives: POSIX ustar and pax, GNU, and old V7
// headers. Regular files are members, sliced from the archive as stored;
// directories, links and devices are skipped.
func tarFormat() *Format {
	return &Format{Name: "tar", Types: []filetype.Type{filetype.PosixTar, filetype.OldTar}, Unpack: unpackTar}
}

func unpackTar(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	br := bytes.NewReader(data)
	tr := tar.NewReader(br)
	n := 0
	for {
		if err := b.Check(ctx); err != nil {
			return err
		}
		hdrOff := br.Size() - int64(br.Len())
		h, err := tr.Next()
		if err == io.EOF {
			if n == 0 && hdrOff == 0 {
				return Corrupt("tar", 0, "no entries")
			}
			return nil
		}
		if err != nil {
			if errors.Is(err, tar.ErrHeader) && n > 0 && allZero(data[hdrOff:]) {
				return nil
			}
			return Corrupt("tar", hdrOff, "header: %v", err)
		}
		n++
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeCont: // the reader turns old '\x00' entries into TypeReg
		case tar.TypeGNUSparse:
			// Sparse files are expanded by the reader, so they are read,
			// not sliced.
			if err := emitRead(ctx, b, tr, h.Size, Member{Name: h.Name, Offset: -1}, "tar", hdrOff, emit); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		off := br.Size() - int64(br.Len())
		end := off + h.Size
		truncated := end > int64(len(data)) || h.Size < 0
		if truncated {
			end = int64(len(data))
		}
		if err := emitStored(b, data[off:end], Member{Name: h.Name, Offset: off}, emit); err != nil {
			return err
		}
		if truncated {
			return Corrupt("tar", hdrOff, "member %q: %d bytes declared, %d present", h.Name, h.Size, end-off)
		}
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
