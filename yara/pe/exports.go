package pe

// Export is one entry of the export address table.
type Export struct {
	Ordinal uint32 // Base + index, in 32 bits
	// RVA is the entry of the address table as stored, forwarders
	// included (yara 4.3's export_details[i].rva).
	RVA uint32
	// Offset is the file offset of the exported code, -1 when its RVA
	// maps nowhere; HasOffset is false for forwarders, which have a
	// ForwardName instead.
	Offset      int64
	HasOffset   bool
	Name        []byte // nil for an export by ordinal only
	ForwardName []byte // nil unless the RVA points inside the export directory
}

const exportDirSize = 40

// parseExports reads the export directory as yara 4.2.3 does: at most
// MaxExports entries of the address table; an entry's name is found by
// looking for its index in the name-ordinal table (among the first
// NumberOfNames positions); an address inside the export directory is a
// forwarder string. Any table that does not fit leaves the exports empty
// (the timestamp and DLL name already set stay).
func (f *File) parseExports() {
	dir, ok := f.Directory(0)
	if !ok || dir.VirtualAddress == 0 {
		return
	}
	off := f.RVAToOffset(uint64(dir.VirtualAddress))
	if off < 0 || !f.fits(off, exportDirSize) {
		return
	}
	start, size := off, int64(dir.Size)
	d := f.data[off:]
	nFuncs := min(le.Uint32(d[20:]), MaxExports)
	nNames := le.Uint32(d[24:])
	base := le.Uint32(d[16:])
	f.ExportDirectory = true
	f.ExportTimestamp = le.Uint32(d[4:])

	dataLen := uint64(len(f.data))
	nameOff := f.RVAToOffset(uint64(le.Uint32(d[12:])))
	if nameOff > 0 {
		f.DLLName = f.cstring(nameOff, -1)
	}
	// yara compares with the size left after the name's offset, in
	// unsigned arithmetic even when the name maps nowhere (-1).
	if uint64(nFuncs)*4 > dataLen-uint64(nameOff) {
		return
	}
	var names int64 = -1
	if nNames > 0 {
		names = f.RVAToOffset(uint64(le.Uint32(d[32:])))
		if names < 0 || uint64(nNames)*4 > dataLen-uint64(names) {
			return
		}
	}
	ords := f.RVAToOffset(uint64(le.Uint32(d[36:])))
	if ords < 0 || f.space(ords) < 2*int64(nFuncs) {
		return
	}
	funcs := f.RVAToOffset(uint64(le.Uint32(d[28:])))
	if funcs < 0 || f.space(funcs) < 4*int64(nFuncs) {
		return
	}
	nNamed := min(nNames, nFuncs)

	// firstPos[i] is the first position of i in the name-ordinal table
	// (yara searches it for each export), or -1.
	var firstPos []int32
	if names >= 0 {
		firstPos = make([]int32, nFuncs)
		for i := range firstPos {
			firstPos[i] = -1
		}
		for j := int64(nFuncs) - 1; j >= 0; j-- {
			if o := le.Uint16(f.data[ords+2*j:]); uint32(o) < nFuncs {
				firstPos[o] = int32(j)
			}
		}
	}
	f.Exports = make([]Export, nFuncs)
	for i := uint32(0); i < nFuncs; i++ {
		e := &f.Exports[i]
		e.Ordinal = base + i
		e.RVA = le.Uint32(f.data[funcs+4*int64(i):])
		at := f.RVAToOffset(uint64(e.RVA))
		if at > start && at < start+size {
			e.ForwardName = f.cstring(at, maxExportNameLen)
		} else {
			e.Offset, e.HasOffset = at, true
		}
		if firstPos != nil {
			if j := firstPos[i]; j >= 0 && uint32(j) < nNamed {
				if no := f.RVAToOffset(uint64(le.Uint32(f.data[names+4*int64(j):]))); no > 0 {
					e.Name = f.cstring(no, maxExportNameLen)
				}
			}
		}
	}
}
