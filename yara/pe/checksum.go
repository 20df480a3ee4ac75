package pe

// CalculateChecksum computes the PE checksum of the file as yara's
// pe.calculate_checksum() does: the 32-bit words of the data summed with
// end-around carry, skipping the CheckSum field when it is word-aligned,
// the trailing bytes added as a partial word, folded to 16 bits, plus the
// file size.
func (f *File) CalculateChecksum() int64 {
	d := f.data
	size := uint64(len(d))
	csumOff := uint64(f.optOff() + 64)
	var csum uint64
	for i := uint64(0); i <= size/4; i++ {
		if 4*i == csumOff {
			continue
		}
		if 4*i+4 <= size {
			csum += uint64(le.Uint32(d[4*i:]))
		} else {
			for j := uint64(0); j < size%4; j++ {
				csum += uint64(d[4*i+j]) << (8 * j)
			}
		}
		if csum > 0xffffffff {
			csum = (csum & 0xffffffff) + (csum >> 32)
		}
	}
	csum = (csum & 0xffff) + (csum >> 16)
	csum += csum >> 16
	csum &= 0xffff
	csum += size
	return int64(csum)
}
