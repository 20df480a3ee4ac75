package elf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// tiny builds a minimal ELF file of the given class and byte order with
// one section header table (null, .text, .shstrtab, .symtab, .strtab)
// and one PT_LOAD program header covering the file.
func tiny(class, data byte, typ uint16) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	if data == DataMSB {
		bo = binary.BigEndian
	}
	lay := layouts[class]
	is64 := class == Class64
	shstr := []byte("\x00.text\x00.shstrtab\x00.symtab\x00.strtab\x00")
	strtab := []byte("\x00main\x00data\x00")
	text := []byte{0x90, 0x90, 0xc3}
	b := make([]byte, lay.header)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = class, data, 1
	put := func(off int, v uint64, size int) {
		switch size {
		case 2:
			bo.PutUint16(b[off:], uint16(v))
		case 4:
			bo.PutUint32(b[off:], uint32(v))
		case 8:
			bo.PutUint64(b[off:], v)
		}
	}
	w := 4
	if is64 {
		w = 8
	}
	phoff := len(b)
	b = append(b, make([]byte, lay.phdr)...)
	textOff := len(b)
	b = append(b, text...)
	shstrOff := len(b)
	b = append(b, shstr...)
	strOff := len(b)
	b = append(b, strtab...)
	symOff := len(b)
	b = append(b, make([]byte, 3*lay.sym)...)
	shoff := len(b)
	b = append(b, make([]byte, 5*lay.shdr)...)
	const vaddr = 0x400000
	put(16, uint64(typ), 2)
	put(18, 62, 2)
	put(20, 1, 4)
	put(24, vaddr+uint64(textOff), w)
	if is64 {
		put(32, uint64(phoff), 8)
		put(40, uint64(shoff), 8)
		put(54, uint64(lay.phdr), 2)
		put(56, 1, 2)
		put(58, uint64(lay.shdr), 2)
		put(60, 5, 2)
		put(62, 2, 2)
		// PT_LOAD
		put(phoff, 1, 4)
		put(phoff+4, 5, 4)
		put(phoff+16, vaddr, 8)
		put(phoff+24, vaddr, 8)
		put(phoff+32, uint64(len(b)), 8)
		put(phoff+40, uint64(len(b)), 8)
	} else {
		put(28, uint64(phoff), 4)
		put(32, uint64(shoff), 4)
		put(42, uint64(lay.phdr), 2)
		put(44, 1, 2)
		put(46, uint64(lay.shdr), 2)
		put(48, 5, 2)
		put(50, 2, 2)
		put(phoff, 1, 4)
		put(phoff+8, vaddr, 4)
		put(phoff+12, vaddr, 4)
		put(phoff+16, uint64(len(b)), 4)
		put(phoff+20, uint64(len(b)), 4)
		put(phoff+24, 5, 4)
	}
	sec := func(i int, name, typ uint32, off, size uint64, link uint32) {
		o := shoff + i*lay.shdr
		put(o, uint64(name), 4)
		put(o+4, uint64(typ), 4)
		if typ == 1 { // .text is loaded at its offset from vaddr
			if is64 {
				put(o+16, vaddr+off, 8)
			} else {
				put(o+12, vaddr+off, 4)
			}
		}
		if is64 {
			put(o+24, off, 8)
			put(o+32, size, 8)
			put(o+40, uint64(link), 4)
		} else {
			put(o+16, off, 4)
			put(o+20, size, 4)
			put(o+24, uint64(link), 4)
		}
	}
	sec(1, 1, 1, uint64(textOff), uint64(len(text)), 0)
	sec(2, 7, shtStrtab, uint64(shstrOff), uint64(len(shstr)), 0)
	sec(3, 17, shtSymtab, uint64(symOff), uint64(3*lay.sym), 4)
	sec(4, 25, shtStrtab, uint64(strOff), uint64(len(strtab)), 0)
	// Symbols 1 (main, global function) and 2 (data, local object).
	for i, s := range []struct {
		name uint32
		info byte
	}{{1, 0x12}, {6, 0x01}} {
		o := symOff + (i+1)*lay.sym
		put(o, uint64(s.name), 4)
		if is64 {
			b[o+4] = s.info
			put(o+6, 1, 2)
			put(o+8, vaddr+uint64(textOff), 8)
		} else {
			put(o+4, vaddr+uint64(textOff), 4)
			b[o+12] = s.info
			put(o+14, 1, 2)
		}
	}
	return b
}

func TestParseTiny(t *testing.T) {
	for _, tt := range []struct {
		class, data byte
		typ         uint16
	}{
		{Class64, DataLSB, TypeExec}, {Class32, DataLSB, TypeExec}, {Class64, DataMSB, TypeExec},
		{Class32, DataMSB, 3}, {Class64, DataLSB, 3},
	} {
		b := tiny(tt.class, tt.data, tt.typ)
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		if len(f.Sections) != 5 || string(f.Sections[1].Name) != ".text" || string(f.Sections[4].Name) != ".strtab" {
			t.Errorf("%+v: sections %+v", tt, f.Sections)
		}
		if !f.HasEntryPoint || f.EntryPoint != uint64(layouts[tt.class].header+layouts[tt.class].phdr) {
			t.Errorf("%+v: entry point %d (%v)", tt, f.EntryPoint, f.HasEntryPoint)
		}
		if !f.HasSymtab || len(f.Symtab) != 3 || string(f.Symtab[1].Name) != "main" ||
			f.Symtab[1].Bind != 1 || f.Symtab[1].Type != 2 || string(f.Symtab[2].Name) != "data" {
			t.Errorf("%+v: symbols %+v", tt, f.Symtab)
		}
		if len(f.Segments) != 1 || f.Segments[0].Type != 1 || f.Segments[0].Flags != 5 {
			t.Errorf("%+v: segments %+v", tt, f.Segments)
		}
		if f.HasDynsym || f.HasDynamic {
			t.Errorf("%+v: dynsym or dynamic set", tt)
		}
		// Go's reader agrees on the sections and symbols.
		g, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%+v: debug/elf: %v", tt, err)
		}
		for i, s := range g.Sections {
			if s.Name != string(f.Sections[i].Name) || s.Offset != f.Sections[i].Offset {
				t.Errorf("%+v: section %d: debug/elf %q@%d, ours %q@%d", tt, i, s.Name, s.Offset, f.Sections[i].Name, f.Sections[i].Offset)
			}
		}
	}
}

// TestParseReject checks what is not an ELF file yara parses.
func TestParseReject(t *testing.T) {
	for _, b := range [][]byte{
		nil, []byte("\x7fELF"), append([]byte("\x7fELF\x03\x01"), make([]byte, 100)...),
		append([]byte("\x7fELF\x01\x03"), make([]byte, 100)...),
		append([]byte("\x7fELF\x02\x01"), make([]byte, 58)...), // exactly the header: yara wants more
	} {
		if _, err := Parse(b); err != ErrFormat {
			t.Errorf("%q: err %v", b, err)
		}
	}
}

// TestParseTruncated cuts a file at every length: no panic, and tables
// that no longer fit are dropped, never read past the end.
func TestParseTruncated(t *testing.T) {
	b := tiny(Class64, DataLSB, TypeExec)
	for n := range b {
		f, err := Parse(b[:n:n])
		if err != nil {
			continue
		}
		if f.HasSectionTable && n < int(f.ShOff)+5*64 {
			t.Errorf("%d bytes: section table read past the end", n)
		}
	}
}

// TestParseSystem parses the system's programs: no error on ELF files and
// section names as debug/elf reads them.
func TestParseSystem(t *testing.T) {
	ms, _ := filepath.Glob("/usr/bin/[a-d]*")
	n := 0
	for _, m := range ms {
		b, err := os.ReadFile(m)
		if err != nil || !IsELF(b) || len(b) > 8<<20 {
			continue
		}
		f, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		g, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			continue
		}
		for i, s := range g.Sections {
			if s.Name != string(f.Sections[i].Name) {
				t.Errorf("%s: section %d: %q, debug/elf %q", m, i, f.Sections[i].Name, s.Name)
			}
		}
		n++
	}
	if n == 0 {
		t.Skip("no ELF programs in /usr/bin")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(tiny(Class64, DataLSB, TypeExec))
	f.Add(tiny(Class32, DataMSB, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		f, err := Parse(b)
		if err != nil {
			return
		}
		// Tables are bounded by the input.
		if len(f.Symtab)+len(f.Dynsym)+len(f.Dynamic)+len(f.Sections)+len(f.Segments) > len(b) {
			t.Fatalf("%d entries from %d bytes", len(f.Symtab)+len(f.Dynsym)+len(f.Dynamic), len(b))
		}
	})
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("/usr/bin/ls")
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
