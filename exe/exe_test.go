package exe

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
)

// peSpec describes a synthetic PE file.
type peSpec struct {
	is64        bool
	entry       uint32
	salign      uint32
	falign      uint32
	hdrSize     uint32
	sections    []PESectionHeader
	importDir   DataDir
	size        int // file size; 0 = just past the last section
	patch       func(b []byte)
	numDataDirs uint32
}

// buildPE lays out a PE: DOS header, PE header at 0x40, optional header,
// section table; section contents are zero unless patch writes them.
func buildPE(s peSpec) []byte {
	le := binary.LittleEndian
	optSize := 96 + 16*8
	if s.is64 {
		optSize = 112 + 16*8
	}
	end := 0x40 + 24 + optSize + 40*len(s.sections)
	for _, h := range s.sections {
		if e := int(h.PointerToRawData) + int(h.SizeOfRawData); e > end && h.PointerToRawData < 1<<24 {
			end = e
		}
	}
	b := make([]byte, max(end, s.size))
	copy(b, "MZ")
	le.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	machine := uint16(0x14c)
	if s.is64 {
		machine = 0x8664
	}
	le.PutUint16(b[0x44:], machine)
	le.PutUint16(b[0x46:], uint16(len(s.sections)))
	le.PutUint16(b[0x54:], uint16(optSize))
	le.PutUint16(b[0x56:], 0x0102)
	o := b[0x58:]
	if s.is64 {
		le.PutUint16(o, 0x20b)
		le.PutUint32(o[108:], 16)
	} else {
		le.PutUint16(o, 0x10b)
		le.PutUint32(o[92:], 16)
	}
	if s.numDataDirs != 0 {
		if s.is64 {
			le.PutUint32(o[108:], s.numDataDirs)
		} else {
			le.PutUint32(o[92:], s.numDataDirs)
		}
	}
	le.PutUint32(o[16:], s.entry)
	le.PutUint32(o[32:], s.salign)
	le.PutUint32(o[36:], s.falign)
	le.PutUint32(o[60:], s.hdrSize)
	dirs := 96
	if s.is64 {
		dirs = 112
	}
	le.PutUint32(o[dirs+8:], s.importDir.VirtualAddress)
	le.PutUint32(o[dirs+12:], s.importDir.Size)
	st := b[0x58+optSize:]
	for i, h := range s.sections {
		e := st[i*40:]
		copy(e, h.Name)
		le.PutUint32(e[8:], h.VirtualSize)
		le.PutUint32(e[12:], h.VirtualAddress)
		le.PutUint32(e[16:], h.SizeOfRawData)
		le.PutUint32(e[20:], h.PointerToRawData)
		le.PutUint32(e[36:], h.Characteristics)
	}
	if s.patch != nil {
		s.patch(b)
	}
	if s.size != 0 {
		b = b[:s.size]
	}
	return b
}

func twoSections() []PESectionHeader {
	return []PESectionHeader{
		{Name: ".text", VirtualSize: 0x1234, VirtualAddress: 0x1000, SizeOfRawData: 0x1400, PointerToRawData: 0x400},
		{Name: ".data", VirtualSize: 0x100, VirtualAddress: 0x3000, SizeOfRawData: 0x200, PointerToRawData: 0x1800},
	}
}

func TestParsePE(t *testing.T) {
	for _, c := range []struct {
		name    string
		spec    peSpec
		ep      int64
		secs    []Section
		wantErr bool
	}{
		{
			name: "plain",
			spec: peSpec{entry: 0x1010, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections()},
			ep:   0x410,
			secs: []Section{
				{".text", 0x1000, 0x2000, 0x400, 0x1400},
				{".data", 0x3000, 0x1000, 0x1800, 0x200},
			},
		},
		{
			name: "pe32+",
			spec: peSpec{is64: true, entry: 0x3004, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections()},
			ep:   0x1804,
			secs: []Section{
				{".text", 0x1000, 0x2000, 0x400, 0x1400},
				{".data", 0x3000, 0x1000, 0x1800, 0x200},
			},
		},
		{
			name: "entry in headers",
			spec: peSpec{entry: 0x80, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections()},
			ep:   0x80,
			secs: []Section{
				{".text", 0x1000, 0x2000, 0x400, 0x1400},
				{".data", 0x3000, 0x1000, 0x1800, 0x200},
			},
		},
		{
			name: "last section clipped to the file",
			spec: peSpec{entry: 0x1000, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections(), size: 0x1900},
			ep:   0x400,
			secs: []Section{
				{".text", 0x1000, 0x2000, 0x400, 0x1400},
				{".data", 0x3000, 0x1000, 0x1800, 0x100},
			},
		},
		{
			name: "section past the end has no raw data",
			spec: peSpec{entry: 0x1000, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections(), size: 0x1800},
			ep:   0x400,
			secs: []Section{
				{".text", 0x1000, 0x2000, 0x400, 0x1400},
				{".data", 0x3000, 0x1000, 0x1800, 0},
			},
		},
		{
			name: "misaligned raw pointer falls back to 512",
			spec: peSpec{entry: 0x1000, salign: 0x1000, falign: 0x1000, hdrSize: 0x400, sections: twoSections()},
			ep:   0x400,
			secs: []Section{
				{".text", 0x1000, 0x2000, 0x400, 0x1400},
				{".data", 0x3000, 0x1000, 0x1800, 0x200},
			},
		},
		{
			name: "unaligned values are aligned",
			spec: peSpec{entry: 0x1000, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: []PESectionHeader{
				{Name: ".text", VirtualSize: 0, VirtualAddress: 0x1000, SizeOfRawData: 0x1001, PointerToRawData: 0x410},
			}, size: 0x3000},
			ep:   0x400,
			secs: []Section{{".text", 0x1000, 0x2000, 0x400, 0x1200}},
		},
		{
			name:    "entry outside every section",
			spec:    peSpec{entry: 0x9000, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections()},
			wantErr: true,
		},
		{
			name:    "sign bit",
			spec:    peSpec{entry: 0x1000, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: []PESectionHeader{{Name: "x", VirtualSize: 0x80000000, VirtualAddress: 0x1000, SizeOfRawData: 0x200, PointerToRawData: 0x200}}},
			wantErr: true,
		},
		{
			name:    "no sections",
			spec:    peSpec{entry: 0x10, salign: 0x1000, falign: 0x200, hdrSize: 0x400, size: 0x400},
			wantErr: true,
		},
		{
			name:    "e_lfanew zero",
			spec:    peSpec{entry: 0x1000, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections(), patch: func(b []byte) { b[0x3c] = 0 }},
			wantErr: true,
		},
		{
			name:    "truncated section table",
			spec:    peSpec{entry: 0x10, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections(), size: 0x140},
			wantErr: true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, err := Parse(buildPE(c.spec))
			if c.wantErr {
				if err == nil {
					t.Fatalf("parsed: %+v", info)
				}
				if !errors.Is(err, ErrFormat) {
					t.Errorf("error %v does not wrap ErrFormat", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != PE || info.PE == nil || info.PE.Is64 != c.spec.is64 {
				t.Errorf("format %v, PE %+v", info.Format, info.PE)
			}
			if info.EntryPoint != c.ep {
				t.Errorf("entry point 0x%x, want 0x%x", info.EntryPoint, c.ep)
			}
			if len(info.Sections) != len(c.secs) {
				t.Fatalf("sections %+v, want %+v", info.Sections, c.secs)
			}
			for i := range c.secs {
				if info.Sections[i] != c.secs[i] {
					t.Errorf("section %d = %+v, want %+v", i, info.Sections[i], c.secs[i])
				}
			}
		})
	}
}

// importPE builds a PE32 (or PE32+) whose .idata section at RVA 0x2000
// (file 0x600) imports the given functions; a name starting with '#' is an
// ordinal.
func importPE(is64 bool, imports map[string][]string, order []string) []byte {
	le := binary.LittleEndian
	const rva, raw, size = 0x2000, 0x600, 0x1000
	idata := make([]byte, size)
	thunk := 8
	if !is64 {
		thunk = 4
	}
	descs := 0
	strs := 20 * (len(order) + 1)
	put := func(s string) uint32 {
		at := strs
		copy(idata[at:], s)
		strs += len(s) + 1
		return uint32(rva + at)
	}
	for _, dll := range order {
		d := idata[descs:]
		descs += 20
		le.PutUint32(d[12:], put(dll))
		fns := imports[dll]
		tab := strs
		strs += (len(fns) + 1) * thunk
		le.PutUint32(d[0:], uint32(rva+tab))
		le.PutUint32(d[16:], uint32(rva+tab))
		for i, fn := range fns {
			var v uint64
			if strings.HasPrefix(fn, "#") {
				n := 0
				for _, c := range fn[1:] {
					n = n*10 + int(c-'0')
				}
				v = uint64(n)
				if is64 {
					v |= 1 << 63
				} else {
					v |= 1 << 31
				}
			} else {
				v = uint64(put("\x00\x00" + fn)) // hint, then the name
			}
			if is64 {
				le.PutUint64(idata[tab+i*8:], v)
			} else {
				le.PutUint32(idata[tab+i*4:], uint32(v))
			}
		}
	}
	return buildPE(peSpec{
		is64: is64, entry: 0x1000, salign: 0x1000, falign: 0x200, hdrSize: 0x200,
		sections: []PESectionHeader{
			{Name: ".text", VirtualSize: 0x100, VirtualAddress: 0x1000, SizeOfRawData: 0x200, PointerToRawData: 0x200},
			{Name: ".idata", VirtualSize: size, VirtualAddress: rva, SizeOfRawData: size, PointerToRawData: raw},
		},
		importDir: DataDir{rva, uint32(20 * (len(order) + 1))},
		size:      raw + size + 0x200, // names must not sit in the last 257 bytes
		patch:     func(b []byte) { copy(b[raw:], idata) },
	})
}

func TestImports(t *testing.T) {
	for _, is64 := range []bool{false, true} {
		data := importPE(is64, map[string][]string{
			"KERNEL32.dll": {"LoadLibraryA", "GetProcAddress"},
			"WS2_32.dll":   {"#19", "#3"},
			"custom.exe":   {"#7", "Do_It"},
		}, []string{"KERNEL32.dll", "WS2_32.dll", "custom.exe"})
		info, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		want := "kernel32.loadlibrarya,kernel32.getprocaddress,ws2_32.send,ws2_32.closesocket,custom.exe.ord7,custom.exe.do_it"
		if !info.PE.HasImports || string(info.PE.Imports) != want {
			t.Errorf("64=%v: imports %q (ok=%v), want %q", is64, info.PE.Imports, info.PE.HasImports, want)
		}
		if _, n := info.PE.ImportMD5(); n != len(want) {
			t.Errorf("size %d", n)
		}
	}
	bad := importPE(false, map[string][]string{"a.dll": {"ok", "not-valid"}}, []string{"a.dll"})
	info, err := Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	if info.PE.HasImports {
		t.Errorf("invalid function name accepted: %q", info.PE.Imports)
	}
}

func TestDllStem(t *testing.T) {
	for dll, want := range map[string]string{
		"KERNEL32.DLL": "KERNEL32", "x.ocx": "x", "drv.sys": "drv", "a.b.dll": "a.b.dll",
		"noext": "noext", "short.dl": "short.dl", "msvcrt.dll.bak": "msvcrt",
	} {
		if got := dll[:dllStem(dll)]; got != want {
			t.Errorf("dllStem(%q) = %q, want %q", dll, got, want)
		}
	}
}

// elfSpec builds an ELF with one PT_LOAD segment and n section headers.
func buildELF(is64, big bool, entry uint64, vaddr, memsz, off uint64, nsec int) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	if big {
		bo = binary.BigEndian
	}
	ehsize, phsize, shsize := 52, 32, 40
	if is64 {
		ehsize, phsize, shsize = 64, 56, 64
	}
	phoff := ehsize
	shoff := phoff + phsize
	b := make([]byte, shoff+nsec*shsize+64)
	copy(b, "\x7fELF")
	b[4] = 1
	if is64 {
		b[4] = 2
	}
	b[5] = 1
	if big {
		b[5] = 2
	}
	if is64 {
		bo.PutUint64(b[24:], entry)
		bo.PutUint64(b[32:], uint64(phoff))
		bo.PutUint64(b[40:], uint64(shoff))
		bo.PutUint16(b[54:], uint16(phsize))
		bo.PutUint16(b[56:], 1)
		bo.PutUint16(b[58:], uint16(shsize))
		bo.PutUint16(b[60:], uint16(nsec))
		p := b[phoff:]
		bo.PutUint32(p, 1)
		bo.PutUint64(p[8:], off)
		bo.PutUint64(p[16:], vaddr)
		bo.PutUint64(p[40:], memsz)
		for i := 0; i < nsec; i++ {
			s := b[shoff+i*shsize:]
			bo.PutUint64(s[16:], vaddr+uint64(i)*0x10)
			bo.PutUint64(s[24:], uint64(i)*0x100)
			bo.PutUint64(s[32:], uint64(i)*0x10)
		}
	} else {
		bo.PutUint32(b[24:], uint32(entry))
		bo.PutUint32(b[28:], uint32(phoff))
		bo.PutUint32(b[32:], uint32(shoff))
		bo.PutUint16(b[42:], uint16(phsize))
		bo.PutUint16(b[44:], 1)
		bo.PutUint16(b[46:], uint16(shsize))
		bo.PutUint16(b[48:], uint16(nsec))
		p := b[phoff:]
		bo.PutUint32(p, 1)
		bo.PutUint32(p[4:], uint32(off))
		bo.PutUint32(p[8:], uint32(vaddr))
		bo.PutUint32(p[20:], uint32(memsz))
		for i := 0; i < nsec; i++ {
			s := b[shoff+i*shsize:]
			bo.PutUint32(s[12:], uint32(vaddr)+uint32(i)*0x10)
			bo.PutUint32(s[16:], uint32(i)*0x100)
			bo.PutUint32(s[20:], uint32(i)*0x10)
		}
	}
	return b
}

func TestParseELF(t *testing.T) {
	for _, c := range []struct {
		name          string
		is64, big     bool
		entry         uint64
		nsec          int
		ep            int64
		wantErr       bool
		vaddr, memsz  uint64
		segmentOffset uint64
	}{
		{name: "elf64le", is64: true, entry: 0x401234, vaddr: 0x400000, memsz: 0x2000, segmentOffset: 0x1000, nsec: 3, ep: 0x2234},
		{name: "elf32be", big: true, entry: 0x10010, vaddr: 0x10000, memsz: 0x100, nsec: 2, ep: 0x10},
		{name: "no entry", is64: true, entry: 0, vaddr: 0x400000, memsz: 0x10, nsec: 1, ep: 0},
		{name: "entry in no segment", entry: 0x9000, vaddr: 0x1000, memsz: 0x10, nsec: 1, wantErr: true},
		{name: "too many sections", is64: true, entry: 0x400000, vaddr: 0x400000, memsz: 0x10, nsec: 257, wantErr: true},
		{name: "256 sections", is64: true, entry: 0x400000, vaddr: 0x400000, memsz: 0x10, nsec: 256, ep: 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			info, err := Parse(buildELF(c.is64, c.big, c.entry, c.vaddr, c.memsz, c.segmentOffset, c.nsec))
			if c.wantErr {
				if err == nil {
					t.Fatalf("parsed: %+v", info)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != ELF || info.EntryPoint != c.ep || len(info.Sections) != c.nsec {
				t.Fatalf("format %v ep 0x%x sections %d", info.Format, info.EntryPoint, len(info.Sections))
			}
			if c.nsec > 1 && (info.Sections[1].Offset != 0x100 || info.Sections[1].Size != 0x10) {
				t.Errorf("section 1 = %+v", info.Sections[1])
			}
		})
	}
}

// buildMachO builds a 32-bit big-endian Mach-O for cpu with one segment of
// one section and an LC_UNIXTHREAD whose first register is pc.
func buildMachO(cpu uint32, pc uint32) []byte {
	be := binary.BigEndian
	b := make([]byte, 0x1000)
	be.PutUint32(b, 0xfeedface)
	be.PutUint32(b[4:], cpu)
	be.PutUint32(b[16:], 2)
	at := 28
	be.PutUint32(b[at:], 1)       // LC_SEGMENT
	be.PutUint32(b[at+4:], 56+68) // cmdsize
	be.PutUint32(b[at+8+40:], 1)  // nsects
	s := b[at+56:]                // the section
	copy(s, "__text")             // sectname
	be.PutUint32(s[32:], 0x2000)  // addr
	be.PutUint32(s[36:], 0x101)   // size
	be.PutUint32(s[40:], 0x800)   // offset
	be.PutUint32(s[44:], 2)       // align 2^2
	at += 56 + 68
	be.PutUint32(b[at:], 5)        // LC_UNIXTHREAD
	be.PutUint32(b[at+4:], 16+160) // cmdsize
	be.PutUint32(b[at+16:], pc)    // srr0
	return b
}

func TestParseMachO(t *testing.T) {
	info, err := Parse(buildMachO(18, 0x2010))
	if err != nil {
		t.Fatal(err)
	}
	if info.EntryPoint != 0x810 {
		t.Errorf("PowerPC entry point 0x%x, want 0x810", info.EntryPoint)
	}
	want := Section{"__text", 0x2000, 0x101, 0x800, 0x104}
	if len(info.Sections) != 1 || info.Sections[0] != want {
		t.Errorf("sections %+v, want %+v", info.Sections, want)
	}
	info, err = Parse(buildMachO(7, 0x2010))
	if err != nil {
		t.Fatal(err)
	}
	if info.EntryPoint != 0 {
		t.Errorf("x86 entry point 0x%x: ClamAV reads none", info.EntryPoint)
	}
	if _, err := Parse(buildMachO(18, 0x9000)); err == nil {
		t.Error("entry point outside every section accepted")
	}
}

func TestFat(t *testing.T) {
	b := make([]byte, 8+2*20)
	be := binary.BigEndian
	be.PutUint32(b, 0xcafebabe)
	be.PutUint32(b[4:], 2)
	be.PutUint32(b[8+8:], 0x1000)
	be.PutUint32(b[8+12:], 0x200)
	be.PutUint32(b[28+8:], 0x2000)
	if _, err := Parse(b); !errors.Is(err, ErrUniversal) {
		t.Errorf("Parse(fat) error %v", err)
	}
	archs, err := FatArches(b)
	if err != nil || len(archs) != 2 || archs[0].Offset != 0x1000 || archs[0].Size != 0x200 || archs[1].Offset != 0x2000 {
		t.Errorf("FatArches = %+v, %v", archs, err)
	}
	be.PutUint32(b[4:], 0x34) // a Java class version
	if archs, err := FatArches(b); err != nil || archs != nil {
		t.Errorf("Java class read as universal: %+v, %v", archs, err)
	}
}

func TestParseUnknown(t *testing.T) {
	for _, d := range []string{"", "M", "hello", "\x7fEL"} {
		if _, err := Parse([]byte(d)); err == nil {
			t.Errorf("Parse(%q) succeeded", d)
		}
	}
}

func BenchmarkParsePE(b *testing.B) {
	data := importPE(false, map[string][]string{"kernel32.dll": {"A", "B", "C"}}, []string{"kernel32.dll"})
	if p, err := os.ReadFile("/usr/local/go/src/debug/pe/testdata/gcc-386-mingw-exec"); err == nil {
		data = p
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(buildPE(peSpec{entry: 0x1010, salign: 0x1000, falign: 0x200, hdrSize: 0x400, sections: twoSections()}))
	f.Add(importPE(false, map[string][]string{"a.dll": {"x", "#3"}}, []string{"a.dll"}))
	f.Add(importPE(true, map[string][]string{"ws2_32.dll": {"#1"}}, []string{"ws2_32.dll"}))
	f.Add(buildELF(true, false, 0x401000, 0x400000, 0x2000, 0, 3))
	f.Add(buildELF(false, true, 0x10010, 0x10000, 0x100, 0, 2))
	f.Add(buildMachO(18, 0x2010))
	for _, p := range []string{
		"/usr/local/go/src/debug/pe/testdata/gcc-386-mingw-exec",
		"/usr/local/go/src/debug/elf/testdata/gcc-amd64-linux-exec",
	} {
		if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Parse(data)
		if err != nil {
			return
		}
		if info.EntryPoint < 0 {
			t.Fatalf("negative entry point %d", info.EntryPoint)
		}
		for _, s := range info.Sections {
			if s.Offset < 0 || s.Size < 0 {
				t.Fatalf("negative section bounds %+v", s)
			}
			if info.Format == PE && s.Size > 0 && s.Offset+s.Size > int64(len(data)) {
				t.Fatalf("PE section %+v runs past the file (%d bytes)", s, len(data))
			}
		}
		FatArches(data)
	})
}
