package pe

// CodeView record signatures.
const (
	cvPDB20 = 0x3031424e // "NB10"
	cvPDB70 = 0x53445352 // "RSDS"
	cvMTOC  = 0x434f544d // "MTOC"

	debugDirSize      = 28
	debugTypeCodeView = 2
)

// parseDebug finds the PDB path of the first CodeView debug record that
// has one, as yara does: the record is found by RVA, or by file offset
// when the RVA is zero or maps nowhere; the path must be 1 to 259 bytes
// before a NUL or the end of the data.
func (f *File) parseDebug() {
	dir, ok := f.Directory(6)
	if !ok || dir.Size == 0 || dir.Size%debugDirSize != 0 || dir.VirtualAddress == 0 {
		return
	}
	base := f.RVAToOffset(uint64(dir.VirtualAddress))
	if base < 0 {
		return
	}
	n := int64(dir.Size / debugDirSize)
	pathAt := int64(-1)
	for i := int64(0); i < n; i++ {
		at := base + i*debugDirSize
		if !f.fits(at, debugDirSize) {
			break
		}
		d := f.data[at:]
		if le.Uint32(d[12:]) != debugTypeCodeView {
			continue
		}
		var cv int64
		if rva := le.Uint32(d[20:]); rva != 0 {
			cv = f.RVAToOffset(uint64(rva))
		}
		if raw := le.Uint32(d[24:]); cv <= 0 && raw != 0 {
			cv = int64(raw)
		}
		if cv <= 0 || !f.fits(cv, 8) {
			continue
		}
		switch le.Uint32(f.data[cv:]) {
		case cvPDB20:
			if f.fits(cv, 17) {
				pathAt = cv + 16
			}
		case cvPDB70:
			if f.fits(cv, 25) {
				pathAt = cv + 24
			}
		case cvMTOC:
			if f.fits(cv, 21) {
				pathAt = cv + 20
			}
		}
		// A path found in an earlier record stays in yara's variable and
		// is checked again (and fails again) for a later record.
		if pathAt >= 0 {
			p := f.cstring(pathAt, maxPath)
			if len(p) > 0 && len(p) < maxPath {
				f.PDBPath = p
				return
			}
		}
	}
}
