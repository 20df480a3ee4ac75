package authenticode

import (
	"crypto/sha1"
	"errors"
	"time"
)

// A Certificate is an X.509 certificate of a signature, with the fields
// yara reports decoded as OpenSSL decodes them.
type Certificate struct {
	Raw          []byte
	Version      []byte // contents of the version INTEGER; nil when absent (v1)
	SerialNumber []byte // contents of the serial INTEGER (two's complement)
	Issuer       Name
	Subject      Name
	NotBefore    Time
	NotAfter     Time
	// SignatureAlgorithm is the OID contents of the certificate's outer
	// signature algorithm (the one OpenSSL's X509_get_signature_nid reads).
	SignatureAlgorithm []byte

	tbs, sigAlg, sig element // the three parts, as encoded
}

// A Time is an ASN.1 UTCTime or GeneralizedTime as it was encoded.
type Time struct {
	Tag   int // tagUTCTime or tagGeneralizedTime
	Value []byte
}

// parseCertificate decodes an X.509 certificate as OpenSSL's X509
// template does: the whole structure is checked, extensions and key only
// for their ASN.1 form.
func parseCertificate(e element, depth int) (*Certificate, error) {
	top, err := sequence(e, depth)
	if err != nil {
		return nil, err
	}
	if len(top) != 3 {
		return nil, errors.New("authenticode: certificate is not three elements")
	}
	c := &Certificate{Raw: e.full, tbs: top[0], sigAlg: top[1], sig: top[2]}
	if err := c.parseTBS(top[0], depth+1); err != nil {
		return nil, err
	}
	if c.SignatureAlgorithm, err = algorithm(top[1], depth+1); err != nil {
		return nil, err
	}
	if !top[2].is(classUniversal, tagBitString) {
		return nil, errors.New("authenticode: certificate signature is not a BIT STRING")
	}
	if err := checkUniversal(top[2]); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Certificate) parseTBS(e element, depth int) error {
	f, err := sequence(e, depth)
	if err != nil {
		return err
	}
	i := 0
	if i < len(f) && f[i].is(classContext, 0) {
		v, err := explicit(f[i], depth)
		if err != nil {
			return err
		}
		if c.Version, err = integer(v); err != nil {
			return err
		}
		i++
	}
	if len(f) < i+6 {
		return errors.New("authenticode: certificate fields missing")
	}
	if c.SerialNumber, err = integer(f[i]); err != nil {
		return err
	}
	if _, err := algorithm(f[i+1], depth+1); err != nil {
		return err
	}
	if c.Issuer, err = parseName(f[i+2], depth+1); err != nil {
		return err
	}
	val, err := sequence(f[i+3], depth+1)
	if err != nil {
		return err
	}
	if len(val) != 2 {
		return errors.New("authenticode: validity is not two times")
	}
	if c.NotBefore, err = parseTime(val[0]); err != nil {
		return err
	}
	if c.NotAfter, err = parseTime(val[1]); err != nil {
		return err
	}
	if c.Subject, err = parseName(f[i+4], depth+1); err != nil {
		return err
	}
	key, err := sequence(f[i+5], depth+1)
	if err != nil {
		return err
	}
	if len(key) != 2 {
		return errors.New("authenticode: public key is not algorithm and key")
	}
	if _, err := algorithm(key[0], depth+2); err != nil {
		return err
	}
	if !key[1].is(classUniversal, tagBitString) {
		return errors.New("authenticode: public key is not a BIT STRING")
	}
	if err := checkUniversal(key[1]); err != nil {
		return err
	}
	i += 6
	// Optional issuer and subject unique IDs ([1], [2] IMPLICIT BIT
	// STRING) and extensions ([3] EXPLICIT SEQUENCE OF Extension), in order.
	for _, tag := range []int{1, 2} {
		if i < len(f) && f[i].is(classContext, tag) {
			b, err := f[i].stringBytes()
			if err != nil {
				return err
			}
			if len(b) < 1 || b[0] > 7 {
				return errors.New("authenticode: invalid unique ID")
			}
			i++
		}
	}
	if i < len(f) && f[i].is(classContext, 3) {
		v, err := explicit(f[i], depth)
		if err != nil {
			return err
		}
		if err := checkExtensions(v, depth+1); err != nil {
			return err
		}
		i++
	}
	if i != len(f) {
		return errors.New("authenticode: unexpected certificate field")
	}
	return nil
}

// checkExtensions checks a SEQUENCE OF Extension.
func checkExtensions(e element, depth int) error {
	exts, err := sequenceOf(e, depth)
	if err != nil {
		return err
	}
	for _, x := range exts {
		if err := checkExtension(x, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func checkExtension(e element, depth int) error {
	f, err := sequence(e, depth)
	if err != nil {
		return err
	}
	if len(f) < 2 || len(f) > 3 {
		return errors.New("authenticode: extension is not OID, critical, value")
	}
	if _, err := oid(f[0]); err != nil {
		return err
	}
	if len(f) == 3 {
		if !f[1].is(classUniversal, tagBoolean) {
			return errors.New("authenticode: extension critical flag is not a BOOLEAN")
		}
		if err := checkUniversal(f[1]); err != nil {
			return err
		}
	}
	v := f[len(f)-1]
	if !v.is(classUniversal, tagOctetString) {
		return errors.New("authenticode: extension value is not an OCTET STRING")
	}
	_, err = v.stringBytes()
	return err
}

// Thumbprint returns the SHA-1 digest of the certificate's encoding as
// OpenSSL re-encodes it (X509_digest): the to-be-signed part as it was
// received, the rest in DER. For a DER certificate that is its encoding.
func (c *Certificate) Thumbprint() [sha1.Size]byte {
	var body []byte
	body = append(body, c.tbs.full...)
	body = appendDER(body, c.sigAlg)
	body = appendDER(body, c.sig)
	return sha1.Sum(append(derHeader(0x30, len(body)), body...))
}

// appendDER appends e as OpenSSL writes back what it decoded: universal
// SEQUENCE and SET values of an ANY, and values of other classes, as
// received; constructed types with their elements re-encoded; strings
// primitive with their chunks joined; a BIT STRING with its unused bits
// cleared.
func appendDER(out []byte, e element) []byte {
	if e.class != classUniversal || !e.constructed {
		if e.class != classUniversal {
			return append(out, e.full...)
		}
		return appendPrimitive(out, e)
	}
	if e.tag != tagSequence && e.tag != tagSet {
		return appendPrimitive(out, e)
	}
	kids, err := e.children(0)
	if err != nil {
		return append(out, e.full...)
	}
	var body []byte
	for _, k := range kids {
		if k.is(classUniversal, tagSequence) || k.is(classUniversal, tagSet) || k.class != classUniversal {
			body = append(body, k.full...) // an ANY value: kept as received
			continue
		}
		body = appendPrimitive(body, k)
	}
	out = append(out, derHeader(byte(e.class<<6|0x20|e.tag), len(body))...)
	return append(out, body...)
}

func appendPrimitive(out []byte, e element) []byte {
	v, err := e.stringBytes()
	if err != nil {
		return append(out, e.full...)
	}
	if e.tag == tagBitString && len(v) > 1 && v[0] <= 7 {
		v = append([]byte(nil), v...)
		v[len(v)-1] &= 0xff << v[0]
	}
	if e.tag > 30 {
		return append(out, e.full...)
	}
	out = append(out, derHeader(byte(e.tag), len(v))...)
	return append(out, v...)
}

// derHeader returns a DER identifier and length for a one-byte tag.
func derHeader(id byte, n int) []byte {
	switch {
	case n < 0x80:
		return []byte{id, byte(n)}
	case n < 0x100:
		return []byte{id, 0x81, byte(n)}
	case n < 0x10000:
		return []byte{id, 0x82, byte(n >> 8), byte(n)}
	case n < 0x1000000:
		return []byte{id, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	default:
		return []byte{id, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// VersionNumber returns the X.509 version as yara reports it: OpenSSL's
// X509_get_version plus one (X509_get_version is 0 for an absent version
// and -1 for one too large for a long).
func (c *Certificate) VersionNumber() int64 {
	if c.Version == nil {
		return 1
	}
	return asn1IntegerGet(c.Version) + 1
}

// asn1IntegerGet returns an INTEGER as OpenSSL's ASN1_INTEGER_get: its
// value, or -1 when it does not fit in 64 bits.
func asn1IntegerGet(b []byte) int64 {
	neg := b[0]&0x80 != 0
	mag := b
	if neg {
		// Two's complement magnitude.
		mag = make([]byte, len(b))
		carry := true
		for i := len(b) - 1; i >= 0; i-- {
			mag[i] = ^b[i]
			if carry {
				mag[i]++
				carry = mag[i] == 0
			}
		}
	}
	for len(mag) > 0 && mag[0] == 0 {
		mag = mag[1:]
	}
	if len(mag) > 8 {
		return -1
	}
	var u uint64
	for _, x := range mag {
		u = u<<8 | uint64(x)
	}
	if neg {
		if u > 1<<63 {
			return -1
		}
		return -int64(u)
	}
	if u > 1<<63-1 {
		return -1
	}
	return int64(u)
}

// SerialString returns the serial number as yara prints it: the bytes of
// its minimal two's complement encoding as lower-case hex pairs joined
// by colons. ok is false when the encoding is longer than 20 bytes
// (yara then leaves serial undefined).
func (c *Certificate) SerialString() (s string, ok bool) {
	if len(c.SerialNumber) == 0 || len(c.SerialNumber) > 20 {
		return "", false
	}
	const hexdigits = "0123456789abcdef"
	b := make([]byte, 0, 3*len(c.SerialNumber))
	for i, x := range c.SerialNumber {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexdigits[x>>4], hexdigits[x&15])
	}
	return string(b), true
}

// AlgorithmName returns the long name OpenSSL gives the certificate's
// signature algorithm, and its OID in dotted form; for an algorithm
// OpenSSL does not know these are "undefined" and "", as yara reports.
func (c *Certificate) AlgorithmName() (name, oid string) {
	if n, ok := algorithmLongNames[string(c.SignatureAlgorithm)]; ok {
		return n, oidText(c.SignatureAlgorithm)
	}
	return "undefined", ""
}

// Unix returns the time as yara 4.2.3 converts it (its ASN1_get_time_t):
// the digits are read by position without any check, the year from two
// digits (UTCTime, 1970–2069) or four, then month, day, hour, minute and
// second, and any time zone is ignored; out-of-range fields carry over as
// timegm carries them.
func (t Time) Unix() int64 {
	i := 0
	// digit returns the next character's value as C computes
	// str[i] - '0' on a signed char; past the end it reads the NUL
	// terminator OpenSSL keeps after every string.
	digit := func() int {
		var c byte
		if i < len(t.Value) {
			c = t.Value[i]
		}
		i++
		return int(int8(c)) - '0'
	}
	var year int
	switch t.Tag {
	case tagUTCTime:
		year = digit() * 10
		year += digit()
		if year < 70 {
			year += 100
		}
	case tagGeneralizedTime:
		year = digit() * 1000
		year += digit() * 100
		year += digit() * 10
		year += digit()
		year -= 1900
	}
	mon := digit() * 10
	mon += digit() - 1
	day := digit() * 10
	day += digit()
	hour := digit() * 10
	hour += digit()
	minute := digit() * 10
	minute += digit()
	sec := digit() * 10
	sec += digit()
	return time.Date(year+1900, time.Month(mon+1), day, hour, minute, sec, 0, time.UTC).Unix()
}

func parseTime(e element) (Time, error) {
	if e.class != classUniversal || e.tag != tagUTCTime && e.tag != tagGeneralizedTime {
		return Time{}, errors.New("authenticode: validity time of wrong type")
	}
	v, err := e.stringBytes()
	if err != nil {
		return Time{}, err
	}
	return Time{Tag: e.tag, Value: v}, nil
}

// sequence returns the elements of a universal SEQUENCE.
func sequence(e element, depth int) ([]element, error) {
	if !e.is(classUniversal, tagSequence) || !e.constructed {
		return nil, errors.New("authenticode: expected a SEQUENCE")
	}
	return e.children(depth)
}

// setOf returns the elements of a SET OF (or of an IMPLICIT-tagged SET
// OF or SEQUENCE OF), which OpenSSL reads even when its encoding is
// primitive.
func setOf(e element, depth int) ([]element, error) { return e.items(depth) }

// sequenceOf returns the elements of a universal SEQUENCE OF, which
// OpenSSL reads even when its encoding is primitive.
func sequenceOf(e element, depth int) ([]element, error) {
	if !e.is(classUniversal, tagSequence) {
		return nil, errors.New("authenticode: expected a SEQUENCE OF")
	}
	return e.items(depth)
}

// explicit returns the one element inside an EXPLICIT tag, which must be
// constructed and hold exactly that element.
func explicit(e element, depth int) (element, error) {
	if !e.constructed {
		return element{}, errors.New("authenticode: EXPLICIT tag not constructed")
	}
	buf := e.content
	if e.indefinite {
		buf = e.full[len(e.full)-len(e.content)-2:]
	}
	k, rest, err := parseElement(buf, depth+1)
	if err != nil {
		return element{}, err
	}
	if e.indefinite && len(rest) != 2 || !e.indefinite && len(rest) != 0 {
		return element{}, errors.New("authenticode: EXPLICIT tag does not hold one element")
	}
	return k, nil
}

// integer returns the contents of a universal INTEGER.
func integer(e element) ([]byte, error) {
	if !e.is(classUniversal, tagInteger) {
		return nil, errors.New("authenticode: expected an INTEGER")
	}
	if err := checkUniversal(e); err != nil {
		return nil, err
	}
	return e.content, nil
}

// oid returns the contents of a universal OBJECT IDENTIFIER.
func oid(e element) ([]byte, error) {
	if !e.is(classUniversal, tagOID) {
		return nil, errors.New("authenticode: expected an OBJECT IDENTIFIER")
	}
	if err := checkUniversal(e); err != nil {
		return nil, err
	}
	return e.content, nil
}

// algorithm decodes an AlgorithmIdentifier (OID and optional ANY
// parameters) and returns the OID contents.
func algorithm(e element, depth int) ([]byte, error) {
	f, err := sequence(e, depth)
	if err != nil {
		return nil, err
	}
	if len(f) < 1 || len(f) > 2 {
		return nil, errors.New("authenticode: algorithm is not OID and parameters")
	}
	o, err := oid(f[0])
	if err != nil {
		return nil, err
	}
	if len(f) == 2 {
		if err := checkAny(f[1]); err != nil {
			return nil, err
		}
	}
	return o, nil
}
