package authenticode

import (
	"errors"
	"fmt"
	"math"
)

// This file reads BER/DER encodings the way OpenSSL's template decoder
// (which yara 4.2.3's signature parser uses through d2i_PKCS7) accepts
// them: definite and indefinite lengths, long-form lengths with leading
// zero bytes, constructed (chunked) strings, and the content checks
// OpenSSL makes on INTEGER, OBJECT IDENTIFIER, BOOLEAN, NULL, BIT STRING,
// BMPString and UniversalString. Whatever OpenSSL refuses here makes the
// whole PKCS#7 blob unreadable, so the checks decide which signatures
// yara reports.

// ASN.1 classes and universal tags used by the decoders.
const (
	classUniversal = 0
	classContext   = 2

	tagBoolean         = 1
	tagInteger         = 2
	tagBitString       = 3
	tagOctetString     = 4
	tagNull            = 5
	tagOID             = 6
	tagUTF8String      = 12
	tagSequence        = 16
	tagSet             = 17
	tagPrintableString = 19
	tagT61String       = 20
	tagIA5String       = 22
	tagUTCTime         = 23
	tagGeneralizedTime = 24
	tagVisibleString   = 26
	tagGeneralString   = 27
	tagUniversalString = 28
	tagBMPString       = 30
)

// Nesting limits: OpenSSL stops at 30 levels of constructed types and 5
// levels of chunked strings; the decoder here stops at the same depths so
// that hostile input cannot recurse without bound.
const (
	maxNest       = 30
	maxStringNest = 5
)

var (
	errTruncated = errors.New("authenticode: truncated ASN.1 element")
	errNesting   = errors.New("authenticode: ASN.1 nested too deeply")
)

// element is one decoded TLV.
type element struct {
	class       int
	tag         int
	constructed bool
	indefinite  bool
	full        []byte // the whole encoding, header (and end-of-contents) included
	content     []byte // the contents, without an end-of-contents marker
}

func (e element) is(class, tag int) bool { return e.class == class && e.tag == tag }

// parseElement reads one element from the start of b and returns it with
// the bytes after it. depth counts the constructed levels above.
func parseElement(b []byte, depth int) (element, []byte, error) {
	if depth > maxNest {
		return element{}, nil, errNesting
	}
	var e element
	if len(b) < 2 {
		return e, nil, errTruncated
	}
	i := 0
	id := b[i]
	i++
	e.class = int(id >> 6)
	e.constructed = id&0x20 != 0
	e.tag = int(id & 0x1f)
	if e.tag == 0x1f {
		// High tag number: base-128 digits, at most 31 bits.
		l := 0
		for {
			if i >= len(b) {
				return e, nil, errTruncated
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				l = l<<7 | int(c)
				break
			}
			l = l<<7 | int(c&0x7f)
			if l > math.MaxInt32>>7 {
				return e, nil, errors.New("authenticode: tag number too large")
			}
		}
		e.tag = l
	}
	if i >= len(b) {
		return e, nil, errTruncated
	}
	lb := b[i]
	i++
	switch {
	case lb == 0x80:
		if !e.constructed {
			return e, nil, errors.New("authenticode: indefinite length on a primitive element")
		}
		e.indefinite = true
		rest := b[i:]
		start := i
		for {
			if len(rest) >= 2 && rest[0] == 0 && rest[1] == 0 {
				e.content = b[start : len(b)-len(rest)]
				rest = rest[2:]
				e.full = b[:len(b)-len(rest)]
				return e, rest, nil
			}
			var err error
			_, rest, err = parseElement(rest, depth+1)
			if err != nil {
				return e, nil, err
			}
		}
	case lb&0x80 != 0:
		n := int(lb & 0x7f)
		// OpenSSL wants one byte more than the length bytes after the
		// first length byte, so a long-form element with no contents at
		// the very end of what it reads is refused.
		if n+1 > len(b)-i {
			return e, nil, errTruncated
		}
		var l uint64
		for _, c := range b[i : i+n] {
			if l>>55 != 0 {
				return e, nil, errTruncated
			}
			l = l<<8 | uint64(c)
		}
		i += n
		if l > uint64(len(b)-i) {
			return e, nil, errTruncated
		}
		e.content = b[i : i+int(l)]
		e.full = b[:i+int(l)]
		return e, b[i+int(l):], nil
	default:
		l := int(lb)
		if l > len(b)-i {
			return e, nil, errTruncated
		}
		e.content = b[i : i+l]
		e.full = b[:i+l]
		return e, b[i+l:], nil
	}
}

// children returns the elements inside a constructed element.
func (e element) children(depth int) ([]element, error) {
	if !e.constructed {
		return nil, fmt.Errorf("authenticode: tag %d is not constructed", e.tag)
	}
	return e.items(depth)
}

// items returns the elements inside e, constructed or not: OpenSSL reads
// a SET OF or SEQUENCE OF without checking that its encoding is
// constructed (it does check SEQUENCEs and EXPLICIT tags).
func (e element) items(depth int) ([]element, error) {
	var out []element
	rest := e.content
	if e.indefinite {
		// What OpenSSL reads a child from runs on past the contents to
		// the end-of-contents marker.
		rest = e.full[len(e.full)-len(e.content)-2:]
	}
	for len(rest) > 0 && !(e.indefinite && len(rest) == 2) {
		if len(rest) >= 2 && rest[0] == 0 && rest[1] == 0 {
			// An end-of-contents marker where a definite-length
			// SEQUENCE or SET OF has an element: OpenSSL refuses it.
			return nil, errors.New("authenticode: unexpected end-of-contents")
		}
		c, r, err := parseElement(rest, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		rest = r
	}
	return out, nil
}

// stringBytes returns the contents of a string-like element, joining the
// chunks of a constructed encoding as OpenSSL does (chunks of any tag).
func (e element) stringBytes() ([]byte, error) {
	if !e.constructed {
		return e.content, nil
	}
	var out []byte
	if err := collect(&out, e, 0); err != nil {
		return nil, err
	}
	return out, nil
}

func collect(out *[]byte, e element, depth int) error {
	if depth > maxStringNest {
		return errNesting
	}
	if !e.constructed {
		*out = append(*out, e.content...)
		return nil
	}
	kids, err := e.children(maxNest - maxStringNest - 1)
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := collect(out, k, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkInteger applies OpenSSL's rules for INTEGER contents: not empty,
// no redundant leading 0x00 or 0xff byte.
func checkInteger(c []byte) error {
	if len(c) == 0 {
		return errors.New("authenticode: empty INTEGER")
	}
	if len(c) == 1 {
		return nil
	}
	neg := c[0]&0x80 != 0
	pad := false
	switch c[0] {
	case 0:
		pad = true
	case 0xff:
		// 0xff followed by zeros only is the minimal encoding of a
		// negative power of 256; anything else after it is padding.
		for _, x := range c[1:] {
			if x != 0 {
				pad = true
				break
			}
		}
	}
	if pad && neg == (c[1]&0x80 != 0) {
		return errors.New("authenticode: INTEGER with illegal padding")
	}
	return nil
}

// checkOID applies OpenSSL's rules for OBJECT IDENTIFIER contents: not
// empty, no sub-identifier starting with 0x80, the last byte ends one.
func checkOID(c []byte) error {
	if len(c) == 0 || c[len(c)-1]&0x80 != 0 {
		return errors.New("authenticode: invalid OBJECT IDENTIFIER")
	}
	for i, x := range c {
		if x == 0x80 && (i == 0 || c[i-1]&0x80 == 0) {
			return errors.New("authenticode: invalid OBJECT IDENTIFIER")
		}
	}
	return nil
}

// checkUniversal validates the contents of a universal-class element of
// a scalar type the way OpenSSL does when it decodes one, wherever it
// appears (a typed field, an ANY, a name attribute).
func checkUniversal(e element) error {
	switch e.tag {
	case tagBoolean, tagInteger, tagNull, tagOID, 10: // 10: ENUMERATED
		if e.constructed {
			return fmt.Errorf("authenticode: tag %d is not primitive", e.tag)
		}
	}
	switch e.tag {
	case tagBoolean:
		if len(e.content) != 1 {
			return errors.New("authenticode: BOOLEAN of wrong length")
		}
	case tagInteger, 10:
		return checkInteger(e.content)
	case tagNull:
		if len(e.content) != 0 {
			return errors.New("authenticode: NULL with contents")
		}
	case tagOID:
		return checkOID(e.content)
	case tagBitString:
		s, err := e.stringBytes()
		if err != nil {
			return err
		}
		if len(s) < 1 || s[0] > 7 {
			return errors.New("authenticode: invalid BIT STRING")
		}
	case tagBMPString, tagUniversalString:
		s, err := e.stringBytes()
		if err != nil {
			return err
		}
		if e.tag == tagBMPString && len(s)%2 != 0 || e.tag == tagUniversalString && len(s)%4 != 0 {
			return errors.New("authenticode: wide string of wrong length")
		}
	case tagSequence, tagSet:
		if !e.constructed {
			return fmt.Errorf("authenticode: tag %d is not constructed", e.tag)
		}
	default:
		if e.constructed {
			_, err := e.stringBytes()
			return err
		}
	}
	return nil
}

// checkAny validates an element decoded as ASN.1 ANY: universal-class
// contents are checked as their type; other classes are kept as they are.
func checkAny(e element) error {
	if e.class != classUniversal {
		return nil
	}
	return checkUniversal(e)
}
