package unpack

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"hash"
)

// PDF's standard security handler (ISO 32000-1 §7.6.3, ISO 32000-2 for
// revision 6). Most "encrypted" PDFs only restrict printing or copying and
// open without a password: their user password is empty, so anyone — the
// viewer, the malware author's victim, and ClamAV — can decrypt them. The
// unpacker does the same; only documents that need a real password stay
// encrypted members.

// pdfPadding is the 32-byte string the standard handler pads passwords
// with (ISO 32000-1 §7.6.3.3, algorithm 2 step a).
var pdfPadding = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

var errPDFPassword = errors.New("the document needs a password")

// pdfCrypt decrypts the strings and streams of one document.
type pdfCrypt struct {
	key      []byte
	rev      int
	aes      bool // streams use AES (AESV2, AESV3), else RC4
	identity bool // streams are not encrypted (/StmF /Identity)
}

// newPDFCrypt opens the /Encrypt dictionary enc with the empty user
// password; id0 is the first /ID string of the trailer.
func newPDFCrypt(enc pdfDict, id0 []byte, resolve func(any) any) (*pdfCrypt, error) {
	str := func(k pdfName) []byte { b, _ := resolve(enc[k]).([]byte); return b }
	num := func(k pdfName, def int64) int64 {
		if n, ok := resolve(enc[k]).(int64); ok {
			return n
		}
		return def
	}
	if f, _ := resolve(enc["Filter"]).(pdfName); f != "Standard" {
		return nil, errors.New("security handler " + string(f) + " is not the standard one")
	}
	v, rev := num("V", 0), int(num("R", 2))
	o, u := str("O"), str("U")
	c := &pdfCrypt{rev: rev}
	if v == 4 || v == 5 {
		stmf, _ := resolve(enc["StmF"]).(pdfName)
		c.identity = stmf == "Identity" || stmf == ""
		if cf, ok := resolve(enc["CF"]).(pdfDict); ok {
			if f, ok := resolve(cf[stmf]).(pdfDict); ok {
				cfm, _ := resolve(f["CFM"]).(pdfName)
				c.aes = cfm == "AESV2" || cfm == "AESV3"
			}
		}
	}
	if rev >= 5 {
		if len(u) < 48 {
			return nil, errors.New("/U too short")
		}
		ue := str("UE")
		check := pdfHash(rev, u[32:40])
		if !bytes.Equal(check, u[:32]) {
			return nil, errPDFPassword
		}
		ik := pdfHash(rev, u[40:48])
		if len(ue) < 32 {
			return nil, errors.New("/UE too short")
		}
		block, err := aes.NewCipher(ik)
		if err != nil {
			return nil, err
		}
		c.key = make([]byte, 32)
		cipher.NewCBCDecrypter(block, make([]byte, 16)).CryptBlocks(c.key, ue[:32])
		c.aes = true
		return c, nil
	}
	if len(o) < 32 || len(u) < 16 {
		return nil, errors.New("/O or /U too short")
	}
	n := int(num("Length", 40) / 8)
	if rev == 2 || n < 5 || n > 16 {
		n = 5
	}
	h := md5.New()
	h.Write(pdfPadding)
	h.Write(o[:32])
	var p [4]byte
	binary.LittleEndian.PutUint32(p[:], uint32(num("P", 0)))
	h.Write(p[:])
	h.Write(id0)
	if meta, ok := resolve(enc["EncryptMetadata"]).(bool); rev >= 4 && ok && !meta {
		h.Write([]byte{0xFF, 0xFF, 0xFF, 0xFF})
	}
	key := h.Sum(nil)
	if rev >= 3 {
		for i := 0; i < 50; i++ {
			s := md5.Sum(key[:n])
			key = s[:]
		}
	}
	c.key = key[:n]
	// Check the key against /U (algorithms 4 and 5).
	if rev == 2 {
		got := make([]byte, 32)
		rc4Apply(c.key, got, pdfPadding)
		if !bytes.Equal(got, u[:32]) {
			return nil, errPDFPassword
		}
		return c, nil
	}
	h = md5.New()
	h.Write(pdfPadding)
	h.Write(id0)
	x := h.Sum(nil)
	k := make([]byte, len(c.key))
	for i := 0; i < 20; i++ {
		for j := range k {
			k[j] = c.key[j] ^ byte(i)
		}
		rc4Apply(k, x, x)
	}
	if !bytes.Equal(x, u[:16]) {
		return nil, errPDFPassword
	}
	return c, nil
}

func rc4Apply(key, dst, src []byte) {
	c, err := rc4.NewCipher(key)
	if err != nil {
		return
	}
	c.XORKeyStream(dst, src)
}

// pdfHash is the hash of the empty password with salt: SHA-256 for
// revision 5, the iterated algorithm 2.B of ISO 32000-2 for revision 6.
func pdfHash(rev int, salt []byte) []byte {
	k := sha256.Sum256(salt)
	if rev == 5 {
		return k[:]
	}
	key := k[:]
	for round := 0; ; round++ {
		k1 := bytes.Repeat(key, 64) // password and user data are empty
		block, _ := aes.NewCipher(key[:16])
		e := make([]byte, len(k1))
		cipher.NewCBCEncrypter(block, key[16:32]).CryptBlocks(e, k1)
		sum := 0
		for _, b := range e[:16] {
			sum += int(b)
		}
		var h hash.Hash
		switch sum % 3 {
		case 0:
			h = sha256.New()
		case 1:
			h = sha512.New384()
		default:
			h = sha512.New()
		}
		h.Write(e)
		key = h.Sum(nil)
		if round >= 63 && int(e[len(e)-1]) <= round-31 {
			break
		}
	}
	return key[:32]
}

// decrypt returns the plain bytes of a string or stream of object ref.
func (c *pdfCrypt) decrypt(ref pdfRef, data []byte, stream bool) ([]byte, error) {
	if stream && c.identity {
		return data, nil
	}
	key := c.key
	if c.rev < 5 {
		h := md5.New()
		h.Write(c.key)
		h.Write([]byte{byte(ref.num), byte(ref.num >> 8), byte(ref.num >> 16), byte(ref.gen), byte(ref.gen >> 8)})
		if c.aes {
			h.Write([]byte("sAlT"))
		}
		key = h.Sum(nil)[:min(len(c.key)+5, 16)]
	}
	if !c.aes {
		out := make([]byte, len(data))
		rc4Apply(key, out, data)
		return out, nil
	}
	if len(data) < 32 || len(data)%16 != 0 {
		return nil, errors.New("AES data is not whole blocks")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(data)-16)
	cipher.NewCBCDecrypter(block, data[:16]).CryptBlocks(out, data[16:])
	if pad := int(out[len(out)-1]); pad >= 1 && pad <= 16 && pad <= len(out) {
		out = out[:len(out)-pad]
	}
	return out, nil
}
