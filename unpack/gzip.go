package unpack

import (
	"compress/gzip"
	"context"
	"io"

	"github.com/glassav/glassav/filetype"
)

// gzipFormat opens gzip streams (RFC 1952). Concatenated members form one
// stream, as gunzip writes them out as one file, and the member takes the
// name from the first header's FNAME field. Bytes after the last member
// that are not a gzip header are ignored, as gunzip ignores trailing
// garbage (tar.gz files padded with zeros).
func gzipFormat() *Format {
	return &Format{Name: "gzip", Types: []filetype.Type{filetype.GZ}, Unpack: unpackGzip}
}

func unpackGzip(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	sr := &sliceReader{data: data}
	zr, err := gzip.NewReader(sr)
	if err != nil {
		return Corrupt("gzip", 0, "header: %v", err)
	}
	zr.Multistream(false)
	gr := &gzipMembers{zr: zr, sr: sr}
	return emitRead(ctx, b, gr, int64(len(data)), Member{Name: zr.Name, Offset: -1}, "gzip", -1, emit)
}

// gzipMembers reads concatenated gzip members as one stream and stops at
// the first thing after a member that is not a gzip header.
type gzipMembers struct {
	zr *gzip.Reader
	sr *sliceReader
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if err != io.EOF {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
		if len(g.sr.data) == 0 {
			return 0, io.EOF
		}
		if rerr := g.zr.Reset(g.sr); rerr != nil {
			// Trailing bytes that are no gzip member end the stream.
			return 0, io.EOF
		}
		g.zr.Multistream(false)
	}
}

// bytesReader is a reader over data that says it has none left once it is
// done, for decoders that read ahead.
func bytesReader(data []byte) io.Reader {
	return &sliceReader{data: data}
}

type sliceReader struct{ data []byte }

func (r *sliceReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// ReadByte makes sliceReader an io.ByteReader, so flate does not wrap it
// in a bufio.Reader that reads past the stream's end.
func (r *sliceReader) ReadByte() (byte, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	c := r.data[0]
	r.data = r.data[1:]
	return c, nil
}
