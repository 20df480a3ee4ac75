package authenticode

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A Name is an X.509 distinguished name: its attributes in encoding
// order, each with the index of the relative distinguished name (RDN)
// holding it.
type Name struct {
	Raw        []byte
	Attributes []Attribute
	canon      []byte // canonical form (see canonical)
}

// An Attribute is one type and value of a distinguished name.
type Attribute struct {
	Set   int    // index of the RDN (SET) that holds the attribute
	Type  []byte // OID contents
	Tag   int    // universal tag of the value (PrintableString, UTF8String…)
	Value []byte // value contents; for a SEQUENCE value, its whole encoding
}

// maxNameLen is OpenSSL's X509_NAME_MAX: a longer name is read only up
// to this many bytes (and then fails to decode).
const maxNameLen = 1 << 20

// parseName decodes a Name as OpenSSL's X509_NAME does.
func parseName(e element, depth int) (Name, error) {
	if !e.is(classUniversal, tagSequence) {
		return Name{}, errors.New("authenticode: name is not a SEQUENCE")
	}
	if len(e.full) > maxNameLen {
		return Name{}, errors.New("authenticode: name too long")
	}
	n := Name{Raw: e.full}
	// A name is a SEQUENCE OF SET OF attributes: OpenSSL reads both
	// levels whether or not their encoding is constructed.
	rdns, err := e.items(depth)
	if err != nil {
		return Name{}, err
	}
	for i, rdn := range rdns {
		if !rdn.is(classUniversal, tagSet) {
			return Name{}, errors.New("authenticode: RDN is not a SET")
		}
		atvs, err := rdn.items(depth + 1)
		if err != nil {
			return Name{}, err
		}
		for _, atv := range atvs {
			a, err := parseAttribute(atv, depth+2)
			if err != nil {
				return Name{}, err
			}
			a.Set = i
			n.Attributes = append(n.Attributes, a)
		}
	}
	// OpenSSL computes the canonical form of every name it decodes and
	// fails the decoding when it cannot (an invalid UTF8String…).
	if n.canon, err = n.canonical(); err != nil {
		return Name{}, err
	}
	return n, nil
}

// printableTags says which universal tags OpenSSL accepts as a name
// attribute value: its ASN1_PRINTABLE set (NumericString,
// PrintableString, T61String, IA5String, BIT STRING, UniversalString,
// BMPString, UTF8String, SEQUENCE) and the tags it has no string type for
// (ObjectDescriptor, EXTERNAL, REAL, EMBEDDED PDV, RELATIVE-OID and the
// unassigned ones). VisibleString, GeneralString and the other string
// types make the name, and so the whole signature, unreadable.
var printableTags = [31]bool{
	3: true, 7: true, 8: true, 9: true, 11: true, 12: true, 13: true, 14: true,
	15: true, 16: true, 18: true, 19: true, 20: true, 22: true, 28: true, 29: true,
	30: true,
}

func parseAttribute(e element, depth int) (Attribute, error) {
	if !e.is(classUniversal, tagSequence) || !e.constructed {
		return Attribute{}, errors.New("authenticode: name attribute is not a SEQUENCE")
	}
	kids, err := e.children(depth)
	if err != nil {
		return Attribute{}, err
	}
	if len(kids) != 2 {
		return Attribute{}, errors.New("authenticode: name attribute is not type and value")
	}
	t, v := kids[0], kids[1]
	if !t.is(classUniversal, tagOID) || t.constructed {
		return Attribute{}, errors.New("authenticode: name attribute type is not an OID")
	}
	if err := checkOID(t.content); err != nil {
		return Attribute{}, err
	}
	if v.class != classUniversal || v.tag >= len(printableTags) || !printableTags[v.tag] {
		return Attribute{}, fmt.Errorf("authenticode: name attribute value of tag %d", v.tag)
	}
	if err := checkUniversal(v); err != nil {
		return Attribute{}, err
	}
	a := Attribute{Type: t.content, Tag: v.tag}
	switch v.tag {
	case tagSequence:
		a.Value = v.full
	default:
		if a.Value, err = v.stringBytes(); err != nil {
			return Attribute{}, err
		}
		if v.tag == tagBitString {
			a.Value = a.Value[1:] // the unused-bits count is not part of the value
		}
	}
	return a, nil
}

// NameBufferSize is the size of the buffer yara 4.2.3 gives
// X509_NAME_oneline for a signature's issuer and subject: OneLine with
// this size returns what yara reports.
const NameBufferSize = 256

// OneLine returns the name as OpenSSL's X509_NAME_oneline writes it into
// a buffer of size bytes: "/C=US/O=Example/CN=Name", bytes outside
// printable ASCII as \xHH, attributes that would not fit left out along
// with all after them.
func (n Name) OneLine(size int) string {
	var b strings.Builder
	limit := size - 1 // room for the NUL
	prevSet := -1
	for _, a := range n.Attributes {
		key := attributeShortNames[string(a.Type)]
		if key == "" {
			key = oidText(a.Type)
			if len(key) > 79 { // OpenSSL formats it into an 80-byte buffer
				key = key[:79]
			}
		}
		v := a.Value
		var val strings.Builder
		for _, c := range v {
			switch {
			case c < ' ' || c > '~':
				fmt.Fprintf(&val, "\\x%02X", c)
			case c == '/' || c == '+':
				val.WriteByte('\\')
				val.WriteByte(c)
			default:
				val.WriteByte(c)
			}
		}
		if b.Len()+1+len(key)+1+val.Len() > limit {
			break
		}
		if prevSet == a.Set {
			b.WriteByte('+')
		} else {
			b.WriteByte('/')
		}
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(val.String())
		prevSet = a.Set
	}
	return b.String()
}

// oidText returns an OID's dotted decimal form, arcs of any size
// included (OpenSSL prints large arcs exactly).
func oidText(c []byte) string {
	var b strings.Builder
	var v big.Int
	first := true
	for _, x := range c {
		v.Lsh(&v, 7)
		v.Or(&v, big.NewInt(int64(x&0x7f)))
		if x&0x80 != 0 {
			continue
		}
		if first {
			switch {
			case v.Cmp(big.NewInt(40)) < 0:
				b.WriteString("0.")
			case v.Cmp(big.NewInt(80)) < 0:
				b.WriteString("1.")
				v.Sub(&v, big.NewInt(40))
			default:
				b.WriteString("2.")
				v.Sub(&v, big.NewInt(80))
			}
			first = false
		} else {
			b.WriteByte('.')
		}
		b.WriteString(v.String())
		v.SetInt64(0)
	}
	return b.String()
}

// canonTags are the string types OpenSSL folds in a name's canonical
// form (X509_NAME_cmp compares canonical forms).
var canonTags = map[int]int{ // tag → bytes per character (0: UTF-8)
	tagUTF8String: 0, tagBMPString: 2, tagUniversalString: 4,
	tagPrintableString: 1, tagT61String: 1, tagIA5String: 1, tagVisibleString: 1,
}

// canonical returns the name in a form two names share exactly when
// OpenSSL's X509_NAME_cmp finds them equal: RDN structure and attribute
// types kept, string values converted to UTF-8, trimmed of spaces at both
// ends, inner runs of spaces made one, ASCII letters lower-cased.
func (n Name) canonical() ([]byte, error) {
	var out bytes.Buffer
	prevSet := -1
	for _, a := range n.Attributes {
		if a.Set != prevSet {
			out.WriteByte('/')
			prevSet = a.Set
		}
		out.WriteString(strconv.Itoa(len(a.Type)))
		out.WriteByte(':')
		out.Write(a.Type)
		w, ok := canonTags[a.Tag]
		if !ok {
			fmt.Fprintf(&out, "#%d:%d:", a.Tag, len(a.Value))
			out.Write(a.Value)
			continue
		}
		u, err := toUTF8(a.Value, w)
		if err != nil {
			return nil, err
		}
		u = foldSpaces(u)
		fmt.Fprintf(&out, "=%d:", len(u))
		out.Write(u)
	}
	return out.Bytes(), nil
}

// toUTF8 converts a string of w bytes per character (0: UTF-8) to UTF-8.
func toUTF8(v []byte, w int) ([]byte, error) {
	switch w {
	case 0:
		if !utf8.Valid(v) {
			return nil, errors.New("authenticode: invalid UTF8String in name")
		}
		return v, nil
	case 1:
		var out []byte
		for _, c := range v {
			out = utf8.AppendRune(out, rune(c))
		}
		return out, nil
	case 2:
		// Each 16-bit unit is one character: OpenSSL does not pair
		// surrogates, and refuses them when it writes UTF-8.
		if len(v)%2 != 0 {
			return nil, errors.New("authenticode: BMPString of odd length")
		}
		var out []byte
		for i := 0; i < len(v); i += 2 {
			r := rune(v[i])<<8 | rune(v[i+1])
			if !utf8.ValidRune(r) {
				return nil, errors.New("authenticode: surrogate in BMPString")
			}
			out = utf8.AppendRune(out, r)
		}
		return out, nil
	default:
		if len(v)%4 != 0 {
			return nil, errors.New("authenticode: UniversalString of wrong length")
		}
		var out []byte
		for i := 0; i < len(v); i += 4 {
			r := rune(uint32(v[i])<<24 | uint32(v[i+1])<<16 | uint32(v[i+2])<<8 | uint32(v[i+3]))
			if !utf8.ValidRune(r) {
				return nil, errors.New("authenticode: invalid character in UniversalString")
			}
			out = utf8.AppendRune(out, r)
		}
		return out, nil
	}
}

// foldSpaces trims ASCII white space at both ends, collapses inner runs
// of it to one space and lower-cases ASCII letters.
func foldSpaces(u []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
	for len(u) > 0 && isSpace(u[0]) {
		u = u[1:]
	}
	for len(u) > 0 && isSpace(u[len(u)-1]) {
		u = u[:len(u)-1]
	}
	out := make([]byte, 0, len(u))
	for i := 0; i < len(u); i++ {
		c := u[i]
		if isSpace(c) {
			for i+1 < len(u) && isSpace(u[i+1]) {
				i++
			}
			out = append(out, ' ')
			continue
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return out
}
