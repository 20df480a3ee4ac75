package yara

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
	"github.com/glassav/glassav/yara/pe"
)

// TestPEModuleDataMutants compares the pe module with yara -D on
// corrupted copies of real PE files: random bytes overwritten in the
// headers and in the structures the data directories point at, so the
// malformed-input paths (truncated tables, bad offsets, huge counts) meet
// yara's. The mutations are seeded: a failure reproduces.
func TestPEModuleDataMutants(t *testing.T) {
	testenv.NeedTool(t, "yara")
	n := 3
	if testing.Short() {
		n = 2
	}
	if v, err := strconv.Atoi(os.Getenv("PE_MUTANTS")); err == nil && v > 0 {
		n = v // a longer search: PE_MUTANTS=100 go test -run Mutants
	}
	m := newPEModule()
	dir := t.TempDir()
	var files, lines, bad int
	for fi, src := range peTestFiles(t) {
		data, err := os.ReadFile(src)
		if err != nil || !pe.IsPE(data) || len(data) > 4<<20 {
			continue
		}
		f, _ := pe.Parse(data)
		rng := rand.New(rand.NewSource(int64(fi)))
		for k := 0; k < n; k++ {
			mut := mutatePE(rng, data, f)
			p := filepath.Join(dir, fmt.Sprintf("m%d_%d", fi, k))
			if err := os.WriteFile(p, mut, 0o644); err != nil {
				t.Fatal(err)
			}
			nl, diffs := moduleDataDiff(t, m, p, 6)
			files++
			lines += nl
			if len(diffs) > 0 {
				bad++
				if os.Getenv("PE_KEEP_MUTANTS") != "" {
					os.WriteFile(filepath.Join(os.Getenv("PE_KEEP_MUTANTS"), filepath.Base(p)), mut, 0o644)
				}
				if bad <= 10 {
					t.Errorf("%s (mutant %d of %s): differs from yara -D:\n%s", p, k, src, strings.Join(diffs, "\n"))
				}
			}
			os.Remove(p)
		}
	}
	t.Logf("%d mutants, %d lines of yara -D compared, %d differ", files, lines, bad)
	if files < 50 {
		t.Errorf("only %d mutants compared", files)
	}
}

// mutatePE returns a copy of data with a few bytes or words overwritten
// at places the pe parser reads (the headers and section table, the Rich
// header area, anywhere in the structures the data directories point
// at), or cut short.
func mutatePE(rng *rand.Rand, data []byte, f *pe.File) []byte {
	out := append([]byte(nil), data...)
	hdr := f.HeaderOffset()
	spots := []int{hdr + 4 + rng.Intn(20+240+40*min(len(f.Sections), 8))}
	if hdr > 0x40 {
		spots = append(spots, 0x40+rng.Intn(hdr-0x40))
	}
	for i := 0; i < 16; i++ {
		if d, ok := f.Directory(i); ok && d.VirtualAddress != 0 {
			if off := f.RVAToOffset(uint64(d.VirtualAddress)); off >= 0 {
				spots = append(spots, int(off)+rng.Intn(64), int(off)+rng.Intn(int(min(d.Size, 1<<16))+1))
			}
		}
	}
	if rng.Intn(8) == 0 {
		return out[:hdr+4+20+rng.Intn(len(out)-hdr-24)]
	}
	for j := 0; j < 1+rng.Intn(4); j++ {
		at := spots[rng.Intn(len(spots))]
		if at+4 > len(out) {
			continue
		}
		switch rng.Intn(6) {
		case 0:
			out[at] = byte(rng.Intn(256))
		case 1:
			out[at] ^= 0x80
		case 2:
			out[at] = 0xff
		case 3:
			at &^= 3
			binary.LittleEndian.PutUint32(out[at:], rng.Uint32())
		case 4:
			at &^= 3
			binary.LittleEndian.PutUint32(out[at:], uint32(rng.Intn(len(out)+0x2000)))
		default:
			out[at] = 0
		}
	}
	return out
}

// TestPEModuleDataCrafted compares the module with yara -D on copies of
// yara's test files with one header field set to a value that exercises
// a quirk: the data directory count gating entries (an entry is present
// up to and including NumberOfRvaAndSizes), the optional header size
// moving the section table, more sections than yara reads, any machine
// type, and a truncated file.
func TestPEModuleDataCrafted(t *testing.T) {
	testenv.NeedTool(t, "yara")
	dir := filepath.Join(sharedDir(t, "testdata/yara"), "data")
	type edit struct {
		name  string
		at    func(nt int, is64 bool) int // offset of the field
		size  int                         // 2 or 4 bytes; 0 truncates at value
		value uint32
	}
	nrva := func(nt int, is64 bool) int {
		if is64 {
			return nt + 24 + 108
		}
		return nt + 24 + 92
	}
	edits := []edit{
		{"rva count 0", nrva, 4, 0}, {"rva count 1", nrva, 4, 1}, {"rva count 3", nrva, 4, 3},
		{"rva count 4", nrva, 4, 4}, {"rva count 6", nrva, 4, 6}, {"rva count 2^31", nrva, 4, 0x80000000},
		{"rva count max", nrva, 4, 0xffffffff},
		{"optional header size 0", func(nt int, _ bool) int { return nt + 20 }, 2, 0},
		{"optional header size 112", func(nt int, _ bool) int { return nt + 20 }, 2, 112},
		{"optional header size max", func(nt int, _ bool) int { return nt + 20 }, 2, 0xffff},
		{"200 sections", func(nt int, _ bool) int { return nt + 6 }, 2, 200},
		{"machine 0x1234", func(nt int, _ bool) int { return nt + 4 }, 2, 0x1234},
		{"file alignment 0", func(nt int, _ bool) int { return nt + 24 + 36 }, 4, 0},
		{"file alignment 3", func(nt int, _ bool) int { return nt + 24 + 36 }, 4, 3},
		{"truncated after headers", func(nt int, _ bool) int { return nt + 24 + 300 }, 0, 0},
	}
	tmp := t.TempDir()
	m := newPEModule()
	var n, lines int
	for _, name := range []string{"mtxex.dll", "tiny", "pe_imports", "ChipTune.efi", "weird_rich"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := pe.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, e := range edits {
			out := append([]byte(nil), data...)
			at := e.at(f.HeaderOffset(), f.Is64)
			switch e.size {
			case 0:
				out = out[:min(at, len(out))]
			case 2:
				binary.LittleEndian.PutUint16(out[at:], uint16(e.value))
			case 4:
				binary.LittleEndian.PutUint32(out[at:], e.value)
			}
			p := filepath.Join(tmp, name+"."+strings.ReplaceAll(e.name, " ", "_"))
			if err := os.WriteFile(p, out, 0o644); err != nil {
				t.Fatal(err)
			}
			nl, diffs := moduleDataDiff(t, m, p, 6)
			n++
			lines += nl
			if len(diffs) > 0 {
				t.Errorf("%s with %s: differs from yara -D:\n%s", name, e.name, strings.Join(diffs, "\n"))
			}
		}
	}
	t.Logf("%d crafted files, %d lines of yara -D compared", n, lines)
}
