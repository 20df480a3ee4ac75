package exe

import (
	"encoding/binary"
	"fmt"
)

// Limits ClamAV applies to Mach-O headers.
const (
	machoMaxCommands = 1024
	machoMaxSegSects = 255
	machoMaxSections = 1<<16 - 1 // ClamAV keeps the count in 16 bits
	machoMaxFatArchs = 32
)

func machoErr(format string, args ...any) error {
	return fmt.Errorf("%w: Mach-O: %s", ErrFormat, fmt.Sprintf(format, args...))
}

func isMachOMagic(b []byte) bool {
	switch string(b[:4]) {
	case "\xfe\xed\xfa\xce", "\xce\xfa\xed\xfe", "\xfe\xed\xfa\xcf", "\xcf\xfa\xed\xfe":
		return true
	}
	return false
}

// parseMachO follows ClamAV's Mach-O header parser. Sections come from the
// segment commands (LC_SEGMENT in 32-bit files, LC_SEGMENT_64 in 64-bit
// ones); a section's raw size is its size rounded up to its alignment. The
// entry point is read only from the LC_THREAD/LC_UNIXTHREAD state of
// PowerPC binaries (ClamAV reads, but does not use, the x86 state, and
// ignores LC_MAIN), so Intel and ARM binaries have entry point 0. The entry
// address maps to a file offset through the first section holding it; with
// no sections it stays the virtual address, as in ClamAV.
func parseMachO(data []byte) (*Info, error) {
	var bo binary.ByteOrder = binary.LittleEndian
	if data[0] == 0xfe {
		bo = binary.BigEndian
	}
	m64 := data[3] == 0xcf || data[0] == 0xcf
	r := reader{data, bo}
	if len(data) < 28 {
		return nil, machoErr("truncated header")
	}
	cpu, _ := r.u32(4)
	ncmds, _ := r.u32(16)
	at := uint64(28)
	if m64 {
		at += 4
	}
	arch := 0
	switch cpu {
	case 7:
		arch = 1 // x86
	case 18:
		arch = 2 // PowerPC
	case 18 | 0x1000000:
		arch = 3 // PowerPC 64
	}
	if ncmds == 0 || ncmds > machoMaxCommands {
		return nil, machoErr("%d load commands", ncmds)
	}
	info := &Info{Format: MachO}
	var ep uint32
	for i := uint32(0); i < ncmds; i++ {
		if !r.has(at, 8) {
			return nil, machoErr("truncated load command %d", i)
		}
		cmd, _ := r.u32(at)
		cmdsize, _ := r.u32(at + 4)
		at += 8
		switch {
		case m64 && cmd == 0x19 || !m64 && cmd == 0x1:
			segSize, secSize := uint64(48), uint64(68)
			if m64 {
				segSize, secSize = 64, 80
			}
			if !r.has(at, segSize) {
				return nil, machoErr("truncated segment command")
			}
			nsects, _ := r.u32(at + segSize - 8)
			at += segSize
			if nsects > machoMaxSegSects {
				return nil, machoErr("%d sections in a segment", nsects)
			}
			for j := uint32(0); j < nsects; j++ {
				if !r.has(at, secSize) {
					return nil, machoErr("truncated section")
				}
				name := cstring(data[at : at+16])
				var addr, size, off, align uint32
				if m64 {
					a, _ := r.u64(at + 32)
					s, _ := r.u64(at + 40)
					addr, size = uint32(a), uint32(s)
					off, _ = r.u32(at + 48)
					al, _ := r.u32(at + 52)
					align = 1 << (al & 31) // ClamAV shifts a 32-bit int
				} else {
					addr, _ = r.u32(at + 32)
					size, _ = r.u32(at + 36)
					off, _ = r.u32(at + 40)
					al, _ := r.u32(at + 44)
					if al >= 31 {
						return nil, machoErr("section alignment 2^%d", al)
					}
					align = 1 << al
				}
				at += secSize
				rsz := size + (align-size%align)%align
				if len(info.Sections) >= machoMaxSections {
					return nil, machoErr("too many sections")
				}
				info.Sections = append(info.Sections, Section{
					Name:           name,
					VirtualAddress: int64(addr),
					VirtualSize:    int64(size),
					Offset:         int64(off),
					Size:           int64(rsz),
				})
			}
		case arch != 0 && (cmd == 0x4 || cmd == 0x5):
			at += 8 // flavor and count
			switch arch {
			case 1:
				if !r.has(at, 64) {
					return nil, machoErr("truncated x86 thread state")
				}
				at += 64
			case 2:
				if !r.has(at, 160) {
					return nil, machoErr("truncated PowerPC thread state")
				}
				ep, _ = r.u32(at)
				at += 160
			case 3:
				if !r.has(at, 312) {
					return nil, machoErr("truncated PowerPC64 thread state")
				}
				pc, _ := r.u64(at)
				ep = uint32(pc)
				at += 312
			}
		default:
			if cmdsize > 8 {
				at += uint64(cmdsize) - 8
			}
		}
	}
	if ep != 0 && len(info.Sections) > 0 {
		found := false
		for _, s := range info.Sections {
			rva, vsz := uint32(s.VirtualAddress), uint32(s.VirtualSize)
			if rva <= ep && rva+vsz > ep {
				ep = ep - rva + uint32(s.Offset)
				found = true
				break
			}
		}
		if !found {
			return nil, machoErr("entry point in no section")
		}
	}
	info.EntryPoint = int64(ep)
	return info, nil
}

// FatArch is one architecture of a Mach-O universal binary.
type FatArch struct {
	CPUType, CPUSubtype uint32
	Offset, Size        uint32
}

// FatArches lists the architectures of a Mach-O universal binary the way
// ClamAV walks them (each is scanned as an object of its own). A header
// whose count looks like a Java class version (≥ 39 in its low 16 bits)
// yields no architectures and no error: ClamAV leaves such files alone.
func FatArches(data []byte) ([]FatArch, error) {
	if len(data) < 8 {
		return nil, machoErr("truncated universal header")
	}
	var bo binary.ByteOrder
	switch string(data[:4]) {
	case "\xca\xfe\xba\xbe":
		bo = binary.BigEndian
	case "\xbe\xba\xfe\xca":
		bo = binary.LittleEndian
	default:
		return nil, ErrUnknown
	}
	r := reader{data, bo}
	n, _ := r.u32(4)
	if n&0xffff >= 39 {
		return nil, nil
	}
	if n > machoMaxFatArchs {
		return nil, machoErr("%d architectures", n)
	}
	out := make([]FatArch, 0, n)
	for i := uint64(0); i < uint64(n); i++ {
		at := 8 + i*20
		if !r.has(at, 20) {
			return nil, machoErr("truncated architecture %d", i)
		}
		var a FatArch
		a.CPUType, _ = r.u32(at)
		a.CPUSubtype, _ = r.u32(at + 4)
		a.Offset, _ = r.u32(at + 8)
		a.Size, _ = r.u32(at + 12)
		out = append(out, a)
	}
	return out, nil
}
