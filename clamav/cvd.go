package clamav

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// HeaderSize is the size of the fixed header that starts every .cvd, .cld
// and .cud file. The header text is padded with spaces to this size and the
// body (a tar archive, usually gzip-compressed) follows it.
const HeaderSize = 512

// headerMagic starts every container header and the first line of every
// .info member.
const headerMagic = "ClamAV-VDB:"

// Header is the parsed container header:
//
//	ClamAV-VDB:<build time>:<version>:<signatures>:<flevel>:<md5>:<dsig>:<builder>:<epoch>
//
// MD5 and DSig are "X" where a field is not used (in .info copies, in .cld
// files, and DSig in unsigned .cud files).
type Header struct {
	BuildTime  string // build time as written, e.g. "22 Jun 2021 20-40 -0400"
	Version    int    // database version (the daily number for daily.*)
	Signatures int    // number of signatures the container claims to hold
	FLevel     int    // minimum engine functionality level
	MD5        string // lower-case hex MD5 of the body, or "X"
	DSig       string // legacy RSA signature of the MD5, or "X"
	Builder    string // builder's name
	Time       int64  // build time in seconds since the Unix epoch; 0 in old headers
}

// Built reports the build time, the time clamd's VERSION reply shows for
// the daily database. It prefers the epoch field and falls back to the
// text field for old headers that lack one; it returns the zero Time when
// neither can be read.
func (h Header) Built() time.Time {
	if h.Time > 0 {
		return time.Unix(h.Time, 0).UTC()
	}
	t, err := time.Parse("02 Jan 2006 15-04 -0700", h.BuildTime)
	if err != nil {
		return time.Time{}
	}
	return t
}

// String formats h as a header line, without the padding.
func (h Header) String() string {
	return fmt.Sprintf("%s%s:%d:%d:%d:%s:%s:%s:%d", headerMagic, h.BuildTime,
		h.Version, h.Signatures, h.FLevel, h.MD5, h.DSig, h.Builder, h.Time)
}

// maxHeaderField bounds every text field; the legacy signature is the
// longest legitimate one (171 characters for a 1024-bit value).
const maxHeaderField = 400

// ParseHeader parses a container header. b may be the whole 512-byte header
// block, a longer prefix of the file, or a single header line (the first
// line of a .info member). The text ends at the first NUL, CR or LF, and
// trailing spaces are ignored.
func ParseHeader(b []byte) (Header, error) {
	if len(b) > HeaderSize {
		b = b[:HeaderSize]
	}
	if i := bytes.IndexAny(b, "\x00\r\n"); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimRight(b, " ")
	s := string(b)
	if !strings.HasPrefix(s, headerMagic) {
		return Header{}, errors.New("header: not a ClamAV database (no ClamAV-VDB: magic)")
	}
	f := strings.Split(s[len(headerMagic):], ":")
	// Headers written before 2007 end after the builder; newer ones carry
	// the build time in seconds as well.
	if len(f) != 7 && len(f) != 8 {
		return Header{}, fmt.Errorf("header: %d fields, want 8", len(f))
	}
	for i, v := range f {
		if len(v) > maxHeaderField {
			return Header{}, fmt.Errorf("header: field %d longer than %d bytes", i+1, maxHeaderField)
		}
	}
	var h Header
	var err error
	h.BuildTime = f[0]
	if h.BuildTime == "" {
		return Header{}, errors.New("header: empty build time")
	}
	if h.Version, err = cvdHeaderInt(f[1], "version"); err != nil {
		return Header{}, err
	}
	if h.Signatures, err = cvdHeaderInt(f[2], "signature count"); err != nil {
		return Header{}, err
	}
	if h.FLevel, err = cvdHeaderInt(f[3], "functionality level"); err != nil {
		return Header{}, err
	}
	h.MD5 = f[4]
	if h.MD5 != "X" && !cvdLowerHex(h.MD5, md5.Size*2) {
		return Header{}, fmt.Errorf("header: malformed MD5 %q", h.MD5)
	}
	h.DSig = f[5]
	if h.DSig == "" {
		return Header{}, errors.New("header: empty digital signature field")
	}
	h.Builder = f[6]
	if len(f) == 8 {
		t, err := strconv.ParseInt(f[7], 10, 64)
		if err != nil || !cvdDigits(f[7]) {
			return Header{}, fmt.Errorf("header: malformed build time %q", f[7])
		}
		h.Time = t
	}
	return h, nil
}

// cvdHeaderInt parses a non-negative decimal header field.
func cvdHeaderInt(s, what string) (int, error) {
	if !cvdDigits(s) {
		return 0, fmt.Errorf("header: malformed %s %q", what, s)
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("header: malformed %s %q", what, s)
	}
	return int(n), nil
}

// cvdDigits reports whether s is a non-empty string of ASCII digits.
func cvdDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cvdLowerHex reports whether s is exactly n lower-case hex digits, the form
// ClamAV writes and compares digests in.
func cvdLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Public key of ClamAV's legacy CVD signature: a ~1024-bit RSA modulus and
// an unusual public exponent, both published in ClamAV's source (dsig.c).
// Signatures made with it are raw RSA over the 16 MD5 bytes, no padding.
const (
	legacyModulus  = "118640995551645342603070001658453189751527774412027743746599405743243142607464144767361060640655844749760788890022283424922762488917565551002467771109669598189410434699034532232228621591089508178591428456220796841621637175567590476666928698770143328137383952820383197532047771780196576957695822641224262693037"
	legacyExponent = 100001027
)

// rsaKey is a public key held as big integers.
type rsaKey struct {
	n *big.Int
	e *big.Int
}

// parseRSAKey turns decimal constants into a key. The constants are ours,
// so a failure is a programming error.
func parseRSAKey(modulus string, exponent int64) rsaKey {
	n, ok := new(big.Int).SetString(modulus, 10)
	if !ok {
		panic("clamav: bad RSA modulus constant")
	}
	return rsaKey{n: n, e: big.NewInt(exponent)}
}

// sigAlphabet is the digit set of ClamAV's signature encoding: each
// character is a 6-bit digit, least significant digit first (so unlike
// base64 the number is little-endian).
const sigAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"

// decodeSigNumber decodes ClamAV's signature encoding into an integer. It
// refuses more digits than a value below the modulus can need, so a hostile
// header cannot make the exponentiation expensive.
func decodeSigNumber(s string, modBits int) (*big.Int, error) {
	if s == "" {
		return nil, errors.New("empty signature")
	}
	if max := (modBits + 5) / 6; len(s) > max {
		return nil, fmt.Errorf("signature has %d digits, want at most %d", len(s), max)
	}
	v := new(big.Int)
	d := new(big.Int)
	for i := len(s) - 1; i >= 0; i-- {
		k := strings.IndexByte(sigAlphabet, s[i])
		if k < 0 {
			return nil, fmt.Errorf("signature has invalid character %q", s[i])
		}
		v.Lsh(v, 6)
		v.Or(v, d.SetInt64(int64(k)))
	}
	return v, nil
}

// rsaOpen computes s^e mod n for a signature in ClamAV's encoding and
// returns it as a big-endian number of size bytes. Signatures not below
// the modulus are rejected: they have no unique meaning.
func rsaOpen(key rsaKey, sig string, size int) ([]byte, error) {
	s, err := decodeSigNumber(sig, key.n.BitLen())
	if err != nil {
		return nil, err
	}
	if s.Cmp(key.n) >= 0 {
		return nil, errors.New("signature value out of range")
	}
	m := new(big.Int).Exp(s, key.e, key.n)
	if (m.BitLen()+7)/8 > size {
		return nil, errors.New("signature does not decode to a digest")
	}
	return m.FillBytes(make([]byte, size)), nil
}

// verifyLegacyDSig checks the header's legacy signature against the MD5 of
// the body. ClamAV compares only the low 16 bytes of the opened value; we
// also require the rest to be zero, which every genuine signature satisfies.
func verifyLegacyDSig(key rsaKey, sum [md5.Size]byte, dsig string) error {
	m, err := rsaOpen(key, dsig, md5.Size)
	if err != nil {
		return err
	}
	if !bytes.Equal(m, sum[:]) {
		return fmt.Errorf("signature is for MD5 %s", hex.EncodeToString(m))
	}
	return nil
}
