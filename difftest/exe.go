package difftest

import (
	"bytes"
	"debug/elf"
	"debug/pe"
	"errors"
	"fmt"
)

// Exe is the layout of a PE or ELF file as ClamAV's offset forms see it:
// the entry point and section starts as file offsets.
type Exe struct {
	Format   string // "pe" or "elf"
	PE64     bool   // PE32+ image
	EP       int64  // entry point as a file offset; -1 when it maps to no file byte
	EPRaw    uint64 // entry point as stored in the header (RVA for PE, vaddr for ELF)
	Sections []Section
}

// Section is one section's raw extent in the file.
type Section struct {
	Name string
	Off  int64 // file offset of its first byte
	Size int64 // raw size (bytes present in the file)
}

// Target returns the ClamAV target type for the format: 1 (PE) or 6 (ELF).
func (e *Exe) Target() int {
	if e.Format == "pe" {
		return 1
	}
	return 6
}

// ParseExe reads the layout of a PE or ELF image. For PE it aligns raw
// section offsets down to the file alignment, as the Windows loader (and
// ClamAV) do, and maps the entry point RVA through the section table.
func ParseExe(data []byte) (*Exe, error) {
	switch {
	case bytes.HasPrefix(data, []byte("MZ")):
		return parsePE(data)
	case bytes.HasPrefix(data, []byte("\x7fELF")):
		return parseELF(data)
	}
	return nil, errors.New("not PE or ELF")
}

func parsePE(data []byte) (*Exe, error) {
	f, err := pe.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("pe: %w", err)
	}
	e := &Exe{Format: "pe", EP: -1}
	var falign uint32
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		e.EPRaw = uint64(oh.AddressOfEntryPoint)
		falign = oh.FileAlignment
	case *pe.OptionalHeader64:
		e.PE64 = true
		e.EPRaw = uint64(oh.AddressOfEntryPoint)
		falign = oh.FileAlignment
	default:
		return nil, errors.New("pe: no optional header (object file)")
	}
	if falign == 0 || falign&(falign-1) != 0 || falign < 0x200 {
		falign = 1 // not a usable alignment: take offsets as written
	}
	for _, s := range f.Sections {
		off := int64(s.Offset) &^ int64(falign-1)
		size := int64(s.Size)
		if off+size > int64(len(data)) {
			size = max(0, int64(len(data))-off)
		}
		e.Sections = append(e.Sections, Section{Name: s.Name, Off: off, Size: size})
		if uint64(s.VirtualAddress) <= e.EPRaw && e.EPRaw < uint64(s.VirtualAddress)+uint64(max(s.VirtualSize, s.Size)) {
			if d := int64(e.EPRaw - uint64(s.VirtualAddress)); d < size {
				e.EP = off + d
			}
		}
	}
	if len(e.Sections) == 0 {
		return nil, errors.New("pe: no sections")
	}
	e.clamp(int64(len(data)))
	return e, nil
}

func parseELF(data []byte) (*Exe, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("elf: %w", err)
	}
	e := &Exe{Format: "elf", EP: -1, EPRaw: f.Entry}
	for _, p := range f.Progs {
		if p.Vaddr <= f.Entry && f.Entry < p.Vaddr+p.Filesz {
			e.EP = int64(p.Off + (f.Entry - p.Vaddr))
			break
		}
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL && s.Offset == 0 {
			e.Sections = append(e.Sections, Section{Name: s.Name, Off: int64(s.Offset), Size: 0})
			continue
		}
		size := int64(s.Size)
		if int64(s.Offset)+size > int64(len(data)) {
			size = max(0, int64(len(data))-int64(s.Offset))
		}
		e.Sections = append(e.Sections, Section{Name: s.Name, Off: int64(s.Offset), Size: size})
	}
	if len(e.Sections) == 0 {
		return nil, errors.New("elf: no sections")
	}
	e.clamp(int64(len(data)))
	return e, nil
}

// clamp keeps every extent inside a file of n bytes, whatever the headers
// claim, so callers can slice the data with them.
func (e *Exe) clamp(n int64) {
	for i := range e.Sections {
		s := &e.Sections[i]
		if s.Off < 0 || s.Off > n {
			s.Off, s.Size = n, 0
		}
		s.Size = max(0, min(s.Size, n-s.Off))
	}
	if e.EP < 0 || e.EP >= n {
		e.EP = -1
	}
}
