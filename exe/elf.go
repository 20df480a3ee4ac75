package exe

import (
	"encoding/binary"
	"fmt"
)

// Limits ClamAV applies to ELF headers when resolving signature offsets:
// more program headers or sections than these and it gives up on the file.
const (
	elfMaxProgHeaders = 128
	elfMaxSections    = 256
)

func elfErr(format string, args ...any) error {
	return fmt.Errorf("%w: ELF: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// parseELF follows ClamAV's ELF header parser. The entry point maps through
// the first program header of any type whose memory range holds it; an ELF
// without program headers or with a zero entry has entry point 0. Sections
// come from the section headers, all of them (the null section included),
// with sh_offset and sh_size as their raw range. Like ClamAV, it keeps
// offsets and sizes in 32 bits, even for ELF64.
func parseELF(data []byte) (*Info, error) {
	if len(data) < 52 {
		return nil, elfErr("truncated file header")
	}
	var is64 bool
	switch data[4] {
	case 1:
	case 2:
		is64 = true
	default:
		return nil, elfErr("unknown class %d", data[4])
	}
	var bo binary.ByteOrder = binary.BigEndian
	if data[5] == 1 {
		bo = binary.LittleEndian
	}
	r := reader{data, bo}
	var entry, phoff, shoff uint64
	var phentsize, phnum, shentsize, shnum uint16
	if is64 {
		if len(data) < 64 {
			return nil, elfErr("truncated file header")
		}
		entry, _ = r.u64(24)
		phoff, _ = r.u64(32)
		shoff, _ = r.u64(40)
		phentsize, _ = r.u16(54)
		phnum, _ = r.u16(56)
		shentsize, _ = r.u16(58)
		shnum, _ = r.u16(60)
	} else {
		e, _ := r.u32(24)
		p, _ := r.u32(28)
		s, _ := r.u32(32)
		entry, phoff, shoff = uint64(e), uint64(p), uint64(s)
		phentsize, _ = r.u16(42)
		phnum, _ = r.u16(44)
		shentsize, _ = r.u16(46)
		shnum, _ = r.u16(48)
	}
	info := &Info{Format: ELF}

	if phnum > elfMaxProgHeaders {
		return nil, elfErr("%d program headers", phnum)
	}
	if phnum != 0 && entry != 0 {
		size := uint16(32)
		if is64 {
			size = 56
		}
		if phentsize != size {
			return nil, elfErr("program header size %d", phentsize)
		}
		found := false
		for i := uint64(0); i < uint64(phnum); i++ {
			at := phoff + i*uint64(size)
			if !is64 {
				at = uint64(uint32(phoff) + uint32(i)*32) // ClamAV's offset is 32-bit
			}
			if !r.has(at, uint64(size)) {
				return nil, elfErr("truncated program header %d", i)
			}
			if found {
				continue // ClamAV reads them all before mapping
			}
			var vaddr, memsz, off uint64
			if is64 {
				off, _ = r.u64(at + 8)
				vaddr, _ = r.u64(at + 16)
				memsz, _ = r.u64(at + 40)
				if vaddr <= entry && vaddr+memsz > entry {
					info.EntryPoint = int64(uint32(entry - vaddr + off))
					found = true
				}
			} else {
				o, _ := r.u32(at + 4)
				v, _ := r.u32(at + 8)
				m, _ := r.u32(at + 20)
				e := uint32(entry)
				if v <= e && v+m > e {
					info.EntryPoint = int64(e - v + o)
					found = true
				}
			}
		}
		if !found {
			return nil, elfErr("entry point 0x%x in no segment", entry)
		}
	}

	if shnum > elfMaxSections {
		return nil, elfErr("%d sections", shnum)
	}
	size := uint16(40)
	if is64 {
		size = 64
	}
	if shentsize != size {
		return nil, elfErr("section header size %d", shentsize)
	}
	info.Sections = make([]Section, 0, shnum)
	for i := uint64(0); i < uint64(shnum); i++ {
		at := shoff + i*uint64(size)
		if !is64 {
			at = uint64(uint32(shoff) + uint32(i)*40)
		}
		if !r.has(at, uint64(size)) {
			return nil, elfErr("truncated section header %d", i)
		}
		var addr, off, sz uint64
		if is64 {
			addr, _ = r.u64(at + 16)
			off, _ = r.u64(at + 24)
			sz, _ = r.u64(at + 32)
		} else {
			a, _ := r.u32(at + 12)
			o, _ := r.u32(at + 16)
			s, _ := r.u32(at + 20)
			addr, off, sz = uint64(a), uint64(o), uint64(s)
		}
		info.Sections = append(info.Sections, Section{
			VirtualAddress: int64(uint32(addr)),
			Offset:         int64(uint32(off)),
			Size:           int64(uint32(sz)),
		})
	}
	return info, nil
}
