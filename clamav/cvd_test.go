package clamav

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestParseHeader(t *testing.T) {
	full := "ClamAV-VDB:22 Jun 2021 20-40 -0400:3:11:81:75c84c7f1a2d37d9c2a37b2bc9b3a670:abc+/:raynman:1624408809"
	want := Header{BuildTime: "22 Jun 2021 20-40 -0400", Version: 3, Signatures: 11, FLevel: 81,
		MD5: "75c84c7f1a2d37d9c2a37b2bc9b3a670", DSig: "abc+/", Builder: "raynman", Time: 1624408809}
	tests := []struct {
		name string
		in   string
		want Header
	}{
		{"line", full, want},
		{"padded", string(containerHeaderBlock(full)), want},
		{"newline", full + "\nrest of an .info", want},
		{"crlf", full + "\r\n", want},
		{"nul padded", full + "\x00\x00\x00", want},
		{"longer than block", string(containerHeaderBlock(full)) + "\x1f\x8b body", want},
		{"info copy", "ClamAV-VDB:22 Jun 2021 20-40 -0400:3:11:81:X:X:raynman:1624408809",
			Header{BuildTime: "22 Jun 2021 20-40 -0400", Version: 3, Signatures: 11, FLevel: 81, MD5: "X", DSig: "X", Builder: "raynman", Time: 1624408809}},
		{"old format", "ClamAV-VDB:07 Mar 2005 12-00 +0100:1:2:3:X:X:tk",
			Header{BuildTime: "07 Mar 2005 12-00 +0100", Version: 1, Signatures: 2, FLevel: 3, MD5: "X", DSig: "X", Builder: "tk"}},
		{"empty builder", "ClamAV-VDB:t:1:2:3:X:X::4", Header{BuildTime: "t", Version: 1, Signatures: 2, FLevel: 3, MD5: "X", DSig: "X", Time: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", "no ClamAV-VDB: magic"},
		{"ClamAV-VDX:t:1:2:3:X:X:b:4", "no ClamAV-VDB: magic"},
		{" ClamAV-VDB:t:1:2:3:X:X:b:4", "no ClamAV-VDB: magic"},
		{"ClamAV-VDB:t:1:2:3:X:X", "6 fields"},
		{"ClamAV-VDB:t:1:2:3:X:X:b:4:5", "9 fields"},
		{"ClamAV-VDB::1:2:3:X:X:b:4", "empty build time"},
		{"ClamAV-VDB:t:x:2:3:X:X:b:4", "malformed version"},
		{"ClamAV-VDB:t:-1:2:3:X:X:b:4", "malformed version"},
		{"ClamAV-VDB:t:+1:2:3:X:X:b:4", "malformed version"},
		{"ClamAV-VDB:t::2:3:X:X:b:4", "malformed version"},
		{"ClamAV-VDB:t:1:99999999999:3:X:X:b:4", "malformed signature count"},
		{"ClamAV-VDB:t:1:2:3x:X:X:b:4", "malformed functionality level"},
		{"ClamAV-VDB:t:1:2:3:75C84C7F1A2D37D9C2A37B2BC9B3A670:X:b:4", "malformed MD5"},
		{"ClamAV-VDB:t:1:2:3:75c84c7f:X:b:4", "malformed MD5"},
		{"ClamAV-VDB:t:1:2:3:X::b:4", "empty digital signature"},
		{"ClamAV-VDB:t:1:2:3:X:X:b:-4", "malformed build time"},
		{"ClamAV-VDB:t:1:2:3:X:X:b:", "malformed build time"},
		{"ClamAV-VDB:t:1:2:3:X:" + strings.Repeat("a", 401) + ":b:4", "longer than 400"},
	}
	for _, tt := range tests {
		_, err := ParseHeader([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseHeader(%q) = %v, want error containing %q", tt.in, err, tt.msg)
		}
	}
}

func TestHeaderStringRoundTrip(t *testing.T) {
	in := "ClamAV-VDB:29 Nov 2026 17-36 +0000:1:2:216:97f9cc8213a1b2c3d4e5f60718293a4b:X:tester:1795973815"
	h, err := ParseHeader([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if h.String() != in {
		t.Errorf("String() = %q, want %q", h.String(), in)
	}
}

func TestHeaderBuilt(t *testing.T) {
	tests := []struct {
		h    Header
		want time.Time
	}{
		{Header{Time: 1624408809, BuildTime: "nonsense"}, time.Unix(1624408809, 0)},
		{Header{BuildTime: "22 Jun 2021 20-40 -0400"}, time.Date(2021, 6, 23, 0, 40, 0, 0, time.UTC)},
		{Header{BuildTime: "nonsense"}, time.Time{}},
	}
	for _, tt := range tests {
		if got := tt.h.Built(); !got.Equal(tt.want) {
			t.Errorf("%+v.Built() = %v, want %v", tt.h, got, tt.want)
		}
	}
}

// encodeSigNumber is the inverse of decodeSigNumber: 6-bit digits, least
// significant first.
func encodeSigNumber(v *big.Int) string {
	var b strings.Builder
	v = new(big.Int).Set(v)
	sixty4 := big.NewInt(64)
	d := new(big.Int)
	for v.Sign() > 0 {
		v.DivMod(v, sixty4, d)
		b.WriteByte(sigAlphabet[d.Int64()])
	}
	return b.String()
}

func TestDecodeSigNumber(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"a", 0}, {"b", 1}, {"/", 63}, {"ab", 64}, {"ba", 1}, {"+/", 62 + 63*64},
	}
	for _, tt := range tests {
		got, err := decodeSigNumber(tt.in, 64)
		if err != nil || got.Int64() != tt.want {
			t.Errorf("decodeSigNumber(%q) = %v, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	v, _ := new(big.Int).SetString(legacyModulus, 10)
	if got, err := decodeSigNumber(encodeSigNumber(v), v.BitLen()); err != nil || got.Cmp(v) != 0 {
		t.Errorf("round trip of the modulus: %v, %v", got, err)
	}
	for _, bad := range []string{"", "ab=", "a b", "é", strings.Repeat("a", 12)} {
		if _, err := decodeSigNumber(bad, 64); err == nil {
			t.Errorf("decodeSigNumber(%q) accepted", bad)
		}
	}
}

// TestRealKeys checks the sizes of the published keys; the PSS code relies
// on the versig2 modulus fitting 256 bytes.
func TestRealKeys(t *testing.T) {
	if n := parseRSAKey(legacyModulus, legacyExponent).n.BitLen(); n != 1024 {
		t.Errorf("legacy modulus has %d bits", n)
	}
	if n := parseRSAKey(infoModulus, infoExponent).n.BitLen(); n != 2047 {
		t.Errorf("versig2 modulus has %d bits", n)
	}
}

func cvdTestKey(t *testing.T, bits int) (*rsa.PrivateKey, rsaKey) {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return priv, rsaKey{n: priv.N, e: big.NewInt(int64(priv.E))}
}

func TestVerifyLegacyDSig(t *testing.T) {
	priv, key := cvdTestKey(t, 1024)
	sum := md5.Sum([]byte("body"))
	raw := func(m *big.Int) string { return encodeSigNumber(new(big.Int).Exp(m, priv.D, priv.N)) }
	good := raw(new(big.Int).SetBytes(sum[:]))
	if err := verifyLegacyDSig(key, sum, good); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	other := md5.Sum([]byte("other"))
	// ClamAV compares only the low 16 bytes; a value with more set bits
	// but the right low bytes is refused here.
	high := new(big.Int).Lsh(big.NewInt(1), 200)
	high.Or(high, new(big.Int).SetBytes(sum[:]))
	tests := []struct{ name, sig string }{
		{"other digest", raw(new(big.Int).SetBytes(other[:]))},
		{"high bits", raw(high)},
		{"flipped digit", flipSigDigit(good)},
		{"too long", good + strings.Repeat("a", 200)},
		{"modulus", encodeSigNumber(priv.N)},
		{"bad char", good[:10] + "=" + good[11:]},
	}
	for _, tt := range tests {
		if err := verifyLegacyDSig(key, sum, tt.sig); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestVerifyPSS(t *testing.T) {
	priv, key := cvdTestKey(t, 2048)
	sum := sha256.Sum256([]byte("info text\n"))
	sign := func(digest []byte, salt int) string {
		s, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, digest, &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		return encodeSigNumber(new(big.Int).SetBytes(s))
	}
	if err := verifyPSS(key, sum, sign(sum[:], pssSaltLen)); err != nil {
		t.Fatalf("good signature: %v", err)
	}
	other := sha256.Sum256([]byte("other"))
	good := sign(sum[:], pssSaltLen)
	tests := []struct{ name, sig string }{
		{"other digest", sign(other[:], pssSaltLen)},
		{"salt 20", sign(sum[:], 20)},
		{"salt 0", sign(sum[:], 0)},
		{"flipped digit", flipSigDigit(good)},
		{"raw digest", encodeSigNumber(new(big.Int).SetBytes(sum[:]))},
		{"empty", ""},
	}
	for _, tt := range tests {
		if err := verifyPSS(key, sum, tt.sig); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func flipSigDigit(s string) string {
	c := s[5]
	if c == 'a' {
		c = 'b'
	} else {
		c = 'a'
	}
	return s[:5] + string(c) + s[6:]
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte("ClamAV-VDB:22 Jun 2021 20-40 -0400:3:11:81:75c84c7f1a2d37d9c2a37b2bc9b3a670:j1b39yL+kUpU:raynman:1624408809"))
	f.Add([]byte("ClamAV-VDB:07 Mar 2005 12-00 +0100:1:2:3:X:X:tk"))
	f.Add(containerHeaderBlock("ClamAV-VDB:t:1:2:3:X:X:b:4"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		// A parsed header formats to a line that parses to itself
		// (the old 7-field form gains a zero time field).
		if len(h.String()) > HeaderSize {
			return // an old 7-field header gained ":0" past the block
		}
		h2, err := ParseHeader([]byte(h.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", h.String(), err)
		}
		if h2 != h {
			t.Fatalf("reparse of %q = %+v, want %+v", h.String(), h2, h)
		}
	})
}
