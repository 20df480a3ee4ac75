package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"hash"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads what yara 4.3's pe module reports of each signature
// beyond 4.2.3's certificate fields. 4.3 reads signatures with its own
// authenticode-parser instead of asking OpenSSL for the signers only: it
// reports the digest the signature claims for the file, the digest of the
// file computed here, every certificate the signature carries, the
// signer's details and chain, the countersignatures, and whether the
// signature verifies. "Verified" means what it means there: the
// signature is consistent — the file digest matches, the signed
// attributes carry the digest of the signed content, and the signer's
// key verifies the signature over them. No certificate is checked
// against a trust store, for validity dates or revocation.

// A Signature is one signature of a PE file, with yara 4.3's values.
type Signature struct {
	// Signer is the signer's certificate, as Signatures returns it.
	Signer *Certificate
	// Certificates are all the certificates of the SignedData, in order.
	Certificates []*Certificate

	// DigestAlg is the short name of the algorithm of the file digest
	// the signature claims ("sha1", "sha256"…), "" when unreadable.
	DigestAlg string
	// Digest is the file digest the signature claims (in its
	// SpcIndirectDataContent), nil when unreadable.
	Digest []byte
	// FileDigest is the Authenticode digest of the file computed with
	// DigestAlg, nil when the algorithm is unknown or the headers do not
	// allow it.
	FileDigest []byte
	// Verified is yara 4.3's signatures[i].verified.
	Verified bool

	// The signer's details (signatures[i].signer_info).
	ProgramName     []byte // nil when absent
	SignerDigestAlg string // the signer's digest algorithm
	SignerDigest    []byte // the messageDigest attribute, nil when absent
	Chain           []*Certificate

	Countersignatures []*Countersignature
}

// MaxCountersignatures bounds the countersignatures read for one
// signature, each a public-key verification: real signatures have one or
// two, and a hostile table could otherwise demand thousands.
const MaxCountersignatures = 16

// A Countersignature is a PKCS#9 countersignature of a signer: a
// timestamp authority's signature over the signer's signature.
type Countersignature struct {
	Verified    bool
	SignTime    int64 // the signingTime attribute, Unix seconds
	HasSignTime bool
	DigestAlg   string
	Digest      []byte // its messageDigest attribute, nil when absent
	Chain       []*Certificate
}

// OIDs (DER contents) of the attributes and digests read here.
var (
	oidMessageDigest    = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04}
	oidSigningTime      = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05}
	oidCountersignature = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x06}
	oidSpcSpOpusInfo    = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0c}
	oidMSTimestamp      = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03, 0x03, 0x01} // 1.3.6.1.4.1.311.3.3.1, an RFC 3161 token
)

// digestAlgorithm is a digest algorithm signatures name.
type digestAlgorithm struct {
	name string
	hash crypto.Hash
	new  func() hash.Hash
}

var digestAlgorithms = map[string]digestAlgorithm{
	"\x2a\x86\x48\x86\xf7\x0d\x02\x05":     {"md5", crypto.MD5, md5.New},
	"\x2b\x0e\x03\x02\x1a":                 {"sha1", crypto.SHA1, sha1.New},
	"\x60\x86\x48\x01\x65\x03\x04\x02\x01": {"sha256", crypto.SHA256, sha256.New},
	"\x60\x86\x48\x01\x65\x03\x04\x02\x02": {"sha384", crypto.SHA384, sha512.New384},
	"\x60\x86\x48\x01\x65\x03\x04\x02\x03": {"sha512", crypto.SHA512, sha512.New},
	"\x60\x86\x48\x01\x65\x03\x04\x02\x04": {"sha224", crypto.SHA224, sha256.New224},
}

// Details returns the signatures of the certificate table at file offset
// off, size bytes long, in the order and number Signatures returns them,
// with yara 4.3's values.
func Details(data []byte, off, size uint32) []*Signature {
	refs := signers(data, off, size)
	out := make([]*Signature, len(refs))
	var fileDigests map[string][]byte
	for i, r := range refs {
		s := &Signature{Signer: r.cert, Certificates: r.ci.Signed.Certificates}
		si := &r.ci.Signed.SignerInfos[r.index]
		alg, digest, ok := indirectDigest(r.ci.Signed.Inner)
		if ok {
			s.Digest = digest
			if a, known := digestAlgorithms[string(alg)]; known {
				s.DigestAlg = a.name
				if fileDigests == nil {
					fileDigests = make(map[string][]byte)
				}
				fd, done := fileDigests[a.name]
				if !done {
					fd = FileDigest(data, a.new())
					fileDigests[a.name] = fd
				}
				s.FileDigest = fd
			}
		}
		if a, known := digestAlgorithms[string(si.DigestAlgorithm)]; known {
			s.SignerDigestAlg = a.name
		}
		s.SignerDigest = attributeOctets(si.Authenticated, oidMessageDigest)
		s.ProgramName = programName(si.Authenticated)
		s.Chain = chain(r.cert, r.ci.Signed.Certificates)
		s.Verified = s.FileDigest != nil && bytes.Equal(s.FileDigest, s.Digest) &&
			verifySigner(si, r.cert, r.ci.Signed.Inner)
		// Countersignatures are PKCS#9 ones (a SignerInfo) or Microsoft's
		// RFC 3161 timestamp tokens, in attribute order.
		for _, a := range si.Unauthenticated {
			pkcs9, ms := bytes.Equal(a.Type, oidCountersignature), bytes.Equal(a.Type, oidMSTimestamp)
			if !pkcs9 && !ms {
				continue
			}
			for _, v := range a.Values {
				if len(s.Countersignatures) >= MaxCountersignatures {
					break
				}
				var cs *Countersignature
				if pkcs9 {
					cs = countersignature(v, si, r.ci.Signed.Certificates)
				} else {
					cs = timestampCountersignature(v, si)
				}
				if cs != nil {
					s.Countersignatures = append(s.Countersignatures, cs)
				}
			}
		}
		out[i] = s
	}
	return out
}

// indirectDigest returns the digest algorithm and value an Authenticode
// SpcIndirectDataContent holds: SEQUENCE { data, DigestInfo { algorithm,
// OCTET STRING } }.
func indirectDigest(ci *ContentInfo) (alg, digest []byte, ok bool) {
	if ci == nil || ci.content.full == nil {
		return nil, nil, false
	}
	f, err := sequence(ci.content, 2)
	if err != nil || len(f) != 2 {
		return nil, nil, false
	}
	di, err := sequence(f[1], 3)
	if err != nil || len(di) != 2 || !di[1].is(classUniversal, tagOctetString) {
		return nil, nil, false
	}
	if alg, err = algorithm(di[0], 4); err != nil {
		return nil, nil, false
	}
	if digest, err = di[1].stringBytes(); err != nil {
		return nil, nil, false
	}
	return alg, digest, true
}

// FileDigest returns the Authenticode digest of a PE file computed with
// h: every byte up to the start of the certificate table except the
// optional header's CheckSum and the security directory entry, the
// regions yara 4.3's parser hashes. It returns nil when the headers do
// not locate those fields or the table inside data.
func FileDigest(data []byte, h hash.Hash) []byte {
	if len(data) < 0x40 {
		return nil
	}
	nt := uint64(binary.LittleEndian.Uint32(data[0x3c:]))
	opt := nt + 24
	if opt+2 > uint64(len(data)) {
		return nil
	}
	dirs := opt + 96 // the data directories of PE32
	if binary.LittleEndian.Uint16(data[opt:]) == 0x20b {
		dirs = opt + 112 // PE32+
	}
	checksum, security := opt+64, dirs+4*8
	if security+8 > uint64(len(data)) {
		return nil
	}
	table := uint64(binary.LittleEndian.Uint32(data[security:]))
	if table < security+8 || table > uint64(len(data)) {
		return nil
	}
	h.Write(data[:checksum])
	h.Write(data[checksum+4 : security])
	h.Write(data[security+8 : table])
	return h.Sum(nil)
}

// verifySigner reports whether si's signature is consistent: its signed
// attributes carry the digest of the signed content and the signer's key
// verifies the signature over those attributes.
func verifySigner(si *SignerInfo, cert *Certificate, content *ContentInfo) bool {
	a, ok := digestAlgorithms[string(si.DigestAlgorithm)]
	if !ok || si.authRaw.full == nil || content == nil || content.content.full == nil {
		return false
	}
	h := a.new()
	h.Write(content.content.content) // the content octets, without tag and length
	if md := attributeOctets(si.Authenticated, oidMessageDigest); !bytes.Equal(md, h.Sum(nil)) {
		return false
	}
	return verifyAttributes(si, cert, a, false)
}

// verifyAttributes checks the signature of si over its signed
// attributes, which it covers encoded as a SET (the [0] tag replaced).
// With bare, an RSA signature may also hold the bare digest instead of a
// DigestInfo: older timestamp authorities sign so, and yara 4.3's parser
// accepts it for countersignatures.
func verifyAttributes(si *SignerInfo, cert *Certificate, a digestAlgorithm, bare bool) bool {
	if cert == nil || len(si.authRaw.full) == 0 {
		return false
	}
	signed, ok := signedAttributes(si.authRaw)
	if !ok {
		return false
	}
	h := a.new()
	h.Write(signed)
	sum := h.Sum(nil)
	xc, err := x509.ParseCertificate(cert.Raw)
	if err != nil {
		return false
	}
	switch pub := xc.PublicKey.(type) {
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(pub, a.hash, sum, si.EncryptedDigest) == nil {
			return true
		}
		return bare && rsa.VerifyPKCS1v15(pub, 0, sum, si.EncryptedDigest) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(pub, sum, si.EncryptedDigest)
	}
	return false
}

// signedAttributes returns the encoding a signature over the signed
// attributes covers: a DER SET, whose elements are sorted by their
// encodings (OpenSSL re-encodes the attributes so before verifying, so a
// signer that stored them in another order still verifies).
func signedAttributes(raw element) ([]byte, bool) {
	items, err := raw.items(2)
	if err != nil {
		return nil, false
	}
	encs := make([][]byte, len(items))
	n := 0
	for i, it := range items {
		encs[i] = it.full
		n += len(it.full)
	}
	slices.SortStableFunc(encs, bytes.Compare)
	out := derHeader(0x31, n)
	for _, e := range encs {
		out = append(out, e...)
	}
	return out, true
}

// countersignature reads one PKCS#9 countersignature value of parent:
// a SignerInfo whose messageDigest is the digest of the parent's
// signature value.
func countersignature(v element, parent *SignerInfo, certs []*Certificate) *Countersignature {
	si, err := parseSignerInfo(v, 4)
	if err != nil {
		return nil
	}
	cs := &Countersignature{Digest: attributeOctets(si.Authenticated, oidMessageDigest)}
	for _, at := range si.Authenticated {
		if bytes.Equal(at.Type, oidSigningTime) && len(at.Values) == 1 {
			if t, err := parseTime(at.Values[0]); err == nil {
				cs.SignTime, cs.HasSignTime = t.Unix(), true
			}
		}
	}
	cert := findCertificate(certs, si.Issuer, si.SerialNumber)
	cs.Chain = chain(cert, certs)
	a, ok := digestAlgorithms[string(si.DigestAlgorithm)]
	if !ok {
		return cs
	}
	cs.DigestAlg = a.name
	h := a.new()
	h.Write(parent.EncryptedDigest)
	cs.Verified = cs.Digest != nil && bytes.Equal(cs.Digest, h.Sum(nil)) && verifyAttributes(&si, cert, a, true)
	return cs
}

// timestampCountersignature reads a Microsoft timestamp attribute value:
// a SignedData whose content is an RFC 3161 TSTInfo. Its digest is the
// token's message imprint, which must be the digest of the parent's
// signature value; its time is the token's genTime; it verifies when the
// imprint matches, the token's signer carries the digest of the TSTInfo
// and its key verifies the signature over its attributes.
func timestampCountersignature(v element, parent *SignerInfo) *Countersignature {
	ci, err := parseContentInfo(v, 4)
	if err != nil || ci.Signed == nil || len(ci.Signed.SignerInfos) == 0 {
		return nil
	}
	sd := ci.Signed
	si := &sd.SignerInfos[0]
	cert := findCertificate(sd.Certificates, si.Issuer, si.SerialNumber)
	cs := &Countersignature{Chain: chain(cert, sd.Certificates)}
	tst, imprintAlg, imprint, genTime, ok := tstInfo(sd.Inner)
	if !ok {
		return cs
	}
	cs.Digest = imprint
	cs.SignTime, cs.HasSignTime = genTime.Unix(), true
	a, known := digestAlgorithms[string(imprintAlg)]
	if !known {
		return cs
	}
	cs.DigestAlg = a.name
	h := a.new()
	h.Write(parent.EncryptedDigest)
	if !bytes.Equal(imprint, h.Sum(nil)) {
		return cs
	}
	sa, known := digestAlgorithms[string(si.DigestAlgorithm)]
	if !known {
		return cs
	}
	h = sa.new()
	h.Write(tst)
	md := attributeOctets(si.Authenticated, oidMessageDigest)
	cs.Verified = md != nil && bytes.Equal(md, h.Sum(nil)) && verifyAttributes(si, cert, sa, false)
	return cs
}

// tstInfo reads the TSTInfo an RFC 3161 token signs (SEQUENCE { version,
// policy, messageImprint { algorithm, OCTET STRING }, serialNumber,
// genTime, … }) from the token's content, an OCTET STRING holding it.
func tstInfo(ci *ContentInfo) (raw, imprintAlg, imprint []byte, genTime Time, ok bool) {
	if ci == nil || !ci.content.is(classUniversal, tagOctetString) {
		return nil, nil, nil, Time{}, false
	}
	raw, err := ci.content.stringBytes()
	if err != nil {
		return nil, nil, nil, Time{}, false
	}
	e, _, err := parseElement(raw, 3)
	if err != nil {
		return nil, nil, nil, Time{}, false
	}
	f, err := sequence(e, 3)
	if err != nil || len(f) < 5 {
		return nil, nil, nil, Time{}, false
	}
	mi, err := sequence(f[2], 4)
	if err != nil || len(mi) != 2 || !mi[1].is(classUniversal, tagOctetString) {
		return nil, nil, nil, Time{}, false
	}
	if imprintAlg, err = algorithm(mi[0], 5); err != nil {
		return nil, nil, nil, Time{}, false
	}
	if imprint, err = mi[1].stringBytes(); err != nil {
		return nil, nil, nil, Time{}, false
	}
	if genTime, err = parseTime(f[4]); err != nil {
		return nil, nil, nil, Time{}, false
	}
	return raw, imprintAlg, imprint, genTime, true
}

// findCertificate returns the first certificate with the issuer and
// serial number, or nil.
func findCertificate(certs []*Certificate, issuer Name, serial []byte) *Certificate {
	k := issuerSerialKey(issuer, serial)
	for _, c := range certs {
		if issuerSerialKey(c.Issuer, c.SerialNumber) == k {
			return c
		}
	}
	return nil
}

// chain returns leaf and the certificates that issued it, found among
// certs by subject, up to a self-issued one or one whose issuer is not
// there (no trust store is consulted); nil for a nil leaf.
func chain(leaf *Certificate, certs []*Certificate) []*Certificate {
	if leaf == nil {
		return nil
	}
	out := []*Certificate{leaf}
	for c := leaf; len(out) <= len(certs); {
		if bytes.Equal(c.Issuer.canon, c.Subject.canon) {
			break
		}
		var next *Certificate
		for _, d := range certs {
			if d != c && bytes.Equal(d.Subject.canon, c.Issuer.canon) && !contains(out, d) {
				next = d
				break
			}
		}
		if next == nil {
			break
		}
		out = append(out, next)
		c = next
	}
	return out
}

func contains(cs []*Certificate, c *Certificate) bool {
	for _, d := range cs {
		if d == c {
			return true
		}
	}
	return false
}

// attributeOctets returns the OCTET STRING value of the first attribute
// of type t, or nil.
func attributeOctets(attrs []Attribute7, t []byte) []byte {
	for _, a := range attrs {
		if bytes.Equal(a.Type, t) && len(a.Values) == 1 && a.Values[0].is(classUniversal, tagOctetString) {
			b, err := a.Values[0].stringBytes()
			if err == nil {
				return b
			}
		}
	}
	return nil
}

// programName returns the program name of the SpcSpOpusInfo attribute
// (SEQUENCE { [0] EXPLICIT SpcString OPTIONAL, … }, SpcString a [0]
// BMPString or a [1] IA5String) in UTF-8, or nil.
func programName(attrs []Attribute7) []byte {
	for _, a := range attrs {
		if !bytes.Equal(a.Type, oidSpcSpOpusInfo) || len(a.Values) != 1 {
			continue
		}
		f, err := sequence(a.Values[0], 4)
		if err != nil || len(f) == 0 || !f[0].is(classContext, 0) {
			return nil
		}
		s, err := explicit(f[0], 5)
		if err != nil {
			return nil
		}
		b, err := s.stringBytes()
		if err != nil {
			return nil
		}
		switch {
		case s.is(classContext, 0):
			return utf16BE(b)
		case s.is(classContext, 1):
			return b
		}
		return nil
	}
	return nil
}

// utf16BE converts UTF-16BE (a BMPString) to UTF-8.
func utf16BE(b []byte) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out
}
