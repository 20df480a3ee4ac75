package unpack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// buildBinHex encodes content as the data fork (or, with rsrc, the
// resource fork) of a BinHex 4.0 file with macutils' binhex.
func buildBinHex(t *testing.T, content []byte, rsrc bool) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payload.bin"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	flag := "-d"
	if rsrc {
		flag = "-r"
	}
	p := filepath.Join(dir, "payload.hqx")
	if err := os.WriteFile(p, toolOutput(t, dir, "binhex", flag, "payload.bin"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBinHex(t *testing.T) {
	payload := readPayload(t)
	for _, tc := range []struct {
		name    string
		content []byte
		rsrc    bool
		member  string
	}{
		{"data fork", payload, false, "payload.bin"},
		{"resource fork", payload, true, "payload.bin:rsrc"},
		{"runs", bytes.Repeat([]byte{0x90, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7}, 500), false, "payload.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := unpackOK(t, binhexFormat(), readFile(t, buildBinHex(t, tc.content, tc.rsrc)))
			wantMember(t, ms, tc.member, tc.content)
		})
	}
}

func TestBinHexClamTestFile(t *testing.T) {
	clam := readFile(t, testFile(t, "clam.exe"))
	ms := unpackOK(t, binhexFormat(), readFile(t, testFile(t, "clam.exe.binhex")))
	wantMember(t, ms, "clam.exe", clam)
}

func TestBinHexPeer(t *testing.T) {
	// clamscan types a file BinHex by the banner "(This file must be
	// converted with BinHex", which macutils does not write: give the
	// peer the canonical banner.
	payload := readPayload(t)
	data := readFile(t, buildBinHex(t, payload, false))
	_, rest, _ := bytes.Cut(data, []byte("\n"))
	canonical := append([]byte("(This file must be converted with BinHex 4.0)\n"), rest...)
	ms := unpackOK(t, binhexFormat(), canonical)
	wantMember(t, ms, "payload.bin", payload)
	clamscanFinds(t, writeTemp(t, "payload.hqx", canonical), payload)
}

func TestBinHexDamaged(t *testing.T) {
	checkDamaged(t, binhexFormat(), readFile(t, buildBinHex(t, readPayload(t), false)))
}

func FuzzUnpackBinHex(f *testing.F) {
	seeds := [][]byte{
		[]byte("(This file must be converted with BinHex 4.0)\n:#'0XB@dZCAKP!%9B43\"$E'&Y!!!!!!)J!!!!!EY969T3!!)!!!!%!!m!rrm!!,J:\n"),
	}
	if data, err := os.ReadFile("/usr/share/clamav-testfiles/clam.exe.binhex"); err == nil {
		seeds = append(seeds, data)
	}
	fuzzFormat(f, binhexFormat(), seeds...)
}
