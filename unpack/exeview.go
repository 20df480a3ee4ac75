package unpack

import (
	"encoding/binary"

	"github.com/glassav/glassav/exe"
)

// exeView is what the Petite, WWPack and ASPack unpackers read of a
// packed PE32 file, in ClamAV's terms: the sections with their aligned
// bounds (rva, vsz, raw, rsz) and the stored raw size clipped to the file
// (ursz), the entry point both as an RVA (vep) and as a file offset (ep),
// the bytes at the entry point (at most 4 KiB, what ClamAV's packer
// checks look at), the span of the sections' raw data in memory (min,
// max), the image base and the data directories. Headers come from
// exe.ParsePEHeaders (cheap enough for Detect on every executable); only
// the image base, which exe does not report, is read here.
type exeView struct {
	data      []byte
	sections  []exeViewSection
	vep, ep   uint32
	epbuf     []byte
	imageBase uint32
	lfanew    uint32
	min, max  uint32
	dirs      []exe.DataDir
}

// exeViewSection is one section as ClamAV's unpackers see it.
type exeViewSection struct {
	rva, vsz, raw, rsz, ursz uint32
}

// exeEPBuf is how many bytes at the entry point the packer checks read.
const exeEPBuf = 4096

// viewExe parses data as a PE32 file, or returns nil when it is not one
// (PE32+ files are not packed by these packers).
func viewExe(data []byte) *exeView {
	info, err := exe.ParsePEHeaders(data)
	if err != nil || info.Format != exe.PE || info.PE.Is64 || len(info.Sections) == 0 {
		return nil
	}
	le := binary.LittleEndian
	lfanew := le.Uint32(data[0x3c:]) // exe.Parse read it
	opt := uint64(lfanew) + 24       // the optional header
	if opt+32 > uint64(len(data)) {  // cannot happen after exe.Parse
		return nil
	}
	v := &exeView{
		data:      data,
		vep:       info.PE.EntryRVA,
		ep:        uint32(info.EntryPoint),
		imageBase: le.Uint32(data[opt+28:]),
		lfanew:    lfanew,
		dirs:      info.PE.DataDirs,
		sections:  make([]exeViewSection, len(info.Sections)),
	}
	for i, s := range info.Sections {
		h := info.PE.Headers[i]
		vs := exeViewSection{rva: uint32(s.VirtualAddress), vsz: uint32(s.VirtualSize), raw: uint32(s.Offset), rsz: uint32(s.Size)}
		// The stored size clipped to the file, as exe clips the aligned
		// one (zero when the aligned section starts past the end).
		if vs.rsz != 0 {
			vs.ursz = h.SizeOfRawData
			if end := uint64(h.PointerToRawData) + uint64(vs.ursz); end > uint64(len(data)) {
				vs.ursz = uint32(uint64(len(data)) - uint64(h.PointerToRawData))
			}
		}
		v.sections[i] = vs
		if i == 0 || vs.rva < v.min {
			v.min = vs.rva
		}
		if end := vs.rva + vs.rsz; i == 0 || end > v.max {
			v.max = end
		}
	}
	v.epbuf = data[v.ep:min(uint64(len(data)), uint64(v.ep)+exeEPBuf)]
	return v
}

// last returns the last section.
func (v *exeView) last() exeViewSection { return v.sections[len(v.sections)-1] }

// dir returns data directory i, or zeros.
func (v *exeView) dir(i int) exe.DataDir {
	if i < len(v.dirs) {
		return v.dirs[i]
	}
	return exe.DataDir{}
}

// epAt reports whether the entry point bytes at off start with s.
func (v *exeView) epAt(off int, s string) bool {
	return off >= 0 && off+len(s) <= len(v.epbuf) && string(v.epbuf[off:off+len(s)]) == s
}

// epU32 reads a little-endian word of the entry point bytes at off; ok is
// false past their end.
func (v *exeView) epU32(off int) (uint32, bool) {
	if off < 0 || off+4 > len(v.epbuf) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(v.epbuf[off:]), true
}

// inImage reports whether [off, off+n) lies inside a buffer of size size,
// with n > 0: ClamAV's containment test, in 64 bits so that no operand
// wraps.
func inImage(size int, off int64, n int64) bool {
	return n > 0 && off >= 0 && off+n <= int64(size)
}
