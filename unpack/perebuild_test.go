package unpack

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/glassav/glassav/exe"
	"github.com/glassav/glassav/internal/testenv"
)

// testImage is a two-section memory image: code at RVA 0x1000 (or first),
// data after it, with the entry point 0x10 bytes into the code.
func testImage(firstRVA uint32) *peImage {
	code := bytes.Repeat([]byte{0x90}, 0x300)
	copy(code[0x10:], "\x55\x8b\xec\x83\xec\x10glassav-entry")
	data := bytes.Repeat([]byte("DATA"), 0x100)
	img := append(append([]byte(nil), code...), data...)
	return &peImage{
		Data: img,
		Sections: []imageSection{
			{RVA: firstRVA, VirtualSize: 0x1000, Raw: 0, RawSize: uint32(len(code))},
			{Name: "data", RVA: firstRVA + 0x1000, VirtualSize: 0x2000, Raw: uint32(len(code)), RawSize: uint32(len(data))},
		},
		ImageBase: 0x400000,
		EntryRVA:  firstRVA + 0x10,
	}
}

func TestPERebuildParses(t *testing.T) {
	for _, tc := range []struct {
		first uint32
		nsec  int
	}{
		{0x1000, 2},
		{0x5000, 3}, // a section without bytes covers 0x1000..0x5000
	} {
		p := testImage(tc.first)
		pe, err := p.rebuild(NewBudget(Limits{}), "test")
		if err != nil {
			t.Fatal(err)
		}
		info, err := exe.Parse(pe)
		if err != nil {
			t.Fatalf("first RVA 0x%x: exe.Parse: %v", tc.first, err)
		}
		if len(info.Sections) != tc.nsec {
			t.Errorf("first RVA 0x%x: %d sections, want %d", tc.first, len(info.Sections), tc.nsec)
		}
		if !bytes.HasPrefix(pe[info.EntryPoint:], []byte("\x55\x8b\xec\x83\xec\x10glassav-entry")) {
			t.Errorf("first RVA 0x%x: entry point at 0x%x does not hold the code", tc.first, info.EntryPoint)
		}
		last := info.Sections[len(info.Sections)-1]
		if last.Name != "data" || !bytes.HasPrefix(pe[last.Offset:], []byte("DATADATA")) {
			t.Errorf("first RVA 0x%x: last section %+v does not hold the data", tc.first, last)
		}
		if info.Sections[len(info.Sections)-2].Name != ".clam01" {
			t.Errorf("first RVA 0x%x: unnamed section called %q, want .clam01", tc.first, info.Sections[0].Name)
		}
		if len(pe)%peRebuildFAlign != 0 {
			t.Errorf("file size %d not a multiple of the file alignment", len(pe))
		}
	}
}

func TestPERebuildLimits(t *testing.T) {
	p := testImage(0x1000)
	b := NewBudget(Limits{MaxFileSize: 0x600})
	if _, err := p.rebuild(b, "test"); err == nil {
		t.Fatal("rebuild over MaxFileSize succeeded")
	} else if le, ok := IsLimit(err); !ok || le.Limit != LimitFileSize {
		t.Fatalf("err = %v, want the file size limit", err)
	}

	p.Sections[1].RawSize = 1 << 30 // bytes outside the image
	var fe *FormatError
	if _, err := p.rebuild(NewBudget(Limits{}), "test"); !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a format error", err)
	}

	p = testImage(0x1000)
	p.Sections = make([]imageSection, peMaxSections+1)
	if _, err := p.rebuild(NewBudget(Limits{}), "test"); !errors.As(err, &fe) {
		t.Fatalf("%d sections: err = %v, want a format error", len(p.Sections), err)
	}

	if _, err := imageBuffer(NewBudget(Limits{}), 200<<20, 1000); err == nil {
		t.Error("imageBuffer granted 200 MiB")
	}
	if _, err := imageBuffer(NewBudget(Limits{}), 50<<20, 100); err == nil {
		t.Error("imageBuffer granted 50 MiB for 100 packed bytes")
	}
	if buf, err := imageBuffer(NewBudget(Limits{}), 1<<20, 100); err != nil || len(buf) != 1<<20 {
		t.Errorf("imageBuffer(1 MiB) = %d bytes, %v", len(buf), err)
	}
}

// TestPERebuildClamscan has clamscan read the rebuilt file as ClamAV would
// its own rebuild: an entry-point signature and a section signature match
// at the offsets exe.Parse computes.
func TestPERebuildClamscan(t *testing.T) {
	clamscan := testenv.NeedTool(t, "clamscan")
	dir := t.TempDir()
	pe, err := testImage(0x5000).rebuild(NewBudget(Limits{}), "test")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "rebuilt.exe")
	db := filepath.Join(dir, "t.ndb")
	sig := "Rebuilt.EP:1:EP+0:" + hex.EncodeToString([]byte("\x55\x8b\xec\x83\xec\x10glassav-entry")) + "\n" +
		"Rebuilt.S2:1:S2+0:" + hex.EncodeToString([]byte("DATADATA")) + "\n"
	if err := os.WriteFile(file, pe, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(clamscan, "--no-summary", "--allmatch", "-d", db, file).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("clamscan: %v, want exit status 1\n%s", err, out)
	}
	for _, name := range []string{"Rebuilt.EP", "Rebuilt.S2"} {
		if !bytes.Contains(out, []byte(name+".UNOFFICIAL FOUND")) {
			t.Errorf("clamscan did not find %s:\n%s", name, out)
		}
	}
}
