package authenticode

import (
	"encoding/binary"
	"os"
	"testing"
	"time"
)

// The differential tests against yara 4.2.3 are in package yara
// (mod_pe_sig_test.go, mod_pe_sig_gen_test.go): they cover the decoder's
// acceptance rules and every printed field on real and generated signed
// files. The tests here pin the pieces whose rules come from yara's and
// OpenSSL's C code, with expectations derived independently.

func TestTimeUnix(t *testing.T) {
	date := func(y, mo, d, h, mi, s int) int64 {
		return time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).Unix()
	}
	tests := []struct {
		tag  int
		in   string
		want int64
	}{
		{tagUTCTime, "200102030405Z", date(2020, 1, 2, 3, 4, 5)},
		{tagUTCTime, "691231235959Z", date(2069, 12, 31, 23, 59, 59)},
		{tagUTCTime, "700101000000Z", 0},
		{tagUTCTime, "491231235959+0100", date(2049, 12, 31, 23, 59, 59)}, // zone ignored
		{tagGeneralizedTime, "20510607080910Z", date(2051, 6, 7, 8, 9, 10)},
		{tagGeneralizedTime, "19000101000000Z", date(1900, 1, 1, 0, 0, 0)},
		{tagGeneralizedTime, "20200102030405.123Z", date(2020, 1, 2, 3, 4, 5)},
		// Month 13 and hour 25 carry over as timegm carries them.
		{tagUTCTime, "201301000000Z", date(2021, 1, 1, 0, 0, 0)},
		{tagUTCTime, "200101250000Z", date(2020, 1, 2, 1, 0, 0)},
		// One character short: the last digit read is the NUL after the
		// string ('\x00' - '0' = -48 seconds).
		{tagUTCTime, "20010203040", date(2020, 1, 2, 3, 4, 0) + 0*10 - 48},
		// Letters are read as digits would be: 'A' - '0' = 17.
		{tagUTCTime, "AB0102030405Z", date(1900+17*10+18, 1, 2, 3, 4, 5)},
	}
	for _, tt := range tests {
		if got := (Time{Tag: tt.tag, Value: []byte(tt.in)}).Unix(); got != tt.want {
			t.Errorf("Time{%d, %q}.Unix() = %d, want %d", tt.tag, tt.in, got, tt.want)
		}
	}
}

func TestCheckInteger(t *testing.T) {
	tests := []struct {
		in []byte
		ok bool
	}{
		{[]byte{}, false},
		{[]byte{0}, true},
		{[]byte{0xff}, true},
		{[]byte{0x00, 0x80}, true},
		{[]byte{0x00, 0x7f}, false},
		{[]byte{0xff, 0x7f}, true},
		{[]byte{0xff, 0x80}, false},
		{[]byte{0xff, 0x00}, true}, // -256
		{[]byte{0xff, 0x80, 0x00}, false},
		{[]byte{0x01, 0x00}, true},
	}
	for _, tt := range tests {
		if err := checkInteger(tt.in); (err == nil) != tt.ok {
			t.Errorf("checkInteger(% x) = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}

func TestASN1IntegerGet(t *testing.T) {
	tests := []struct {
		in   []byte
		want int64
	}{
		{[]byte{2}, 2},
		{[]byte{0xff}, -1},
		{[]byte{0x80}, -128},
		{[]byte{0x00, 0xff}, 255},
		{[]byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1<<63 - 1},
		{[]byte{0x80, 0, 0, 0, 0, 0, 0, 0}, -1 << 63},
		{[]byte{0x00, 0x80, 0, 0, 0, 0, 0, 0, 0}, -1}, // too large for a long
		{[]byte{1, 0, 0, 0, 0, 0, 0, 0, 0}, -1},
	}
	for _, tt := range tests {
		if got := asn1IntegerGet(tt.in); got != tt.want {
			t.Errorf("asn1IntegerGet(% x) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestOIDText(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{0x55, 0x04, 0x03}, "2.5.4.3"},
		{[]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b}, "1.2.840.113549.1.1.11"},
		{[]byte{0x09, 0x92, 0x26}, "0.9.2342"},
		{[]byte{0x88, 0x37, 0x01}, "2.999.1"},
	}
	for _, tt := range tests {
		if got := oidText(tt.in); got != tt.want {
			t.Errorf("oidText(% x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// attr builds a name attribute for the OneLine tests.
func attr(set int, typ []byte, tag int, v string) Attribute {
	return Attribute{Set: set, Type: typ, Tag: tag, Value: []byte(v)}
}

func TestOneLine(t *testing.T) {
	cn, c, o := []byte{0x55, 4, 3}, []byte{0x55, 4, 6}, []byte{0x55, 4, 10}
	unknown := []byte{0x2a, 0x03, 0x04}
	tests := []struct {
		name  Name
		size  int
		want  string
		_desc string
	}{
		{Name{}, 256, "", "empty name"},
		{Name{Attributes: []Attribute{attr(0, c, tagPrintableString, "US"), attr(1, cn, tagUTF8String, "A/B+C")}}, 256,
			`/C=US/CN=A\/B\+C`, "slash and plus escaped"},
		{Name{Attributes: []Attribute{attr(0, cn, tagUTF8String, "x"), attr(0, o, tagUTF8String, "y")}}, 256,
			"/CN=x+O=y", "multi-valued RDN"},
		{Name{Attributes: []Attribute{attr(0, cn, tagUTF8String, "stra\xc3\x9fe\x7f")}}, 256,
			`/CN=stra\xC3\x9Fe\x7F`, "bytes outside printable ASCII"},
		{Name{Attributes: []Attribute{attr(0, unknown, tagUTF8String, "v")}}, 256, "/1.2.3.4=v", "unknown type"},
		{Name{Attributes: []Attribute{attr(0, cn, tagUTF8String, "12345"), attr(1, o, tagUTF8String, "x")}}, 10,
			"/CN=12345", "attributes that do not fit are left out"},
		{Name{Attributes: []Attribute{attr(0, cn, tagUTF8String, "123456"), attr(1, o, tagUTF8String, "x")}}, 10,
			"", "the first does not fit"},
	}
	for _, tt := range tests {
		if got := tt.name.OneLine(tt.size); got != tt.want {
			t.Errorf("%s: OneLine = %q, want %q", tt._desc, got, tt.want)
		}
	}
}

func TestSerialString(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
		ok   bool
	}{
		{[]byte{0x01, 0xab}, "01:ab", true},
		{[]byte{0x80, 0x01}, "80:01", true},
		{make([]byte, 20), "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00", true},
		{make([]byte, 21), "", false},
	}
	for _, tt := range tests {
		got, ok := (&Certificate{SerialNumber: tt.in}).SerialString()
		if got != tt.want || ok != tt.ok {
			t.Errorf("SerialString(% x) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseElementLimits(t *testing.T) {
	// 40 nested indefinite-length SEQUENCEs: deeper than OpenSSL reads.
	var b []byte
	for i := 0; i < 40; i++ {
		b = append(b, 0x30, 0x80)
	}
	for i := 0; i < 40; i++ {
		b = append(b, 0, 0)
	}
	if _, _, err := parseElement(b, 0); err == nil {
		t.Error("parseElement accepted 40 levels of nesting")
	}
	for _, bad := range [][]byte{
		{0x30},                   // no length
		{0x04, 0x05, 1, 2},       // length past the end
		{0x04, 0x80, 0, 0},       // indefinite primitive
		{0x04, 0x89, 1, 1, 1, 1}, // length of length past the end
		{0x30, 0x80, 0x04, 0x01}, // no end-of-contents
	} {
		if _, _, err := parseElement(bad, 0); err == nil {
			t.Errorf("parseElement(% x) succeeded", bad)
		}
	}
}

// efiFiles are signed PE files some Debian packages install
// (shim-signed, grub-efi-amd64-signed).
var efiFiles = []string{
	"/usr/lib/shim/shimx64.efi.signed",
	"/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed",
}

// securityTable returns the certificate table directory of a PE32+ or
// PE32 file, for the tests' own use (package yara decides it for real).
func securityTable(data []byte) (off, size uint32, ok bool) {
	if len(data) < 0x40 {
		return 0, 0, false
	}
	lfanew := int(binary.LittleEndian.Uint32(data[0x3c:]))
	if lfanew < 0 || lfanew+24+240 > len(data) {
		return 0, 0, false
	}
	opt := lfanew + 24
	dirs := opt + 96
	if binary.LittleEndian.Uint16(data[opt:]) == 0x20b {
		dirs = opt + 112
	}
	return binary.LittleEndian.Uint32(data[dirs+32:]), binary.LittleEndian.Uint32(data[dirs+36:]), true
}

func readEFI(t testing.TB) [][]byte {
	var out [][]byte
	for _, f := range efiFiles {
		if b, err := os.ReadFile(f); err == nil {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no signed EFI binary (%v); install shim-signed and grub-efi-amd64-signed", efiFiles)
		}
		t.Skipf("no signed EFI binary (%v): install shim-signed and grub-efi-amd64-signed", efiFiles)
	}
	return out
}

func TestSignaturesEFI(t *testing.T) {
	for _, data := range readEFI(t) {
		off, size, ok := securityTable(data)
		if !ok {
			t.Fatal("not a PE file")
		}
		certs := Signatures(data, off, size)
		if len(certs) == 0 {
			t.Fatal("no signatures in a signed EFI binary")
		}
		for _, c := range certs {
			if s := c.Subject.OneLine(NameBufferSize); len(s) < 10 || s[0] != '/' {
				t.Errorf("subject %q", s)
			}
			if name, _ := c.AlgorithmName(); name == "undefined" {
				t.Errorf("algorithm of %s unknown", c.Subject.OneLine(NameBufferSize))
			}
			if c.NotAfter.Unix() <= c.NotBefore.Unix() {
				t.Errorf("validity %d..%d", c.NotBefore.Unix(), c.NotAfter.Unix())
			}
		}
		// Truncated tables yield no more signatures than the whole one
		// and never fail.
		for cut := uint32(0); cut < size; cut += size/97 + 1 {
			if n := len(Signatures(data[:off+cut], off, cut)); n > len(certs) {
				t.Fatalf("table cut at %d: %d signatures, whole table %d", cut, n, len(certs))
			}
		}
	}
}

func BenchmarkSignatures(b *testing.B) {
	data := readEFI(b)[0]
	off, size, _ := securityTable(data)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if len(Signatures(data, off, size)) == 0 {
			b.Fatal("no signatures")
		}
	}
}
