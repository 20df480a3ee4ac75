package yara

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/glassav/glassav/internal/testenv"
)

// TestPESignaturesOsslsigncodePeer signs a PE file with osslsigncode (a
// real Authenticode signer: SpcIndirectDataContent, signed attributes,
// certificate chains, nested signatures, unauthenticated blobs) under
// certificates made here, and compares glassav's signatures with yara's.
func TestPESignaturesOsslsigncodePeer(t *testing.T) {
	testenv.NeedTool(t, "yara")
	in := unsignedTestPE(t)
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	ts := newTestSigner(t, pkix.Name{Country: []string{"DE"}, Province: []string{"Hamburg"}, Organization: []string{"Glassav Test CA"},
		CommonName: "Glassav Root"}, 0x1234567, now, now.AddDate(10, 0, 0))
	leaf := func(name string, subject pkix.Name, serial *big.Int, key crypto.Signer) (certs, keyFile string) {
		return ts.leaf(name, subject, serial, key, now.Add(-time.Hour), now.AddDate(2, 0, 0))
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecCerts, ecKeyFile := leaf("ec", pkix.Name{Country: []string{"DE"}, Organization: []string{"Glassav"},
		OrganizationalUnit: []string{"Code/Signing+Test"}, CommonName: "Glassav Signer – ü",
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: "test@example.org"}}},
		new(big.Int).Lsh(big.NewInt(0x7f), 150), ecKey)
	rsaCerts, rsaKeyFile := leaf("rsa", pkix.Name{Organization: []string{"Glassav"}, CommonName: "Glassav RSA Signer",
		SerialNumber: "HRB 12345", Locality: []string{"Hamburg"}}, big.NewInt(1), rsaKey)

	sign := ts.sign
	s1 := sign("s1.exe", in, "-certs", ecCerts, "-key", ecKeyFile, "-h", "sha256", "-n", "Glassav", "-i", "https://example.org")
	s2 := sign("s2.exe", s1, "-certs", rsaCerts, "-key", rsaKeyFile, "-h", "sha1", "-nest")
	s3 := sign("s3.exe", s2, "-certs", ecCerts, "-key", ecKeyFile, "-h", "sha512", "-nest", "-comm")
	s4 := sign("s4.exe", in, "-certs", rsaCerts, "-key", rsaKeyFile, "-h", "sha384", "-ph", "-addUnauthenticatedBlob")

	var lines, sigs int
	var diffs []string
	for _, f := range []string{s1, s2, s3, s4} {
		l, s, d := sigDiff(t, f)
		lines += l
		sigs += s
		diffs = append(diffs, d...)
	}
	t.Logf("4 files signed by osslsigncode, %d signatures, %d lines of yara -D compared, %d differ", sigs, lines, len(diffs))
	if len(diffs) > 0 {
		t.Fatalf("signatures differ from yara -D:\n%s", strings.Join(diffs, "\n"))
	}
	if sigs < 1+2+3+1 {
		t.Fatalf("yara reported %d signatures; want 7 (1, 2 and 3 nested, 1)", sigs)
	}
}
