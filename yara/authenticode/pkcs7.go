package authenticode

import (
	"bytes"
	"errors"
	"strconv"
)

// OIDs (DER contents) the PKCS#7 decoder dispatches on.
var (
	oidData            = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01}
	oidSignedData      = []byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}
	oidNestedSignature = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x04, 0x01} // 1.3.6.1.4.1.311.2.4.1
)

// A ContentInfo is a PKCS#7 ContentInfo; Signed is set when its type is
// SignedData and the content is present.
type ContentInfo struct {
	Type   []byte // OID contents
	Signed *SignedData

	// content is the explicit content of a type other than SignedData
	// (in Authenticode the SpcIndirectDataContent), for verification.
	content element
}

// A SignedData is a PKCS#7 SignedData: the certificates it carries and
// its signers.
type SignedData struct {
	Certificates []*Certificate
	SignerInfos  []SignerInfo

	// Inner is the signed content (in Authenticode, an
	// SpcIndirectDataContent holding the file's digest).
	Inner *ContentInfo
}

// A SignerInfo is one signer of a SignedData.
type SignerInfo struct {
	Issuer       Name
	SerialNumber []byte
	// Unauthenticated holds the unsigned attributes (nested signatures,
	// countersignatures).
	Unauthenticated []Attribute7

	// DigestAlgorithm is the OID contents of the digest the signer
	// computed over the content and the authenticated attributes.
	DigestAlgorithm []byte
	// Authenticated holds the signed attributes (messageDigest,
	// contentType, the program name…); authRaw is their encoding, which
	// the signature covers with its [0] tag read as a SET.
	Authenticated []Attribute7
	authRaw       element
	// EncryptedDigest is the signature value.
	EncryptedDigest []byte
}

// An Attribute7 is a PKCS#9 attribute: a type and its set of values (the
// whole encoding of each value).
type Attribute7 struct {
	Type   []byte
	Values []element
}

// ParseContentInfo decodes one PKCS#7 ContentInfo at the start of b as
// OpenSSL's d2i_PKCS7 does, and returns it with the bytes after it.
func ParseContentInfo(b []byte) (*ContentInfo, []byte, error) {
	e, rest, err := parseElement(b, 0)
	if err != nil {
		return nil, nil, err
	}
	ci, err := parseContentInfo(e, 0)
	if err != nil {
		return nil, nil, err
	}
	return ci, rest, nil
}

func parseContentInfo(e element, depth int) (*ContentInfo, error) {
	f, err := sequence(e, depth)
	if err != nil {
		return nil, err
	}
	if len(f) < 1 || len(f) > 2 {
		return nil, errors.New("authenticode: ContentInfo is not type and content")
	}
	ci := &ContentInfo{}
	if ci.Type, err = oid(f[0]); err != nil {
		return nil, err
	}
	if len(f) == 1 {
		return ci, nil
	}
	if !f[1].is(classContext, 0) {
		return nil, errors.New("authenticode: ContentInfo content is not [0]")
	}
	c, err := explicit(f[1], depth+1)
	if err != nil {
		return nil, err
	}
	switch {
	case bytes.Equal(ci.Type, oidSignedData):
		if ci.Signed, err = parseSignedData(c, depth+2); err != nil {
			return nil, err
		}
	case bytes.Equal(ci.Type, oidData):
		if !c.is(classUniversal, tagOctetString) {
			return nil, errors.New("authenticode: data content is not an OCTET STRING")
		}
		if _, err := c.stringBytes(); err != nil {
			return nil, err
		}
	default:
		ci.content = c
		// Other types are read as ANY. (OpenSSL decodes the enveloped,
		// digested and encrypted types by their own templates; they do
		// not occur in Authenticode.)
		if err := checkAny(c); err != nil {
			return nil, err
		}
	}
	return ci, nil
}

func parseSignedData(e element, depth int) (*SignedData, error) {
	f, err := sequence(e, depth)
	if err != nil {
		return nil, err
	}
	if len(f) < 4 {
		return nil, errors.New("authenticode: SignedData fields missing")
	}
	if _, err := integer(f[0]); err != nil {
		return nil, err
	}
	if !f[1].is(classUniversal, tagSet) {
		return nil, errors.New("authenticode: digest algorithms are not a SET")
	}
	algs, err := setOf(f[1], depth+1)
	if err != nil {
		return nil, err
	}
	for _, a := range algs {
		if _, err := algorithm(a, depth+2); err != nil {
			return nil, err
		}
	}
	inner, err := parseContentInfo(f[2], depth+1)
	if err != nil {
		return nil, err
	}
	sd := &SignedData{Inner: inner}
	i := 3
	if i < len(f) && f[i].is(classContext, 0) {
		certs, err := setOf(f[i], depth+1)
		if err != nil {
			return nil, err
		}
		for _, ce := range certs {
			c, err := parseCertificate(ce, depth+2)
			if err != nil {
				return nil, err
			}
			sd.Certificates = append(sd.Certificates, c)
		}
		i++
	}
	if i < len(f) && f[i].is(classContext, 1) {
		crls, err := setOf(f[i], depth+1)
		if err != nil {
			return nil, err
		}
		for _, c := range crls {
			if err := checkCRL(c, depth+2); err != nil {
				return nil, err
			}
		}
		i++
	}
	if i != len(f)-1 || !f[i].is(classUniversal, tagSet) {
		return nil, errors.New("authenticode: SignedData signer infos missing")
	}
	sis, err := setOf(f[i], depth+1)
	if err != nil {
		return nil, err
	}
	for _, s := range sis {
		si, err := parseSignerInfo(s, depth+2)
		if err != nil {
			return nil, err
		}
		sd.SignerInfos = append(sd.SignerInfos, si)
	}
	return sd, nil
}

// checkCRL checks a CRL's ASN.1 form as OpenSSL's X509_CRL template
// decodes it (a CRL OpenSSL cannot decode makes the whole blob
// unreadable).
func checkCRL(e element, depth int) error {
	top, err := sequence(e, depth)
	if err != nil {
		return err
	}
	if len(top) != 3 {
		return errors.New("authenticode: CRL is not three elements")
	}
	f, err := sequence(top[0], depth+1)
	if err != nil {
		return err
	}
	i := 0
	if i < len(f) && f[i].is(classUniversal, tagInteger) {
		if _, err := integer(f[i]); err != nil {
			return err
		}
		i++
	}
	if len(f) < i+3 {
		return errors.New("authenticode: CRL fields missing")
	}
	if _, err := algorithm(f[i], depth+2); err != nil {
		return err
	}
	if _, err := parseName(f[i+1], depth+2); err != nil {
		return err
	}
	if _, err := parseTime(f[i+2]); err != nil {
		return err
	}
	i += 3
	if i < len(f) && f[i].class == classUniversal && (f[i].tag == tagUTCTime || f[i].tag == tagGeneralizedTime) {
		if _, err := parseTime(f[i]); err != nil {
			return err
		}
		i++
	}
	if i < len(f) && f[i].is(classUniversal, tagSequence) {
		revoked, err := sequenceOf(f[i], depth+2)
		if err != nil {
			return err
		}
		for _, r := range revoked {
			rf, err := sequence(r, depth+3)
			if err != nil {
				return err
			}
			if len(rf) < 2 || len(rf) > 3 {
				return errors.New("authenticode: invalid revoked entry")
			}
			if _, err := integer(rf[0]); err != nil {
				return err
			}
			if _, err := parseTime(rf[1]); err != nil {
				return err
			}
			if len(rf) == 3 {
				if err := checkExtensions(rf[2], depth+4); err != nil {
					return err
				}
			}
		}
		i++
	}
	if i < len(f) && f[i].is(classContext, 0) {
		v, err := explicit(f[i], depth+2)
		if err != nil {
			return err
		}
		if err := checkExtensions(v, depth+3); err != nil {
			return err
		}
		i++
	}
	if i != len(f) {
		return errors.New("authenticode: unexpected CRL field")
	}
	if _, err := algorithm(top[1], depth+1); err != nil {
		return err
	}
	if !top[2].is(classUniversal, tagBitString) {
		return errors.New("authenticode: CRL signature is not a BIT STRING")
	}
	return checkUniversal(top[2])
}

func parseSignerInfo(e element, depth int) (SignerInfo, error) {
	var si SignerInfo
	f, err := sequence(e, depth)
	if err != nil {
		return si, err
	}
	if len(f) < 5 {
		return si, errors.New("authenticode: SignerInfo fields missing")
	}
	if _, err := integer(f[0]); err != nil {
		return si, err
	}
	ias, err := sequence(f[1], depth+1)
	if err != nil {
		return si, err
	}
	if len(ias) != 2 {
		return si, errors.New("authenticode: issuer and serial is not two elements")
	}
	if si.Issuer, err = parseName(ias[0], depth+2); err != nil {
		return si, err
	}
	if si.SerialNumber, err = integer(ias[1]); err != nil {
		return si, err
	}
	if si.DigestAlgorithm, err = algorithm(f[2], depth+1); err != nil {
		return si, err
	}
	i := 3
	if i < len(f) && f[i].is(classContext, 0) {
		if si.Authenticated, err = parseAttributes(f[i], depth+1); err != nil {
			return si, err
		}
		si.authRaw = f[i]
		i++
	}
	if i+2 > len(f) {
		return si, errors.New("authenticode: SignerInfo fields missing")
	}
	if _, err := algorithm(f[i], depth+1); err != nil {
		return si, err
	}
	if !f[i+1].is(classUniversal, tagOctetString) {
		return si, errors.New("authenticode: encrypted digest is not an OCTET STRING")
	}
	if si.EncryptedDigest, err = f[i+1].stringBytes(); err != nil {
		return si, err
	}
	i += 2
	if i < len(f) && f[i].is(classContext, 1) {
		if si.Unauthenticated, err = parseAttributes(f[i], depth+1); err != nil {
			return si, err
		}
		i++
	}
	if i != len(f) {
		return si, errors.New("authenticode: unexpected SignerInfo field")
	}
	return si, nil
}

func parseAttributes(e element, depth int) ([]Attribute7, error) {
	items, err := setOf(e, depth)
	if err != nil {
		return nil, err
	}
	var out []Attribute7
	for _, it := range items {
		f, err := sequence(it, depth+1)
		if err != nil {
			return nil, err
		}
		if len(f) != 2 || !f[1].is(classUniversal, tagSet) {
			return nil, errors.New("authenticode: attribute is not type and SET of values")
		}
		t, err := oid(f[0])
		if err != nil {
			return nil, err
		}
		vals, err := setOf(f[1], depth+2)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			if err := checkAny(v); err != nil {
				return nil, err
			}
		}
		out = append(out, Attribute7{Type: t, Values: vals})
	}
	return out, nil
}

// Signers returns the certificate of every signer, in signer order, as
// OpenSSL's PKCS7_get0_signers finds them among the certificates the
// SignedData carries; ok is false when the content is not SignedData,
// there is no signer, or a signer's certificate is missing, in which
// cases OpenSSL returns no list at all.
func (ci *ContentInfo) Signers() (certs []*Certificate, ok bool) {
	sd := ci.Signed
	if sd == nil || len(sd.SignerInfos) == 0 {
		return nil, false
	}
	// OpenSSL takes the first certificate with the signer's serial number
	// and an issuer equal by X509_NAME_cmp (equal canonical forms); an
	// index keeps the search linear.
	byKey := make(map[string]*Certificate, len(sd.Certificates))
	for _, c := range sd.Certificates {
		k := issuerSerialKey(c.Issuer, c.SerialNumber)
		if _, dup := byKey[k]; !dup {
			byKey[k] = c
		}
	}
	for _, si := range sd.SignerInfos {
		c := byKey[issuerSerialKey(si.Issuer, si.SerialNumber)]
		if c == nil {
			return nil, false
		}
		certs = append(certs, c)
	}
	return certs, true
}

// issuerSerialKey returns the index key of an issuer and serial number.
func issuerSerialKey(issuer Name, serial []byte) string {
	return strconv.Itoa(len(serial)) + ":" + string(serial) + string(issuer.canon)
}

// nestedSignatures returns the values of the first nested-signature
// attribute among the first signer's unsigned attributes: the further
// signatures (for example a SHA-256 one beside a SHA-1 one) Authenticode
// stores there.
func (ci *ContentInfo) nestedSignatures() []element {
	if ci.Signed == nil || len(ci.Signed.SignerInfos) == 0 {
		return nil
	}
	for _, a := range ci.Signed.SignerInfos[0].Unauthenticated {
		if bytes.Equal(a.Type, oidNestedSignature) {
			return a.Values
		}
	}
	return nil
}
