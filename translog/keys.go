package translog

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
)

// Key algorithm identifiers of c2sp.org/signed-note: a plain Ed25519 note
// signature and a timestamped c2sp.org/tlog-cosignature (cosignature/v1).
const (
	algEd25519     = 0x01
	algCosignature = 0x04
)

// GenerateKey returns a new Ed25519 key pair named name in note text form:
// the signer key (PRIVATE+KEY+name+hash+key, keep it secret) and the
// verifier key (name+hash+key). Publisher and witness keys are made the
// same way; a witness's verifier key for cosignatures is
// [CosignatureVKey] of the returned vkey.
func GenerateKey(name string) (skey, vkey string, err error) {
	if !validKeyName(name) {
		return "", "", fmt.Errorf("translog: invalid key name %q (no spaces or '+')", name)
	}
	return note.GenerateKey(rand.Reader, name)
}

// vkey is a parsed verifier key.
type vkey struct {
	name string
	hash uint32
	alg  byte
	pub  ed25519.PublicKey
}

// parseVKey parses name+hash+base64(alg||key) and checks the hash.
func parseVKey(s string) (vkey, error) {
	name, rest, ok1 := strings.Cut(s, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !validKeyName(name) || len(hash16) != 8 {
		return vkey{}, fmt.Errorf("translog: malformed verifier key %q", s)
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return vkey{}, fmt.Errorf("translog: malformed verifier key %q", s)
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 1+ed25519.PublicKeySize {
		return vkey{}, fmt.Errorf("translog: malformed verifier key %q", s)
	}
	if key[0] != algEd25519 && key[0] != algCosignature {
		return vkey{}, fmt.Errorf("translog: verifier key %q: unsupported algorithm %d", name, key[0])
	}
	if uint32(h) != keyHash(name, key) {
		return vkey{}, fmt.Errorf("translog: verifier key %q: key hash does not match the key", name)
	}
	return vkey{name: name, hash: uint32(h), alg: key[0], pub: ed25519.PublicKey(key[1:])}, nil
}

// as returns the vkey string of k's public key under algorithm alg.
func (k vkey) as(alg byte) string {
	key := append([]byte{alg}, k.pub...)
	return fmt.Sprintf("%s+%08x+%s", k.name, keyHash(k.name, key), base64.StdEncoding.EncodeToString(key))
}

func keyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func validKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// CosignatureVKey returns the cosignature/v1 verifier key of a witness
// given either form of its verifier key: the Ed25519 note vkey that
// [GenerateKey] returns, or the cosignature vkey itself (returned as is).
// Both name the same Ed25519 public key; only the algorithm byte and so
// the key hash differ.
func CosignatureVKey(s string) (string, error) {
	k, err := parseVKey(s)
	if err != nil {
		return "", err
	}
	return k.as(algCosignature), nil
}

// publisherVKey returns the canonical (Ed25519 note) form of a publisher
// verifier key.
func publisherVKey(s string) (string, error) {
	k, err := parseVKey(s)
	if err != nil {
		return "", err
	}
	if k.alg != algEd25519 {
		return "", fmt.Errorf("translog: publisher key %q is a cosignature key, not a note signing key", k.name)
	}
	return s, nil
}

// parseSignerKey parses PRIVATE+KEY+name+hash+base64(0x01||seed).
func parseSignerKey(skey string) (name string, priv ed25519.PrivateKey, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(skey), "PRIVATE+KEY+")
	name, rest, ok1 := strings.Cut(rest, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok || !ok1 || !ok2 || !validKeyName(name) || len(hash16) != 8 {
		return "", nil, errors.New("translog: malformed signer key")
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 1+ed25519.SeedSize || key[0] != algEd25519 {
		return "", nil, errors.New("translog: malformed signer key")
	}
	priv = ed25519.NewKeyFromSeed(key[1:])
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil || uint32(h) != keyHash(name, append([]byte{algEd25519}, priv.Public().(ed25519.PublicKey)...)) {
		return "", nil, errors.New("translog: signer key hash does not match the key")
	}
	return name, priv, nil
}

// VKeyFromSigner returns the Ed25519 note verifier key of a signer key.
func VKeyFromSigner(skey string) (string, error) {
	name, priv, err := parseSignerKey(skey)
	if err != nil {
		return "", err
	}
	return note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
}

// NewCosigner returns a c2sp.org/tlog-cosignature (cosignature/v1) signer
// for a witness signer key made by [GenerateKey]. The cosignatures it makes
// verify with [CosignatureVKey] of the key's vkey.
func NewCosigner(skey string) (*torchwood.CosignatureSigner, error) {
	name, priv, err := parseSignerKey(skey)
	if err != nil {
		return nil, err
	}
	return torchwood.NewCosignatureSigner(name, priv)
}

// cosigVerifier verifies cosignature/v1 signatures: the signature is an
// 8-byte big-endian timestamp followed by an Ed25519 signature of
// "cosignature/v1\ntime <t>\n" + the checkpoint text. torchwood v0.6.1 can
// only make such a verifier from a private key, so clients holding a
// pinned vkey use this one (tested against torchwood's signer).
type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func newCosigVerifier(s string) (*cosigVerifier, error) {
	k, err := parseVKey(s)
	if err != nil {
		return nil, err
	}
	key := append([]byte{algCosignature}, k.pub...)
	return &cosigVerifier{name: k.name, hash: keyHash(k.name, key), pub: k.pub}, nil
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }

func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > 1<<62 {
		return false
	}
	m := fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, msg)
	return ed25519.Verify(v.pub, m, sig[8:])
}

var _ note.Verifier = (*cosigVerifier)(nil)
