package unpack

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/glassav/glassav/filetype"
)

// cpioFormat opens cpio archives in their four encodings: old binary
// (either byte order), portable ASCII "odc" (070707), and SVR4 "newc"
// (070701) with or without checksums (070702). Regular files are members,
// sliced from the archive as stored; the archive ends at TRAILER!!!.
func cpioFormat() *Format {
	return &Format{
		Name:   "cpio",
		Types:  []filetype.Type{filetype.CPIOOld, filetype.CPIOODC, filetype.CPIONewc, filetype.CPIOCRC},
		Unpack: unpackCpio,
	}
}

// cpioHeader is what unpacking needs of one entry's header.
type cpioHeader struct {
	mode     uint32
	nameSize int64
	fileSize int64
	hdrSize  int64 // bytes of the fixed header
	align    int64 // name and data are padded to this (1, 2 or 4)
}

const cpioTrailer = "TRAILER!!!"

func unpackCpio(ctx context.Context, data []byte, b *Budget, emit func(Member) error) error {
	var off int64
	for n := 0; ; n++ {
		if err := b.Check(ctx); err != nil {
			return err
		}
		if off >= int64(len(data)) {
			if n == 0 {
				return Corrupt("cpio", 0, "empty archive")
			}
			return Corrupt("cpio", off, "no trailer")
		}
		h, err := parseCpioHeader(data[off:])
		if err != nil {
			return Corrupt("cpio", off, "%v", err)
		}
		nameOff := off + h.hdrSize
		nameEnd := nameOff + h.nameSize
		if h.nameSize < 1 || nameEnd > int64(len(data)) {
			return Corrupt("cpio", off, "name of %d bytes past the end", h.nameSize)
		}
		name := strings.TrimRight(string(data[nameOff:nameEnd]), "\x00")
		if name == cpioTrailer {
			return nil
		}
		dataOff := pad(nameEnd-off, h.align) + off
		end := dataOff + h.fileSize
		if dataOff > int64(len(data)) {
			return Corrupt("cpio", off, "member %q starts past the end", name)
		}
		truncated := end > int64(len(data)) || h.fileSize < 0
		if truncated {
			end = int64(len(data))
		}
		if h.mode&0o170000 == 0o100000 {
			if err := emitStored(b, data[dataOff:end], Member{Name: name, Offset: dataOff}, emit); err != nil {
				return err
			}
		}
		if truncated {
			return Corrupt("cpio", off, "member %q: %d bytes declared, %d present", name, h.fileSize, end-dataOff)
		}
		off = dataOff + pad(h.fileSize, h.align)
	}
}

// pad rounds n up to a multiple of align.
func pad(n, align int64) int64 {
	return (n + align - 1) / align * align
}

// parseCpioHeader decodes the fixed header at the start of p in whichever
// of the four encodings its magic names.
func parseCpioHeader(p []byte) (cpioHeader, error) {
	var h cpioHeader
	switch {
	case len(p) >= 6 && (string(p[:6]) == "070701" || string(p[:6]) == "070702"):
		// newc: 13 fields of 8 hex digits after the magic.
		const size = 110
		if len(p) < size {
			return h, errShort(size, len(p))
		}
		field := func(i int) (int64, error) {
			v, err := strconv.ParseUint(string(p[6+8*i:14+8*i]), 16, 32)
			return int64(v), err
		}
		mode, err1 := field(1)
		fsize, err2 := field(6)
		nsize, err3 := field(11)
		if err := firstErr(err1, err2, err3); err != nil {
			return h, cpioFieldError("newc", err)
		}
		return cpioHeader{mode: uint32(mode), nameSize: nsize, fileSize: fsize, hdrSize: size, align: 4}, nil
	case len(p) >= 6 && string(p[:6]) == "070707":
		// odc: octal fields; mode at 18, namesize at 59, filesize at 65.
		const size = 76
		if len(p) < size {
			return h, errShort(size, len(p))
		}
		mode, err1 := strconv.ParseUint(string(p[18:24]), 8, 32)
		nsize, err2 := strconv.ParseUint(string(p[59:65]), 8, 32)
		fsize, err3 := strconv.ParseUint(string(p[65:76]), 8, 40)
		if err := firstErr(err1, err2, err3); err != nil {
			return h, cpioFieldError("odc", err)
		}
		return cpioHeader{mode: uint32(mode), nameSize: int64(nsize), fileSize: int64(fsize), hdrSize: size, align: 1}, nil
	case len(p) >= 2 && (p[0] == 0xc7 && p[1] == 0x71 || p[0] == 0x71 && p[1] == 0xc7):
		// Old binary: 13 16-bit words in the writer's byte order; 32-bit
		// values are two words, most significant first.
		const size = 26
		if len(p) < size {
			return h, errShort(size, len(p))
		}
		var bo binary.ByteOrder = binary.LittleEndian
		if p[0] == 0x71 {
			bo = binary.BigEndian
		}
		w := func(i int) int64 { return int64(bo.Uint16(p[2*i:])) }
		return cpioHeader{
			mode:     uint32(w(3)),
			nameSize: w(10),
			fileSize: w(11)<<16 | w(12),
			hdrSize:  size,
			align:    2,
		}, nil
	}
	return h, errBadMagic
}
