package yara

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
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
	signer := testenv.NeedTool(t, "osslsigncode")
	// The PE file to sign is one of Go's debug/pe test files.
	goroot, err := exec.Command(testenv.NeedTool(t, "go"), "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	in := filepath.Join(strings.TrimSpace(string(goroot)), "src/debug/pe/testdata/gcc-amd64-mingw-exec")
	if _, err := os.Stat(in); err != nil {
		t.Fatalf("no PE file to sign: %v", err)
	}
	dir := t.TempDir()

	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x1234567),
		Subject: pkix.Name{Country: []string{"DE"}, Province: []string{"Hamburg"}, Organization: []string{"Glassav Test CA"},
			CommonName: "Glassav Root"},
		NotBefore: now, NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)

	// leaf makes a code-signing certificate with the given subject and
	// key, issued by the CA, and writes its chain and key as PEM files.
	leaf := func(name string, subject pkix.Name, serial *big.Int, key crypto.Signer) (certs, keyFile string) {
		tmpl := &x509.Certificate{
			SerialNumber: serial, Subject: subject,
			NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(2, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certs = filepath.Join(dir, name+".pem")
		keyFile = filepath.Join(dir, name+".key")
		chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
		if err := os.WriteFile(certs, chain, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
			t.Fatal(err)
		}
		return certs, keyFile
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

	sign := func(out, from string, args ...string) string {
		t.Helper()
		p := filepath.Join(dir, out)
		cmd := exec.Command(signer, append(append([]string{"sign"}, args...), "-in", from, "-out", p)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("osslsigncode %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return p
	}
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
