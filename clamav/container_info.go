package clamav

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Public key of the .info (and .cdiff) signature, cli_versig2 in ClamAV:
// a 2047-bit RSA modulus and exponent published in ClamAV's source
// (readdb.c, INFO_NSTR/INFO_ESTR).
const (
	infoModulus  = "11088894983048545473659556106627194923928941791795047620591658697413581043322715912172496806525381055880964520618400224333320534660299233983755341740679502866829909679955734391392668378361221524205396631090105151641270857277080310734320951653700508941717419168723942507890702904702707587451621691050754307850383399865346487203798464178537392211402786481359824461197231102895415093770394216666324484593935762408468516826633192140826667923494822045805347809932848454845886971706424360558667862775876072059437703365380209101697738577515476935085469455279994113145977994084618328482151013142393373316337519977244732747977"
	infoExponent = 100002049
)

// Parameters of ClamAV's PSS-style encoding: a 256-byte encoded message,
// SHA-256 for the message hash and MGF1, and a 32-byte salt.
const (
	pssEncodedLen = 256
	pssSaltLen    = 32
)

// verifyPSS checks a versig2 signature (ClamAV's encoding of an RSA value)
// over the SHA-256 digest sum. The scheme is EMSA-PSS with SHA-256, MGF1-
// SHA-256 and a 32-byte salt, with the encoded message treated as 2047 bits
// wide (only the top bit of the data block is cleared) as ClamAV does.
// Unlike ClamAV we also insist that the padding before the 0x01 separator
// is zero, as the standard requires; genuine signatures satisfy both.
func verifyPSS(key rsaKey, sum [sha256.Size]byte, sig string) error {
	em, err := rsaOpen(key, sig, pssEncodedLen)
	if err != nil {
		return err
	}
	const hLen = sha256.Size
	dbLen := pssEncodedLen - hLen - 1
	if em[pssEncodedLen-1] != 0xbc {
		return errors.New("signature trailer is not 0xbc")
	}
	masked, h := em[:dbLen], em[dbLen:dbLen+hLen]
	db := mgf1SHA256(h, dbLen)
	for i := range db {
		db[i] ^= masked[i]
	}
	db[0] &= 0x7f
	ps := dbLen - pssSaltLen - 1
	for _, c := range db[:ps] {
		if c != 0 {
			return errors.New("signature padding is not zero")
		}
	}
	if db[ps] != 0x01 {
		return errors.New("signature has no salt separator")
	}
	salt := db[ps+1:]
	d := sha256.New()
	d.Write(make([]byte, 8))
	d.Write(sum[:])
	d.Write(salt)
	if subtle.ConstantTimeCompare(d.Sum(nil), h) != 1 {
		return errors.New("signature does not match digest")
	}
	return nil
}

// mgf1SHA256 is the MGF1 mask generation function with SHA-256.
func mgf1SHA256(seed []byte, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	var ctr [4]byte
	for i := uint32(0); len(out) < n; i++ {
		binary.BigEndian.PutUint32(ctr[:], i)
		d := sha256.New()
		d.Write(seed)
		d.Write(ctr[:])
		out = d.Sum(out)
	}
	return out[:n]
}

// infoFile is a parsed .info member: the header copy, the manifest and the
// signature line, if any.
type infoFile struct {
	header  Header
	entries []infoEntry
	// hasDSig reports whether there is a DSIG line; signed is the text
	// the signature covers (everything before that line) and dsig the
	// encoded signature.
	hasDSig bool
	signed  []byte
	dsig    string
}

// infoEntry is one manifest line: name:size:sha256.
type infoEntry struct {
	name   string
	size   int64
	sha256 [sha256.Size]byte
}

// maxInfoSize bounds the .info member; real ones are a few kilobytes.
const maxInfoSize = 1 << 20

// parseInfo parses a .info member. Lines end in LF; the first is a header
// line, then one manifest line per member, then optionally a DSIG line that
// must be the last line.
func parseInfo(data []byte) (*infoFile, error) {
	if len(data) > maxInfoSize {
		return nil, fmt.Errorf("larger than %d bytes", maxInfoSize)
	}
	inf := &infoFile{}
	seen := make(map[string]bool)
	rest := data
	for lineNo := 1; len(rest) > 0; lineNo++ {
		start := len(data) - len(rest)
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		text := strings.TrimSuffix(string(line), "\r")
		if lineNo == 1 {
			h, err := ParseHeader([]byte(text))
			if err != nil {
				return nil, fmt.Errorf("line 1: %w", err)
			}
			inf.header = h
			continue
		}
		if sig, ok := strings.CutPrefix(text, "DSIG:"); ok {
			if len(bytes.Trim(rest, "\r\n")) != 0 {
				return nil, fmt.Errorf("line %d: text after the DSIG line", lineNo)
			}
			inf.hasDSig = true
			inf.signed = data[:start]
			inf.dsig = sig
			break
		}
		e, err := parseInfoEntry(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if seen[e.name] {
			return nil, fmt.Errorf("line %d: %s listed twice", lineNo, e.name)
		}
		seen[e.name] = true
		inf.entries = append(inf.entries, e)
	}
	if len(data) == 0 {
		return nil, errors.New("empty")
	}
	return inf, nil
}

// parseInfoEntry parses name:size:sha256.
func parseInfoEntry(s string) (infoEntry, error) {
	f := strings.Split(s, ":")
	if len(f) != 3 {
		return infoEntry{}, fmt.Errorf("want name:size:sha256, got %d fields", len(f))
	}
	var e infoEntry
	e.name = f[0]
	if err := checkMemberName(e.name); err != nil {
		return infoEntry{}, err
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || !cvdDigits(f[1]) {
		return infoEntry{}, fmt.Errorf("malformed size %q", f[1])
	}
	e.size = n
	if len(f[2]) != hex.EncodedLen(sha256.Size) {
		return infoEntry{}, fmt.Errorf("malformed SHA-256 %q", f[2])
	}
	if _, err := hex.Decode(e.sha256[:], []byte(f[2])); err != nil {
		return infoEntry{}, fmt.Errorf("malformed SHA-256 %q", f[2])
	}
	return e, nil
}

// verify checks the .info signature with ClamAV's versig2 key.
func (inf *infoFile) verify() error {
	if !inf.hasDSig {
		return errors.New("no DSIG line")
	}
	return verifyPSS(parseRSAKey(infoModulus, infoExponent), sha256.Sum256(inf.signed), inf.dsig)
}
