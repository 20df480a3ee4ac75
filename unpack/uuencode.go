package unpack

import (
	"bytes"
	"context"

	"github.com/glassav/glassav/filetype"
)

// uuencodeFormat opens uuencoded text ("begin 644 name" ... "end"), the
// encoding Unix mailers and Usenet used for binaries before MIME; ClamAV
// types it CL_TYPE_UUENCODED and decodes every block. A block cut short
// (no "end" line) is emitted and then reported corrupt.
func uuencodeFormat() *Format {
	return &Format{
		Name:   "uuencode",
		Types:  []filetype.Type{filetype.UUEncoded},
		Unpack: unpackUU,
	}
}

func unpackUU(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	n := 0
	err := findUU(data, b.Limits().MaxFileSize, func(blk uuBlock) error {
		n++
		if err := emitDecoded(ctx, b, emit, blk.name, blk.data, -1, 0); err != nil {
			return err
		}
		if !blk.ended {
			return Corrupt("uuencode", blk.offset, "block %q has no \"end\" line", blk.name)
		}
		return nil
	})
	if err == nil && n == 0 {
		return Corrupt("uuencode", 0, "no \"begin\" line")
	}
	return err
}

// emitDecoded emits a member whose bytes a text decoder already produced
// from packed bytes of the container (len(decoded) is bounded by them),
// accounting it in the budget. A limit error is returned after emitting
// the part that fits, so a truncated member is still scanned.
func emitDecoded(ctx context.Context, b *Budget, emit func(Member) error, name string, decoded []byte, packed int64, t filetype.Type) error {
	if packed < 0 {
		packed = int64(len(decoded))
	}
	got, err := b.Read(ctx, bytes.NewReader(decoded), packed)
	if got != nil {
		if eerr := emit(Member{Name: name, Data: got, Type: t, Offset: -1}); eerr != nil {
			return eerr
		}
	}
	return err
}
