package yara

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glassav/glassav/internal/testenv"
)

// This file builds signed PE files whose certificate tables exercise what
// yara 4.2.3 (through OpenSSL) accepts, refuses and prints — names with
// escapes and multi-valued RDNs, negative and oversized serials, odd
// times, unknown algorithms, nested signatures, several table entries —
// and compares glassav's signature values for each with yara -D's.
// Nothing here states an expected value: yara is the oracle; the cases
// only say how many signatures yara must at least have found, so that a
// case that broke its own construction (and made both sides report none)
// fails.

// der encodes one DER element with a one-byte identifier.
func derTLV(id byte, content ...[]byte) []byte {
	var c []byte
	for _, x := range content {
		c = append(c, x...)
	}
	return append(derHeader(id, len(c)), c...)
}

func derHeader(id byte, n int) []byte {
	switch {
	case n < 0x80:
		return []byte{id, byte(n)}
	case n < 0x100:
		return []byte{id, 0x81, byte(n)}
	case n < 0x10000:
		return []byte{id, 0x82, byte(n >> 8), byte(n)}
	default:
		return []byte{id, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// ber encodes a constructed element with an indefinite length.
func berIndef(id byte, content ...[]byte) []byte {
	out := []byte{id, 0x80}
	for _, x := range content {
		out = append(out, x...)
	}
	return append(out, 0, 0)
}

func derSeq(c ...[]byte) []byte { return derTLV(0x30, c...) }
func derSet(c ...[]byte) []byte { return derTLV(0x31, c...) }

// oidDER encodes a dotted OID.
func oidDER(dotted string) []byte {
	var parts []uint64
	for _, p := range strings.Split(dotted, ".") {
		var v uint64
		for _, c := range p {
			v = v*10 + uint64(c-'0')
		}
		parts = append(parts, v)
	}
	vals := append([]uint64{parts[0]*40 + parts[1]}, parts[2:]...)
	var out []byte
	for _, v := range vals {
		var b []byte
		b = append(b, byte(v&0x7f))
		for v >>= 7; v > 0; v >>= 7 {
			b = append(b, byte(0x80|v&0x7f))
		}
		for i := len(b) - 1; i >= 0; i-- {
			out = append(out, b[i])
		}
	}
	return derTLV(0x06, out)
}

// nameATV is one attribute of a name: type OID, value tag and bytes.
type nameATV struct {
	oid string
	tag byte
	val string
}

// nameDER encodes a name; each inner slice is one RDN.
func nameDER(rdns ...[]nameATV) []byte {
	var out []byte
	for _, rdn := range rdns {
		var r []byte
		for _, a := range rdn {
			r = append(r, derSeq(oidDER(a.oid), derTLV(a.tag, []byte(a.val)))...)
		}
		out = append(out, derSet(r)...)
	}
	return derSeq(out)
}

func simpleName(cn string) []byte {
	return nameDER([]nameATV{{"2.5.4.6", 0x13, "US"}}, []nameATV{{"2.5.4.10", 0x13, "Glassav Test"}},
		[]nameATV{{"2.5.4.3", 0x0c, cn}})
}

// certSpec describes a certificate to build; zero fields take defaults.
type certSpec struct {
	version    []byte // INTEGER contents; nil: v3 (2); "absent" via noVersion
	noVersion  bool
	serial     []byte
	sigAlg     string
	issuer     []byte
	subject    []byte
	notBefore  []byte // whole time element
	notAfter   []byte
	extensions []byte // whole [3] element
	algParams  []byte // whole parameters element; nil: NULL; empty: none
	sigValue   []byte // whole signature element; nil: a BIT STRING
	spki       []byte // whole SubjectPublicKeyInfo; nil: an EC P-256 key
}

var testSPKI = func() []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	b, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return b
}()

func (s certSpec) build() []byte {
	if s.serial == nil {
		s.serial = []byte{0x01, 0x23, 0x45}
	}
	if s.sigAlg == "" {
		s.sigAlg = "1.2.840.113549.1.1.11"
	}
	if s.issuer == nil {
		s.issuer = simpleName("Glassav Test CA")
	}
	if s.subject == nil {
		s.subject = simpleName("Glassav Test Signer")
	}
	if s.notBefore == nil {
		s.notBefore = derTLV(0x17, []byte("200102030405Z"))
	}
	if s.notAfter == nil {
		s.notAfter = derTLV(0x18, []byte("20510607080910Z"))
	}
	var tbs [][]byte
	if !s.noVersion {
		v := s.version
		if v == nil {
			v = []byte{2}
		}
		tbs = append(tbs, derTLV(0xa0, derTLV(0x02, v)))
	}
	if s.algParams == nil {
		s.algParams = derTLV(0x05)
	}
	alg := derSeq(oidDER(s.sigAlg), s.algParams)
	if s.spki == nil {
		s.spki = testSPKI
	}
	tbs = append(tbs, derTLV(0x02, s.serial), alg, s.issuer, derSeq(s.notBefore, s.notAfter), s.subject, s.spki)
	if s.extensions != nil {
		tbs = append(tbs, s.extensions)
	}
	if s.sigValue == nil {
		s.sigValue = derTLV(0x03, []byte{0, 1, 2, 3, 4})
	}
	return derSeq(derSeq(tbs...), alg, s.sigValue)
}

// signerSpec describes a SignerInfo: the issuer and serial it names and
// its unsigned attributes.
type signerSpec struct {
	issuer    []byte
	serial    []byte
	unauth    []byte // whole [1] element
	encDigest []byte // whole encrypted-digest element; nil: an OCTET STRING
}

func (s signerSpec) build() []byte {
	alg := derSeq(oidDER("2.16.840.1.101.3.4.2.1"), derTLV(0x05))
	if s.encDigest == nil {
		s.encDigest = derTLV(0x04, []byte("signature"))
	}
	f := [][]byte{derTLV(0x02, []byte{1}), derSeq(s.issuer, derTLV(0x02, s.serial)), alg,
		derSeq(oidDER("1.2.840.113549.1.1.1"), derTLV(0x05)), s.encDigest}
	if s.unauth != nil {
		f = append(f, s.unauth)
	}
	return derSeq(f...)
}

// signerOf returns the SignerInfo spec naming the certificate c.
func signerOf(c certSpec) signerSpec {
	if c.serial == nil {
		c.serial = []byte{0x01, 0x23, 0x45}
	}
	if c.issuer == nil {
		c.issuer = simpleName("Glassav Test CA")
	}
	return signerSpec{issuer: c.issuer, serial: c.serial}
}

// signedData builds an Authenticode-shaped PKCS#7 ContentInfo.
func signedData(certs [][]byte, signers ...signerSpec) []byte {
	return signedDataCRL(certs, nil, signers...)
}

// signedDataCRL builds a PKCS#7 ContentInfo that also carries CRLs.
func signedDataCRL(certs, crls [][]byte, signers ...signerSpec) []byte {
	spc := derSeq(oidDER("1.3.6.1.4.1.311.2.1.4"), derTLV(0xa0, derSeq(
		derSeq(oidDER("1.3.6.1.4.1.311.2.1.15"), derSeq()),
		derSeq(derSeq(oidDER("2.16.840.1.101.3.4.2.1"), derTLV(0x05)), derTLV(0x04, make([]byte, 32))))))
	var cs, ss []byte
	for _, c := range certs {
		cs = append(cs, c...)
	}
	for _, s := range signers {
		ss = append(ss, s.build()...)
	}
	f := [][]byte{derTLV(0x02, []byte{1}), derSet(derSeq(oidDER("2.16.840.1.101.3.4.2.1"), derTLV(0x05))), spc,
		derTLV(0xa0, cs)}
	if crls != nil {
		var cr []byte
		for _, c := range crls {
			cr = append(cr, c...)
		}
		f = append(f, derTLV(0xa1, cr))
	}
	sd := derSeq(append(f, derSet(ss))...)
	return derSeq(oidDER("1.2.840.113549.1.7.2"), derTLV(0xa0, sd))
}

// simpleSigned is a blob with one certificate and its signer.
func simpleSigned(c certSpec) []byte { return signedData([][]byte{c.build()}, signerOf(c)) }

// nestedAttr returns a [1] unsigned-attributes element holding a nested
// signature attribute with the given values.
func nestedAttr(values ...[]byte) []byte {
	var v []byte
	for _, x := range values {
		v = append(v, x...)
	}
	return derTLV(0xa1, derSeq(oidDER("1.3.6.1.4.1.311.2.4.1"), derSet(v)))
}

// winCert is one WIN_CERTIFICATE entry, padded to 8 bytes.
func winCert(rev, typ uint16, blob []byte) []byte {
	b := make([]byte, 8, 8+len(blob)+8)
	binary.LittleEndian.PutUint32(b, uint32(8+len(blob)))
	binary.LittleEndian.PutUint16(b[4:], rev)
	binary.LittleEndian.PutUint16(b[6:], typ)
	b = append(b, blob...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// buildSignedPE returns a minimal PE32 file with the certificate table
// appended at offset 0x200; dir, when not nil, overrides the security
// directory's offset and size.
func buildSignedPE(table []byte, dir *[2]uint32) []byte {
	return buildSignedPEOpt(table, dir, 0xe0)
}

// buildSignedPEOpt is buildSignedPE with the SizeOfOptionalHeader given.
func buildSignedPEOpt(table []byte, dir *[2]uint32, optSize uint16) []byte {
	b := make([]byte, 0x200)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[60:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	fh := b[0x44:]
	binary.LittleEndian.PutUint16(fh[0:], 0x14c) // i386
	binary.LittleEndian.PutUint16(fh[16:], optSize)
	binary.LittleEndian.PutUint16(fh[18:], 0x102) // executable, 32-bit
	opt := b[0x58:]
	binary.LittleEndian.PutUint16(opt[0:], 0x10b)
	binary.LittleEndian.PutUint32(opt[32:], 0x200) // SectionAlignment
	binary.LittleEndian.PutUint32(opt[36:], 0x200) // FileAlignment
	binary.LittleEndian.PutUint32(opt[56:], 0x200) // SizeOfImage
	binary.LittleEndian.PutUint32(opt[60:], 0x200) // SizeOfHeaders
	binary.LittleEndian.PutUint32(opt[92:], 16)
	off, size := uint32(0x200), uint32(len(table))
	if dir != nil {
		off, size = dir[0], dir[1]
	}
	binary.LittleEndian.PutUint32(opt[96+32:], off)
	binary.LittleEndian.PutUint32(opt[96+36:], size)
	return append(b, table...)
}

type sigCase struct {
	name    string
	file    []byte
	minSigs int // signatures yara must report at least
}

func sigCases() []sigCase {
	basic := certSpec{}
	pe := func(blobs ...[]byte) []byte {
		var t []byte
		for _, b := range blobs {
			t = append(t, winCert(0x200, 2, b)...)
		}
		return buildSignedPE(t, nil)
	}
	one := func(c certSpec) []byte { return pe(simpleSigned(c)) }
	long := strings.Repeat("Long Organisation Name ", 8)
	utc := func(s string) []byte { return derTLV(0x17, []byte(s)) }
	gen := func(s string) []byte { return derTLV(0x18, []byte(s)) }

	cases := []sigCase{
		{"basic", one(basic), 1},
		{"v1 no version", one(certSpec{noVersion: true}), 1},
		{"version 5", one(certSpec{version: []byte{5}}), 1},
		{"version negative", one(certSpec{version: []byte{0xff}}), 1},
		{"version huge", one(certSpec{version: []byte{1, 0, 0, 0, 0, 0, 0, 0, 0}}), 1},
		{"serial negative", one(certSpec{serial: []byte{0x80, 0x01}}), 1},
		{"serial ff", one(certSpec{serial: []byte{0xff}}), 1},
		{"serial zero", one(certSpec{serial: []byte{0x00}}), 1},
		{"serial 20 bytes", one(certSpec{serial: []byte("\x7f234567890123456789")}), 1},
		{"serial 21 bytes", one(certSpec{serial: []byte("\x00\x80234567890123456789")}), 1},
		{"serial padded", one(certSpec{serial: []byte{0x00, 0x01}}), 0},
		{"serial ff padded", one(certSpec{serial: []byte{0xff, 0x80}}), 0},
		{"serial ff00", one(certSpec{serial: []byte{0xff, 0x00}}), 1},
		{"utc 1949", one(certSpec{notBefore: utc("491231235959Z"), notAfter: utc("500101000000Z")}), 1},
		{"generalized", one(certSpec{notBefore: gen("19000101000000Z"), notAfter: gen("99991231235959Z")}), 1},
		{"time month 13", one(certSpec{notBefore: utc("201301000000Z"), notAfter: utc("200230250000Z")}), 1},
		{"time one short", one(certSpec{notBefore: utc("20010203040"), notAfter: gen("2001020304050")}), 1},
		{"time letters", one(certSpec{notBefore: utc("AB0102030405Z"), notAfter: gen("2020~~02030405Z")}), 1},
		{"time high bytes", one(certSpec{notBefore: utc("\xff\x80\x01\x02030405Z")}), 1},
		{"alg unknown", one(certSpec{sigAlg: "1.2.3.4.5"}), 1},
		{"alg ecdsa384", one(certSpec{sigAlg: "1.2.840.10045.4.3.3"}), 1},
		{"alg pss", one(certSpec{sigAlg: "1.2.840.113549.1.1.10"}), 1},
		{"alg sha1WithRSA oiw", one(certSpec{sigAlg: "1.3.14.3.2.29"}), 1},
		{"alg md5", one(certSpec{sigAlg: "1.2.840.113549.1.1.4"}), 1},
		{"alg rsaEncryption", one(certSpec{sigAlg: "1.2.840.113549.1.1.1"}), 1},
		{"alg sha256 digest", one(certSpec{sigAlg: "2.16.840.1.101.3.4.2.1"}), 1},
		{"name utf8", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "Gerritstraße 14 – ü"}})}), 1},
		{"name bmp", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1e, "\x00A\x00b\x00\xe9"}})}), 1},
		{"name slash plus", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.10", 0x13, "A/B+C=D"}}, []nameATV{{"2.5.4.3", 0x0c, "x\\y\"z"}})}), 1},
		{"name multivalued", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "One"}, {"2.5.4.11", 0x0c, "Two"}}, []nameATV{{"2.5.4.6", 0x13, "DE"}})}), 1},
		{"name unknown oid", one(certSpec{subject: nameDER([]nameATV{{"1.2.3.4.5.6.7", 0x0c, "v"}, {"2.5.4.3", 0x0c, "c"}})}), 1},
		{"name huge arc", one(certSpec{subject: derSeq(derSet(derSeq(derTLV(0x06, []byte{0x2a, 0x8f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x05}),
			derTLV(0x0c, []byte("big")))), derSet(derSeq(derTLV(0x06, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}),
			derTLV(0x0c, []byte("first")))))}), 1},
		{"name long oid", one(certSpec{subject: derSeq(derSet(derSeq(derTLV(0x06, append([]byte{0x2a}, []byte(strings.Repeat("\x81\x01", 40))...)),
			derTLV(0x0c, []byte("long")))))}), 1},
		{"name ev", one(certSpec{subject: nameDER([]nameATV{{"1.3.6.1.4.1.311.60.2.1.3", 0x13, "DE"}}, []nameATV{{"2.5.4.15", 0x0c, "Private Organization"}},
			[]nameATV{{"2.5.4.5", 0x13, "HRB 1"}}, []nameATV{{"1.2.840.113549.1.9.1", 0x16, "a@b.example"}},
			[]nameATV{{"0.9.2342.19200300.100.1.25", 0x16, "example"}}, []nameATV{{"2.5.4.97", 0x0c, "VATDE-1"}},
			[]nameATV{{"2.5.4.14", 0x0c, "guide"}})}), 1},
		{"name long", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.6", 0x13, "US"}}, []nameATV{{"2.5.4.10", 0x0c, long}},
			[]nameATV{{"2.5.4.11", 0x0c, long}}, []nameATV{{"2.5.4.3", 0x0c, "After"}})}), 1},
		{"name exactly full", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, strings.Repeat("x", 251)}})}), 1},
		{"name one over", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, strings.Repeat("x", 252)}})}), 1},
		{"name escapes count", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.10", 0x0c, strings.Repeat("é", 40)}}, []nameATV{{"2.5.4.3", 0x0c, "y"}})}), 1},
		{"name empty", one(certSpec{subject: derSeq()}), 1},
		{"name empty rdn", one(certSpec{subject: derSeq(derSet(), derSet(derSeq(oidDER("2.5.4.3"), derTLV(0x0c, []byte("c")))))}), 1},
		{"name t61 latin1", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x14, "caf\xe9"}})}), 1},
		{"name numeric", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.5", 0x12, "0123"}})}), 1},
		{"name bit string", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.45", 0x03, "\x00ab"}})}), 1},
		{"name other tags", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x07, "t7"}}, []nameATV{{"2.5.4.3", 0x09, "\x01"}},
			[]nameATV{{"2.5.4.3", 0x0d, "\x01"}}, []nameATV{{"2.5.4.3", 0x1d, "t29"}}, []nameATV{{"2.5.4.3", 0x0f, "t15"}})}), 1},
		{"name sequence value", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x30, "\x02\x01\x05"}})}), 1},
		{"name visible", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1a, "vis"}})}), 0},
		{"name generalstring", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1b, "\x00\x00\x00A"}})}), 0},
		{"name videotex", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x15, "v"}})}), 0},
		{"name graphic", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x19, "g"}})}), 0},
		{"name utctime", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x17, "200101000000Z"}})}), 0},
		{"name universalstring", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1c, "\x00\x00\x00A\x00\x01\xf6\x00"}})}), 1},
		{"name bmp surrogate pair", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1e, "\x00A\xd8\x3d\xde\x00"}})}), 0},
		{"name bmp lone surrogate", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1e, "\xdc\x00\x00B"}})}), 0},
		{"name utf8 surrogate", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "a\xed\xa0\x80"}})}), 0},
		{"name utf8 overlong", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "a\xc0\xaf"}})}), 0},
		{"name utf8 beyond unicode", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "a\xf4\x90\x80\x80"}})}), 0},
		{"name utf8 five bytes", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "a\xf8\x88\x80\x80\x80"}})}), 0},
		{"name utf8 nul", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "a\x00b"}})}), 1},
		{"name utf8 astral", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "a\xf0\x9f\x98\x80"}})}), 1},
		{"name universal surrogate", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1c, "\x00\x00\xd8\x00"}})}), 0},
		{"name universal too large", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1c, "\x00\x11\x00\x00"}})}), 0},
		{"name bmp nul", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1e, "\x00\x00\x00A"}})}), 1},
		{"name printable high bytes", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x13, "\xff\x00*"}})}), 1},
		{"name invalid utf8", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0c, "\xff\xfe"}})}), 0},
		{"name bmp odd", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x1e, "\x00A\x00"}})}), 0},
		{"name integer value", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x02, "\x01"}})}), 0},
		{"name octet value", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x04, "oct"}})}), 0},
		{"name unknown string tag", one(certSpec{subject: nameDER([]nameATV{{"2.5.4.3", 0x0e, "t14"}})}), 1},
		{"extensions", one(certSpec{extensions: derTLV(0xa3, derSeq(
			derSeq(oidDER("2.5.29.19"), derTLV(0x01, []byte{0xff}), derTLV(0x04, derSeq())),
			derSeq(oidDER("2.5.29.15"), derTLV(0x04, derTLV(0x03, []byte{7, 0x80})))))}), 1},
		{"extension bad boolean", one(certSpec{extensions: derTLV(0xa3, derSeq(
			derSeq(oidDER("2.5.29.19"), derTLV(0x01, []byte{0xff, 0}), derTLV(0x04, derSeq()))))}), 0},
		{"extension garbage value", one(certSpec{extensions: derTLV(0xa3, derSeq(
			derSeq(oidDER("2.5.29.19"), derTLV(0x04, []byte{0xde, 0xad}))))}), 1},
		{"two signers", pe(signedData([][]byte{basic.build(), certSpec{serial: []byte{9}, subject: simpleName("Second")}.build()},
			signerOf(basic), signerOf(certSpec{serial: []byte{9}}))), 2},
		{"signer missing", pe(signedData([][]byte{basic.build()}, signerOf(certSpec{serial: []byte{9}}))), 0},
		{"second signer missing", pe(signedData([][]byte{basic.build()}, signerOf(basic), signerOf(certSpec{serial: []byte{9}}))), 0},
		{"no signers", pe(signedData([][]byte{basic.build()})), 0},
		{"no certificates", pe(signedData(nil, signerOf(basic))), 0},
		{"signer issuer case and spaces", pe(signedData([][]byte{basic.build()}, signerSpec{
			issuer: nameDER([]nameATV{{"2.5.4.6", 0x0c, "us"}}, []nameATV{{"2.5.4.10", 0x0c, "  glassav   TEST "}},
				[]nameATV{{"2.5.4.3", 0x13, "GLASSAV Test CA"}}), serial: []byte{0x01, 0x23, 0x45}})), 1},
		{"signer issuer differs", pe(signedData([][]byte{basic.build()}, signerSpec{
			issuer: simpleName("Other CA"), serial: []byte{0x01, 0x23, 0x45}})), 0},
		{"cert chosen by issuer and serial", pe(signedData([][]byte{
			certSpec{issuer: simpleName("Other CA"), subject: simpleName("Wrong issuer")}.build(),
			certSpec{serial: []byte{0x02}, subject: simpleName("Wrong serial")}.build(),
			basic.build()}, signerOf(basic))), 1},
		{"nested", pe(signedData([][]byte{basic.build()}, signerSpec{issuer: signerOf(basic).issuer, serial: signerOf(basic).serial,
			unauth: nestedAttr(simpleSigned(certSpec{serial: []byte{7}, subject: simpleName("Nested One")}),
				simpleSigned(certSpec{serial: []byte{8}, subject: simpleName("Nested Two")}))})), 3},
		{"nested in nested", pe(signedData([][]byte{basic.build()}, signerSpec{issuer: signerOf(basic).issuer, serial: signerOf(basic).serial,
			unauth: nestedAttr(signedData([][]byte{certSpec{serial: []byte{7}}.build()}, signerSpec{
				issuer: signerOf(basic).issuer, serial: []byte{7},
				unauth: nestedAttr(simpleSigned(certSpec{serial: []byte{8}, subject: simpleName("Deep")}))}))})), 3},
		{"nested garbage", pe(signedData([][]byte{basic.build()}, signerSpec{issuer: signerOf(basic).issuer, serial: signerOf(basic).serial,
			unauth: nestedAttr(derSeq(derTLV(0x02, []byte{1})), simpleSigned(certSpec{serial: []byte{8}, subject: simpleName("After garbage")}))})), 2},
		{"nested octet string", pe(signedData([][]byte{basic.build()}, signerSpec{issuer: signerOf(basic).issuer, serial: signerOf(basic).serial,
			unauth: nestedAttr(derTLV(0x04, simpleSigned(certSpec{serial: []byte{8}, subject: simpleName("In octets")})))})), 2},
		{"nested on second signer", pe(signedData([][]byte{basic.build(), certSpec{serial: []byte{9}}.build()},
			signerOf(basic), signerSpec{issuer: signerOf(basic).issuer, serial: []byte{9},
				unauth: nestedAttr(simpleSigned(certSpec{serial: []byte{8}, subject: simpleName("Ignored")}))})), 2},
		{"two nested attributes", pe(signedData([][]byte{basic.build()}, signerSpec{issuer: signerOf(basic).issuer, serial: signerOf(basic).serial,
			unauth: derTLV(0xa1,
				derSeq(oidDER("1.3.6.1.4.1.311.2.4.1"), derSet(simpleSigned(certSpec{serial: []byte{7}, subject: simpleName("First attr")}))),
				derSeq(oidDER("1.3.6.1.4.1.311.2.4.1"), derSet(simpleSigned(certSpec{serial: []byte{8}, subject: simpleName("Second attr")}))))})), 2},
		{"two entries", pe(simpleSigned(basic), simpleSigned(certSpec{serial: []byte{5}, subject: simpleName("Entry two")})), 2},
		{"two blobs one entry", pe(append(simpleSigned(basic), simpleSigned(certSpec{serial: []byte{5}, subject: simpleName("Blob two")})...)), 2},
		{"data blob then signed", pe(append(derSeq(oidDER("1.2.840.113549.1.7.1"), derTLV(0xa0, derTLV(0x04, []byte("x")))), simpleSigned(basic)...)), 1},
		{"bad blob then signed", pe(append(derSeq(derTLV(0x02, []byte{1})), simpleSigned(basic)...)), 0},
		{"indefinite length", pe(berIndef(0x30, derContents(simpleSigned(basic)))), 1},
		{"more than 16", pe(func() []byte {
			var certs [][]byte
			var signers []signerSpec
			for i := 0; i < 20; i++ {
				c := certSpec{serial: []byte{byte(i + 1)}, subject: simpleName("Many " + string(rune('A'+i)))}
				certs = append(certs, c.build())
				signers = append(signers, signerOf(c))
			}
			return signedData(certs, signers...)
		}()), 16},
		{"unknown type then signed", pe(append(derSeq(oidDER("1.2.3.4"), derTLV(0xa0, derSeq(derTLV(0x02, []byte{1})))), simpleSigned(basic)...)), 1},
		{"signed without content then signed", pe(append(derSeq(oidDER("1.2.840.113549.1.7.2")), simpleSigned(basic)...)), 1},
		{"long form length", pe(func() []byte {
			b := simpleSigned(basic)
			c := derContents(b)
			return append([]byte{0x30, 0x84, 0, 0, byte(len(c) >> 8), byte(len(c))}, c...)
		}()), 1},
		{"trailing element in certificate", one(certSpec{extensions: append(derTLV(0xa3, derSeq()), derTLV(0x02, []byte{1})...)}), 0},
		{"params absent", one(certSpec{algParams: []byte{}}), 1},
		{"params null with contents", one(certSpec{algParams: derTLV(0x05, []byte{0})}), 0},
		{"params boolean long", one(certSpec{algParams: derTLV(0x01, []byte{1, 1})}), 0},
		{"params bad oid", one(certSpec{algParams: derTLV(0x06, []byte{0x80, 0x01})}), 0},
		{"params padded integer", one(certSpec{algParams: derTLV(0x02, []byte{0, 1})}), 0},
		{"params sequence", one(certSpec{sigAlg: "1.2.840.113549.1.1.10", algParams: derSeq(derTLV(0xa0, derSeq(oidDER("2.16.840.1.101.3.4.2.1"))))}), 1},
		{"params context tagged", one(certSpec{algParams: derTLV(0x80, []byte{1, 2})}), 1},
		{"params bad bit string", one(certSpec{algParams: derTLV(0x03, []byte{9})}), 0},
		{"crl present", pe(signedDataCRL([][]byte{basic.build()}, [][]byte{derSeq(
			derSeq(derSeq(oidDER("1.2.840.113549.1.1.11"), derTLV(0x05)), simpleName("Glassav Test CA"), derTLV(0x17, []byte("200101000000Z"))),
			derSeq(oidDER("1.2.840.113549.1.1.11"), derTLV(0x05)), derTLV(0x03, []byte{0, 1}))}, signerOf(basic))), 1},
		{"auth attributes", pe(signedData([][]byte{basic.build()}, signerSpec{issuer: signerOf(basic).issuer, serial: signerOf(basic).serial,
			unauth: derTLV(0xa1, derSeq(oidDER("1.2.840.113549.1.9.6"), derSet(derSeq(derTLV(0x02, []byte{1})))))})), 1},
		{"constructed octet digest", pe(signedData([][]byte{basic.build()}, signerSpec{issuer: signerOf(basic).issuer, serial: signerOf(basic).serial,
			encDigest: berIndef(0x24, derTLV(0x04, []byte("sig")), derTLV(0x04, []byte("nature")))})), 1},
		{"deep nesting", pe(func() []byte {
			inner := simpleSigned(certSpec{serial: []byte{100}, subject: simpleName("Level 0")})
			for i := 1; i < 20; i++ {
				c := certSpec{serial: []byte{byte(100 + i)}, subject: simpleName("Level " + string(rune('A'+i)))}
				inner = signedData([][]byte{c.build()}, signerSpec{issuer: signerOf(c).issuer, serial: c.serial, unauth: nestedAttr(inner)})
			}
			return inner
		}()), 16},
		{"certificate long form length", pe(func() []byte {
			c := derContents(basic.build())
			long := append([]byte{0x30, 0x84, 0, 0, byte(len(c) >> 8), byte(len(c))}, c...)
			return signedData([][]byte{long}, signerOf(basic))
		}()), 1},
		{"certificate indefinite length", pe(signedData([][]byte{berIndef(0x30, derContents(basic.build()))}, signerOf(basic))), 1},
		{"tbs indefinite length", pe(func() []byte {
			c := derContents(basic.build())
			tbs := derTLV(0x30, derContents(c))
			rest := c[len(tbs):]
			return signedData([][]byte{derSeq(berIndef(0x30, derContents(c)), rest)}, signerOf(basic))
		}()), 1},
		{"signature unused bits set", one(certSpec{sigValue: derTLV(0x03, []byte{3, 0xaa, 0xff})}), 1},
		{"signature constructed", one(certSpec{sigValue: berIndef(0x23, derTLV(0x03, []byte{0, 0xaa}), derTLV(0x03, []byte{0xbb}))}), 1},
		{"signature bits count 8", one(certSpec{sigValue: derTLV(0x03, []byte{8, 0xaa})}), 0},
		// OpenSSL wants a byte more than a long-form length takes: an
		// empty element with one, last in its SEQUENCE, is refused.
		{"params long form null", one(certSpec{algParams: []byte{0x05, 0x81, 0x00}}), 0},
		{"extension long form value", one(certSpec{extensions: derTLV(0xa3, derSeq(
			derSeq(oidDER("2.5.29.19"), []byte{0x04, 0x81, 0x02, 0x30, 0x00})))}), 1},
		// OpenSSL reads SET OF and SEQUENCE OF even when primitive.
		{"rdn primitive set", one(certSpec{subject: derSeq(derTLV(0x11, derSeq(oidDER("2.5.4.3"), derTLV(0x0c, []byte("prim")))))}), 1},
		{"name primitive sequence", one(certSpec{subject: derTLV(0x10, derSet(derSeq(oidDER("2.5.4.3"), derTLV(0x0c, []byte("prim")))))}), 1},
		{"extensions primitive sequence", one(certSpec{extensions: derTLV(0xa3, derTLV(0x10,
			derSeq(oidDER("2.5.29.19"), derTLV(0x04, derSeq()))))}), 1},
		{"attribute primitive sequence", one(certSpec{subject: derSeq(derSet(derTLV(0x10, append(oidDER("2.5.4.3"), derTLV(0x0c, []byte("p"))...))))}), 0},
		{"certificates primitive set", pe(func() []byte {
			b := simpleSigned(basic)
			i := strings.Index(string(b), string(derTLV(0xa0, basic.build())))
			b[i] = 0x80
			return b
		}()), 1},
		// OpenSSL decodes the key opportunistically: a key it cannot read
		// does not make the certificate unreadable.
		{"key rsa garbage", one(certSpec{spki: derSeq(derSeq(oidDER("1.2.840.113549.1.1.1"), derTLV(0x05)), derTLV(0x03, []byte{0, 1, 2, 3}))}), 1},
		{"key ec garbage", one(certSpec{spki: derSeq(derSeq(oidDER("1.2.840.10045.2.1"), oidDER("1.2.840.10045.3.1.7")), derTLV(0x03, []byte{0, 4, 1, 2}))}), 1},
		{"key unknown algorithm", one(certSpec{spki: derSeq(derSeq(oidDER("1.2.3.4")), derTLV(0x03, []byte{0}))}), 1},
		{"key not a bit string", one(certSpec{spki: derSeq(derSeq(oidDER("1.2.3.4")), derTLV(0x04, []byte{0}))}), 0},
		{"revision 1 skipped", buildSignedPE(append(winCert(0x100, 2, simpleSigned(basic)),
			winCert(0x200, 2, simpleSigned(certSpec{serial: []byte{5}, subject: simpleName("After rev1")}))...), nil), 1},
		{"x509 type skipped", buildSignedPE(append(winCert(0x200, 1, simpleSigned(basic)),
			winCert(0x200, 2, simpleSigned(certSpec{serial: []byte{5}, subject: simpleName("After x509")}))...), nil), 1},
		{"bad revision stops", buildSignedPE(append(winCert(0x300, 2, simpleSigned(basic)),
			winCert(0x200, 2, simpleSigned(certSpec{serial: []byte{5}}))...), nil), 0},
		{"directory offset zero", buildSignedPE(winCert(0x200, 2, simpleSigned(basic)), &[2]uint32{0, 0x400}), 0},
		{"directory past end", buildSignedPE(winCert(0x200, 2, simpleSigned(basic)), &[2]uint32{0x200, 0x100000}), 0},
		{"directory short", buildSignedPE(winCert(0x200, 2, simpleSigned(basic)), &[2]uint32{0x200, 0x100}), 0},
		{"directory wraps", buildSignedPE(winCert(0x200, 2, simpleSigned(basic)), &[2]uint32{0x200, 0xffffff00}), 0},
		// yara finds the security entry when it starts within
		// SizeOfOptionalHeader, whatever NumberOfRvaAndSizes says.
		{"entry starts at optional header end", buildSignedPEOpt(winCert(0x200, 2, simpleSigned(basic)), nil, 128), 1},
		{"entry past optional header", buildSignedPEOpt(winCert(0x200, 2, simpleSigned(basic)), nil, 127), 0},
		{"unsigned", buildSignedPE(nil, &[2]uint32{0, 0}), 0},
	}
	return cases
}

// derContents returns the contents of the DER element b.
func derContents(b []byte) []byte {
	l, i := int(b[1]), 2
	if l&0x80 != 0 {
		n := l & 0x7f
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		i += n
	}
	return b[i : i+l]
}

// TestPESignaturesGenerated compares glassav's signatures with yara's on
// every generated case.
func TestPESignaturesGenerated(t *testing.T) {
	testenv.NeedTool(t, "yara")
	dir := t.TempDir()
	var lines, sigs int
	var diffs []string
	cases := sigCases()
	for _, c := range cases {
		f := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
		if err := os.WriteFile(f, c.file, 0o644); err != nil {
			t.Fatal(err)
		}
		l, s, d := sigDiff(t, f)
		if s < c.minSigs {
			t.Errorf("%s: yara reported %d signatures, the case was built for at least %d", c.name, s, c.minSigs)
		}
		lines += l
		sigs += s
		if len(d) > 2 {
			d = d[:2]
		}
		diffs = append(diffs, d...)
	}
	t.Logf("%d generated files, %d signatures, %d lines of yara -D compared, %d differ", len(cases), sigs, lines, len(diffs))
	if len(diffs) > 0 {
		t.Fatalf("signatures differ from yara -D:\n%s", strings.Join(diffs, "\n"))
	}
	if sigs < 60 {
		t.Fatalf("yara reported %d signatures over the generated files; want at least 60", sigs)
	}
}

// TestPESignaturesMutatedPeer compares glassav with yara on signed files
// whose certificate table has been damaged at random (a fixed seed): a
// byte set to a value that matters to a DER decoder, or a byte flipped.
// Most mutants lose their signatures in both; the rest check that the
// decoders refuse and accept the same encodings.
func TestPESignaturesMutatedPeer(t *testing.T) {
	testenv.NeedTool(t, "yara")
	n := 150
	if testing.Short() {
		n = 30
	}
	if s := os.Getenv("GLASSAV_SIG_MUTANTS"); s != "" {
		fmt.Sscan(s, &n)
	}
	var bases [][]byte
	for _, c := range sigCases() {
		switch c.name {
		case "basic", "nested", "two signers", "name ev", "extensions", "indefinite length", "crl present":
			bases = append(bases, c.file)
		}
	}
	for _, f := range []string{"/usr/lib/shim/mmx64.efi.signed", "/usr/lib/shim/shimx64.efi.signed"} {
		if b, err := os.ReadFile(f); err == nil {
			bases = append(bases, b) // real tables; shimx64's has a nested signature
		}
	}
	seed := uint64(1)
	if s := os.Getenv("GLASSAV_SIG_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	r := mrand.New(mrand.NewPCG(seed, 2))
	interesting := []byte{0x00, 0x01, 0x02, 0x05, 0x06, 0x7f, 0x80, 0x81, 0x82, 0xff, 0x30, 0x31, 0xa0, 0xa1, 0x04, 0x03, 0x13, 0x0c}
	dir := t.TempDir()
	if d := os.Getenv("GLASSAV_SIG_MUTANTS_DIR"); d != "" {
		dir = d // keep the mutants for a closer look
	}
	var sigs, lines int
	var diffs []string
	for i := 0; i < n; i++ {
		base := bases[i%len(bases)]
		f := append([]byte(nil), base...)
		// The table is the tail of every base file from its directory's
		// offset; mutate past the 8-byte WIN_CERTIFICATE header.
		off := tableOffset(f)
		pos := off + 8 + r.IntN(len(f)-off-8)
		for k := 0; k < 1+r.IntN(2); k++ {
			if r.IntN(2) == 0 {
				f[pos] = interesting[r.IntN(len(interesting))]
			} else {
				f[pos] ^= 1 << r.IntN(8)
			}
			pos = off + 8 + r.IntN(len(f)-off-8)
		}
		name := filepath.Join(dir, fmt.Sprintf("mutant%03d", i))
		if err := os.WriteFile(name, f, 0o644); err != nil {
			t.Fatal(err)
		}
		l, s, d := sigDiff(t, name)
		lines += l
		sigs += s
		if len(d) > 2 {
			d = d[:2]
		}
		diffs = append(diffs, d...)
	}
	t.Logf("%d mutants, %d signatures, %d lines of yara -D compared, %d differ", n, sigs, lines, len(diffs))
	if len(diffs) > 0 {
		t.Fatalf("signatures differ from yara -D:\n%s", strings.Join(diffs, "\n"))
	}
	if sigs < n/10 {
		t.Fatalf("yara found %d signatures in %d mutants; want at least %d", sigs, n, n/10)
	}
}

// tableOffset returns the certificate table offset of a PE file (PE32 or
// PE32+) built or installed for these tests.
func tableOffset(f []byte) int {
	lfanew := int(binary.LittleEndian.Uint32(f[0x3c:]))
	opt := lfanew + 24
	dirs := opt + 96
	if binary.LittleEndian.Uint16(f[opt:]) == 0x20b {
		dirs = opt + 112
	}
	return int(binary.LittleEndian.Uint32(f[dirs+32:]))
}
