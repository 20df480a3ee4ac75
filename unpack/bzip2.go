package unpack

import (
	"compress/bzip2"
	"context"

	"github.com/glassav/glassav/filetype"
)

// bzip2Format opens bzip2 streams; concatenated streams form one member,
// as bunzip2 writes them.
func bzip2Format() *Format {
	return &Format{Name: "bzip2", Types: []filetype.Type{filetype.BZ}, Unpack: unpackBzip2}
}

func unpackBzip2(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	return emitRead(ctx, b, bzip2.NewReader(bytesReader(data)), int64(len(data)), Member{Offset: -1}, "bzip2", -1, emit)
}
