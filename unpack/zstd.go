package unpack

import (
	"context"

	"github.com/klauspost/compress/zstd"
)

// zstdFormat opens Zstandard frames (RFC 8878). ClamAV 1.4 has no type for
// them, so the format is found by the frame magic. Concatenated frames
// form one member, as zstd -d writes them.
func zstdFormat() *Format {
	return &Format{Name: "zstd", Magic: []string{"\x28\xb5\x2f\xfd"}, Unpack: unpackZstd}
}

// zstdMaxWindow bounds the window a frame may ask for: zstd --ultra -22
// uses 128 MiB; larger windows are refused rather than allocated.
const zstdMaxWindow = 128 << 20

func unpackZstd(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	zr, err := zstd.NewReader(bytesReader(data),
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(zstdMaxWindow))
	if err != nil {
		return Corrupt("zstd", 0, "%v", err)
	}
	defer zr.Close()
	return emitRead(ctx, b, zr, int64(len(data)), Member{Offset: -1}, "zstd", -1, emit)
}
