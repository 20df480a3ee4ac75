package dotnet

import "encoding/binary"

// This file holds the little of the PE format the dotnet module needs,
// read as yara 4.2.3's PE helpers read it (pe_get_header,
// pe_get_directory_entry, pe_rva_to_offset), so that a file yara does not
// take for a PE is not one here either and every RVA lands on the same
// file offset.

const (
	dosHeaderSize   = 64
	fileHeaderSize  = 20
	optHeader32Size = 224 // with its 16 data directories
	optHeader64Size = 240
	sectionSize     = 40
	maxSections     = 96 // yara's MAX_PE_SECTIONS

	dirCOMDescriptor = 14
	numDirEntries    = 16
)

// image is a PE file as yara's helpers see it.
type image struct {
	data   []byte
	nt     int64 // offset of the "PE\0\0" signature
	is64   bool
	optOff int64 // offset of the optional header
}

// fits reports whether size bytes at off lie inside data: yara's
// fits_in_pe, which accepts an empty range at the very end.
func fits(data []byte, off, size int64) bool {
	n := int64(len(data))
	return size >= 0 && size <= n && off >= 0 && off <= n-size
}

func u16(b []byte, off int64) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int64) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func u64(b []byte, off int64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// isPE reports quickly whether data starts like a PE file (the MZ magic),
// before any other work.
func isPE(data []byte) bool {
	return len(data) >= dosHeaderSize && data[0] == 'M' && data[1] == 'Z'
}

// newImage checks the headers as pe_get_header does and returns ok false
// when yara would not take data for a PE file.
func newImage(data []byte) (im image, ok bool) {
	if !isPE(data) {
		return im, false
	}
	lfanew := int32(u32(data, 0x3c))
	if lfanew < 0 {
		return im, false
	}
	nt := int64(lfanew)
	n := int64(len(data))
	hs := nt + 4 + fileHeaderSize
	if n < hs {
		return im, false
	}
	if u32(data, nt) != 0x00004550 {
		return im, false
	}
	if n < hs+optHeader32Size {
		return im, false
	}
	is64 := u16(data, hs) == 0x20b
	if is64 {
		hs += optHeader64Size
	} else {
		hs += optHeader32Size
	}
	if n < hs {
		return im, false
	}
	return image{data: data, nt: nt, is64: is64, optOff: nt + 4 + fileHeaderSize}, true
}

// directory returns the RVA and size of data directory entry, or ok false
// when the entry starts past the end of the optional header (yara does not
// trust NumberOfRvaAndSizes, only SizeOfOptionalHeader).
func (im *image) directory(entry int) (rva, size uint32, ok bool) {
	if entry >= numDirEntries {
		return 0, 0, false
	}
	start := im.optOff + 96
	if im.is64 {
		start = im.optOff + 112
	}
	optSize := int64(u16(im.data, im.nt+4+16))
	at := start + int64(entry)*8
	if at > im.optOff+optSize {
		return 0, 0, false
	}
	// newImage guaranteed the whole optional header is inside data.
	return u32(im.data, at), u32(im.data, at+4), true
}

// numberOfRvaAndSizes is the optional header's count of data directories.
func (im *image) numberOfRvaAndSizes() uint32 {
	if im.is64 {
		return u32(im.data, im.optOff+108)
	}
	return u32(im.data, im.optOff+92)
}

// rvaToOffset maps an RVA to a file offset as pe_rva_to_offset does, or
// returns -1: the last section (in table order) whose virtual range holds
// the RVA wins unless an earlier one starts higher, the raw pointer is
// rounded down to the file alignment (capped at 0x200), anything below the
// lowest section maps to itself, and the result must fall inside the raw
// data and the file.
func (im *image) rvaToOffset(rva uint64) int64 {
	data := im.data
	nsec := int(u16(data, im.nt+4+2))
	sec := im.optOff + int64(u16(data, im.nt+4+16))
	lowest := uint32(0xffffffff)
	var secRVA, secOff, secRaw uint32
	align := u32(data, im.optOff+36)
	for i := 0; i < min(nsec, maxSections); i++ {
		if !fits(data, sec, sectionSize) {
			return -1
		}
		va := u32(data, sec+12)
		vsize := u32(data, sec+8)
		if lowest > va {
			lowest = va
		}
		if rva >= uint64(va) && rva-uint64(va) < uint64(vsize) && secRVA <= va {
			a := min(align, 0x200)
			secRVA = va
			secOff = u32(data, sec+20)
			secRaw = u32(data, sec+16)
			if a != 0 {
				secOff -= secOff % a
			}
		}
		sec += sectionSize
	}
	if rva < uint64(lowest) {
		secRVA, secOff, secRaw = 0, 0, uint32(len(data))
	}
	if rva-uint64(secRVA) >= uint64(secRaw) {
		return -1
	}
	res := int64(uint64(secOff) + (rva - uint64(secRVA)))
	if res >= int64(len(data)) || res < 0 {
		return -1
	}
	return res
}
