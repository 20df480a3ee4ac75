package authenticode

import (
	"crypto/sha1"
	"os"
	"testing"
)

// FuzzParse feeds arbitrary certificate tables (and, through them, PKCS#7
// blobs) to Signatures, Details and every accessor of what they return:
// nothing may panic, and the limits must hold.
func FuzzParse(f *testing.F) {
	for _, name := range efiFiles {
		data, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		if off, size, ok := securityTable(data); ok && uint64(off)+uint64(size) <= uint64(len(data)) {
			f.Add(data[off : off+size])
		}
	}
	f.Add([]byte{0x10, 0, 0, 0, 0, 2, 2, 0, 0x30, 0x80, 0x06, 0x01, 0x2a, 0, 0, 0})
	f.Add([]byte{0x20, 0, 0, 0, 0, 2, 2, 0, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02})
	f.Fuzz(func(t *testing.T, table []byte) {
		// The table follows an 8-byte stand-in for the rest of the file.
		data := append(make([]byte, 8), table...)
		certs := Signatures(data, 8, uint32(len(table)))
		if len(certs) > MaxSignatures {
			t.Fatalf("%d signatures", len(certs))
		}
		for _, c := range certs {
			_ = c.Thumbprint()
			_ = c.Issuer.OneLine(NameBufferSize)
			if s := c.Subject.OneLine(NameBufferSize); len(s) >= NameBufferSize {
				t.Fatalf("one-line name of %d bytes", len(s))
			}
			_ = c.VersionNumber()
			_, _ = c.SerialString()
			_, _ = c.AlgorithmName()
			_ = c.NotBefore.Unix()
			_ = c.NotAfter.Unix()
		}
		sigs := Details(data, 8, uint32(len(table)))
		if len(sigs) != len(certs) {
			t.Fatalf("Details: %d signatures, Signatures %d", len(sigs), len(certs))
		}
		for i, s := range sigs {
			if s.Signer.Thumbprint() != certs[i].Thumbprint() {
				t.Fatalf("signature %d: signer differs from Signatures'", i)
			}
			if len(s.Chain) > len(s.Certificates)+1 {
				t.Fatalf("chain of %d from %d certificates", len(s.Chain), len(s.Certificates))
			}
		}
		_, _, _ = ParseContentInfo(table)
	})
}

// FuzzFileDigest feeds arbitrary files to FileDigest, which reads the
// headers to find the regions it hashes: nothing may panic.
func FuzzFileDigest(f *testing.F) {
	for _, name := range efiFiles {
		if data, err := os.ReadFile(name); err == nil && len(data) < 1<<20 {
			f.Add(data)
		}
	}
	f.Add(append([]byte("MZ"), make([]byte, 0x3e)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d := FileDigest(data, sha1.New()); d != nil && len(d) != sha1.Size {
			t.Fatalf("digest of %d bytes", len(d))
		}
	})
}
