package unpack

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// buildUU uuencodes content with sharutils' uuencode (optionally base64,
// which uudecode also reads but uuencode-the-format does not).
func buildUU(t *testing.T, content []byte, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "out.uu")
	if err := os.WriteFile(p, toolOutput(t, dir, "uuencode", "in", name), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUUEncode(t *testing.T) {
	payload := readPayload(t)
	for _, tc := range []struct {
		name    string
		content []byte
	}{
		{"binary", payload},
		{"short", []byte("x")},
		{"zeros", make([]byte, 1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := unpackOK(t, uuencodeFormat(), readFile(t, buildUU(t, tc.content, "file.bin")))
			wantMember(t, ms, "file.bin", tc.content)
		})
	}
	// Two blocks in one file, and trailing spaces stripped by a mailer.
	a := readFile(t, buildUU(t, payload, "a.exe"))
	stripped := bytes.ReplaceAll(readFile(t, buildUU(t, make([]byte, 90), "b.bin")), []byte(" \n"), []byte("\n"))
	ms := unpackOK(t, uuencodeFormat(), append(append(a, "\nsome text\n"...), stripped...))
	wantMember(t, ms, "a.exe", payload)
	wantMember(t, ms, "b.bin", make([]byte, 90))
}

func TestUUEncodePeer(t *testing.T) {
	payload := readPayload(t)
	clamscanFinds(t, buildUU(t, payload, "true"), payload)
}

func TestUUEncodeDamaged(t *testing.T) {
	checkDamaged(t, uuencodeFormat(), readFile(t, buildUU(t, readPayload(t), "true")))
}

func FuzzUnpackUUEncode(f *testing.F) {
	fuzzFormat(f, uuencodeFormat(),
		[]byte("begin 644 a\n#86)C\n`\nend\n"),
		[]byte("begin 644 b\nM\n"),
	)
}
